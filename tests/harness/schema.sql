-- tests/harness/schema.sql: the seed application's data model, as Django's
-- migrations create it on PostgreSQL for the app `patient_input` plus the
-- contrib tables it touches (auth_user, django_session, django_migrations).
--
-- Django conventions kept on purpose, because caretaker's plugins meet them in
-- the field:
--   * table names are <app>_<model>; foreign keys are <field>_id columns with
--     DEFERRABLE INITIALLY DEFERRED constraints and an index of their own;
--   * unique varchar columns get a second varchar_pattern_ops index (*_like)
--     for LIKE 'prefix%' lookups;
--   * model ids are bigserial (DEFAULT_AUTO_FIELD = BigAutoField; Django 4.1+
--     makes them identity columns instead, which changes nothing here), while
--     contrib.auth keeps 32-bit serial ids;
--   * GenericIPAddressField is inet, JSONField is jsonb, DateTimeField is
--     timestamptz (USE_TZ = True).
-- Index and constraint names are descriptive; Django's carry a hash suffix.

CREATE TABLE auth_user (
    id            serial       PRIMARY KEY,
    password      varchar(128) NOT NULL,
    last_login    timestamptz  NULL,
    is_superuser  boolean      NOT NULL,
    username      varchar(150) NOT NULL UNIQUE,
    first_name    varchar(150) NOT NULL,
    last_name     varchar(150) NOT NULL,
    email         varchar(254) NOT NULL,
    is_staff      boolean      NOT NULL,
    is_active     boolean      NOT NULL,
    date_joined   timestamptz  NOT NULL
);
CREATE INDEX auth_user_username_like
    ON auth_user (username varchar_pattern_ops);

CREATE TABLE django_migrations (
    id       bigserial    PRIMARY KEY,
    app      varchar(255) NOT NULL,
    name     varchar(255) NOT NULL,
    applied  timestamptz  NOT NULL
);

-- SESSION_ENGINE = "django.contrib.sessions.backends.db"; `clearsessions`
-- deletes rows whose expire_date has passed.
CREATE TABLE django_session (
    session_key   varchar(40) PRIMARY KEY,
    session_data  text        NOT NULL,
    expire_date   timestamptz NOT NULL
);
CREATE INDEX django_session_expire_date_idx
    ON django_session (expire_date);
CREATE INDEX django_session_session_key_like
    ON django_session (session_key varchar_pattern_ops);

CREATE TABLE patient_input_patient (
    id                 bigserial    PRIMARY KEY,
    mrn                varchar(20)  NOT NULL UNIQUE,   -- medical record number
    first_name         varchar(100) NOT NULL,
    last_name          varchar(100) NOT NULL,
    date_of_birth      date         NOT NULL,
    sex                varchar(1)   NOT NULL,
    email              varchar(254) NOT NULL,
    phone              varchar(32)  NOT NULL,
    address            varchar(255) NOT NULL,
    city               varchar(100) NOT NULL,
    postal_code        varchar(16)  NOT NULL,
    emergency_contact  varchar(255) NOT NULL,
    notes              text         NOT NULL,
    created_by_id      integer      NULL,
    created_at         timestamptz  NOT NULL,
    updated_at         timestamptz  NOT NULL,
    CONSTRAINT patient_input_patient_created_by_id_fk_auth_user_id
        FOREIGN KEY (created_by_id) REFERENCES auth_user (id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX patient_input_patient_mrn_like
    ON patient_input_patient (mrn varchar_pattern_ops);
CREATE INDEX patient_input_patient_name_idx
    ON patient_input_patient (last_name, first_name);
CREATE INDEX patient_input_patient_created_by_id_idx
    ON patient_input_patient (created_by_id);

-- Written on every view and change of a record; `cleanup_audit_logs --days=90`
-- deletes by timestamp.
CREATE TABLE patient_input_auditlog (
    id           bigserial    PRIMARY KEY,
    "timestamp"  timestamptz  NOT NULL,
    user_id      integer      NULL,
    action       varchar(20)  NOT NULL,
    object_type  varchar(100) NOT NULL,
    object_id    varchar(64)  NOT NULL,
    changes      jsonb        NOT NULL,
    ip_address   inet         NULL,
    CONSTRAINT patient_input_auditlog_user_id_fk_auth_user_id
        FOREIGN KEY (user_id) REFERENCES auth_user (id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX patient_input_auditlog_timestamp_idx
    ON patient_input_auditlog ("timestamp");
CREATE INDEX patient_input_auditlog_user_id_idx
    ON patient_input_auditlog (user_id);
CREATE INDEX patient_input_auditlog_object_idx
    ON patient_input_auditlog (object_type, object_id);

-- AUTH_SUCCESS, AUTH_FAILURE, LOGOUT, PASSWORD_CHANGE, PERMISSION_CHANGE,
-- ACCOUNT_LOCKED, SUSPICIOUS_ACTIVITY, SYSTEM_CHANGE.  The runbook's
-- audit_failed_logins() counts AUTH_FAILURE per ip_address over 7 days.
CREATE TABLE patient_input_securityevent (
    id           bigserial    PRIMARY KEY,
    event_type   varchar(32)  NOT NULL,
    "timestamp"  timestamptz  NOT NULL,
    ip_address   inet         NULL,
    username     varchar(150) NOT NULL,
    user_id      integer      NULL,
    details      jsonb        NOT NULL,
    CONSTRAINT patient_input_securityevent_user_id_fk_auth_user_id
        FOREIGN KEY (user_id) REFERENCES auth_user (id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX patient_input_securityevent_timestamp_idx
    ON patient_input_securityevent ("timestamp");
CREATE INDEX patient_input_securityevent_type_timestamp_idx
    ON patient_input_securityevent (event_type, "timestamp");
CREATE INDEX patient_input_securityevent_ip_address_idx
    ON patient_input_securityevent (ip_address);
CREATE INDEX patient_input_securityevent_user_id_idx
    ON patient_input_securityevent (user_id);
