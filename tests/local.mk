# Tests: cmocka unit tests per core module (tests/core/test_X.c tests
# core/X.c), integration tests driving the built binary (TAP shell scripts),
# and fault plugins the integration tests load.

TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_COMPILER = $(BASH)
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	CARETAKER='$(abs_top_builddir)/caretaker'; \
	CARETAKER_EXEC_PATH='$(abs_top_builddir)/plugins/backup'; \
	CMOCKA_MESSAGE_OUTPUT=STDOUT; \
	export top_srcdir top_builddir CARETAKER CARETAKER_EXEC_PATH CMOCKA_MESSAGE_OUTPUT;

# ---- unit tests (cmocka) ----
UNIT_CFLAGS = $(AM_CFLAGS) $(CORE_INCLUDES) $(FILEIO_INCLUDES) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS) $(INIH_CFLAGS) $(LIBPQ_CFLAGS)
UNIT_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS)
UNIT_TESTS = \
	tests/core/test_options \
	tests/core/test_config \
	tests/core/test_loader \
	tests/core/test_runner \
	tests/core/test_history \
	tests/core/test_state \
	tests/core/test_schedule \
	tests/core/test_result \
	tests/core/test_utf8 \
	tests/core/test_progress \
	tests/plugins/test_exec_argv \
	tests/plugins/test_compress
UNIT_TESTS += tests/plugins/test_tartree tests/plugins/test_crypt
UNIT_TESTS += tests/plugins/test_backupset tests/plugins/test_pgtools
UNIT_TESTS += tests/plugins/test_dumpcount tests/plugins/test_backupcheck
UNIT_TESTS += tests/plugins/test_apt_plan
UNIT_TESTS += tests/plugins/test_manifest
UNIT_TESTS += tests/plugins/test_audit
UNIT_TESTS += tests/plugins/test_vacuum
UNIT_TESTS += tests/plugins/test_hoststat
UNIT_TESTS += tests/plugins/test_logscan
UNIT_TESTS += tests/core/test_reap
UNIT_TESTS += tests/fileio/test_fileio
UNIT_TESTS += tests/plugins/test_treewalk tests/plugins/test_prune
UNIT_TESTS += tests/plugins/test_plughost
UNIT_TESTS += tests/plugins/test_childrun
if HAVE_CMOCKA
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
endif
tests_core_test_options_SOURCES = tests/core/test_options.c
tests_core_test_options_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_options_LDADD = $(UNIT_LDADD)
tests_core_test_config_SOURCES = tests/core/test_config.c tests/core/testutil.c tests/core/testutil.h
tests_core_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_config_LDADD = $(UNIT_LDADD)
tests_core_test_loader_SOURCES = tests/core/test_loader.c tests/core/testutil.c tests/core/testutil.h
tests_core_test_loader_CFLAGS = $(UNIT_CFLAGS) -DFAULTS_DIR='"$(abs_top_builddir)/tests/faults/.libs"' \
	-DPLUGINS_DIR='"$(abs_top_builddir)/plugins"'
tests_core_test_loader_LDADD = $(UNIT_LDADD)
tests_core_test_runner_SOURCES = tests/core/test_runner.c tests/core/testutil.c tests/core/testutil.h
tests_core_test_runner_CFLAGS = $(UNIT_CFLAGS) -DFAULTS_DIR='"$(abs_top_builddir)/tests/faults/.libs"' \
	-DPLUGINS_DIR='"$(abs_top_builddir)/plugins"'
tests_core_test_runner_LDADD = $(UNIT_LDADD)
tests_core_test_reap_SOURCES = tests/core/test_reap.c
tests_core_test_reap_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_reap_LDADD = $(UNIT_LDADD)
tests_core_test_history_SOURCES = tests/core/test_history.c tests/core/testutil.c tests/core/testutil.h
tests_core_test_history_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_history_LDADD = $(UNIT_LDADD)
tests_core_test_state_SOURCES = tests/core/test_state.c tests/core/testutil.c tests/core/testutil.h
tests_core_test_state_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_state_LDADD = $(UNIT_LDADD)
tests_core_test_schedule_SOURCES = tests/core/test_schedule.c
tests_core_test_schedule_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_schedule_LDADD = $(UNIT_LDADD)
tests_core_test_result_SOURCES = tests/core/test_result.c
tests_core_test_result_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_result_LDADD = $(UNIT_LDADD)
tests_core_test_utf8_SOURCES = tests/core/test_utf8.c
tests_core_test_utf8_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_utf8_LDADD = $(UNIT_LDADD)
tests_core_test_progress_SOURCES = tests/core/test_progress.c tests/core/testutil.c tests/core/testutil.h
tests_core_test_progress_CFLAGS = $(UNIT_CFLAGS)
tests_core_test_progress_LDADD = $(UNIT_LDADD)
tests_plugins_test_exec_argv_SOURCES = tests/plugins/test_exec_argv.c plugins/lib/argv.c
tests_plugins_test_exec_argv_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib
tests_plugins_test_exec_argv_LDADD = $(CMOCKA_LIBS)

# The apt plugin's reading of apt-get -s (no apt run).
tests_plugins_test_apt_plan_SOURCES = tests/plugins/test_apt_plan.c plugins/apt/apt_plan.c
tests_plugins_test_apt_plan_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/apt \
	-I$(top_srcdir)/plugins/lib
tests_plugins_test_apt_plan_LDADD = $(CMOCKA_LIBS)

# The audit plugin's sshd lines, addresses and counts (no database).
tests_plugins_test_audit_SOURCES = tests/plugins/test_audit.c plugins/audit/audit_sshd.c \
	plugins/audit/audit_net.c plugins/audit/audit_count.c plugins/audit/audit_findings.c
tests_plugins_test_audit_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBPQ_CFLAGS) \
	-I$(top_srcdir)/plugins/audit -I$(top_srcdir)/plugins/lib
tests_plugins_test_audit_LDADD = plugins/lib/libctplughost.la $(CMOCKA_LIBS)
# ---- plugins/logscan: masking and the search, without a host ----
tests_plugins_test_logscan_SOURCES = tests/plugins/test_logscan.c plugins/logscan/logscan_mask.c \
	plugins/logscan/logscan_options.c plugins/logscan/logscan_compile.c \
	plugins/logscan/logscan_match.c plugins/logscan/logscan_record.c plugins/logscan/logscan_state.c
tests_plugins_test_logscan_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PTHREAD_CFLAGS) $(PCRE2_CFLAGS) \
	$(HYPERSCAN_CFLAGS) $(FILEIO_INCLUDES) -I$(top_srcdir)/plugins/logscan -I$(top_srcdir)/plugins/lib
tests_plugins_test_logscan_LDADD = plugins/lib/libctplughost.la fileio/libctfileio.la $(PCRE2_LIBS) \
	$(HYPERSCAN_LIBS) $(PTHREAD_LIBS) $(CMOCKA_LIBS)
# ---- plugins/vacuum: the decisions, without a server ----
tests_plugins_test_vacuum_SOURCES = tests/plugins/test_vacuum.c plugins/vacuum/vacuum_judge.c
tests_plugins_test_vacuum_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBPQ_CFLAGS) \
	-I$(top_srcdir)/plugins/vacuum -I$(top_srcdir)/plugins/lib
tests_plugins_test_vacuum_LDADD = plugins/lib/libctplughost.la $(CMOCKA_LIBS)
# ---- plugins/lib/hoststat: the /proc parsers, on sample files ----
tests_plugins_test_hoststat_SOURCES = tests/plugins/test_hoststat.c
tests_plugins_test_hoststat_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib \
	-DHOSTSTAT_SAMPLES='"$(abs_top_srcdir)/tests/plugins/hoststat"'
tests_plugins_test_hoststat_LDADD = plugins/lib/libcthoststat.la $(CMOCKA_LIBS)
EXTRA_DIST += tests/plugins/hoststat/stat tests/plugins/hoststat/meminfo \
	tests/plugins/hoststat/meminfo-old tests/plugins/hoststat/loadavg \
	tests/plugins/hoststat/mountinfo tests/plugins/hoststat/net-dev

# ---- plugins/lib/plughost: lists of lines on an output stream ----
tests_plugins_test_plughost_SOURCES = tests/plugins/test_plughost.c
tests_plugins_test_plughost_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib
tests_plugins_test_plughost_LDADD = plugins/lib/libctplughost.la $(CMOCKA_LIBS)

# ---- plugins/lib: the safe tree walk of prune and perms ----
tests_plugins_test_treewalk_SOURCES = tests/plugins/test_treewalk.c
tests_plugins_test_treewalk_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib
tests_plugins_test_treewalk_LDADD = plugins/lib/libcttreewalk.la $(CMOCKA_LIBS)
# ---- plugins/prune: which files go, without a file system ----
tests_plugins_test_prune_SOURCES = tests/plugins/test_prune.c plugins/prune/prune_select.c
tests_plugins_test_prune_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	-I$(top_srcdir)/plugins/prune -I$(top_srcdir)/plugins/lib
tests_plugins_test_prune_LDADD = plugins/lib/libcttreewalk.la plugins/lib/libctplughost.la $(CMOCKA_LIBS)

# ---- fileio: the library the core and the plugins share ----
tests_fileio_test_fileio_SOURCES = tests/fileio/test_fileio.c
tests_fileio_test_fileio_CFLAGS = $(AM_CFLAGS) $(FILEIO_INCLUDES) $(CMOCKA_CFLAGS)
tests_fileio_test_fileio_LDADD = fileio/libctfileio.la $(CMOCKA_LIBS)

# ---- plugins/lib: the compression machinery ----
tests_plugins_test_compress_SOURCES = tests/plugins/test_compress.c
tests_plugins_test_compress_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib $(FILEIO_INCLUDES)
tests_plugins_test_compress_LDADD = plugins/lib/libctcompress.la fileio/libctfileio.la $(CMOCKA_LIBS)
check_PROGRAMS += tests/bench/compress-file
tests_bench_compress_file_SOURCES = tests/bench/compress-file.c
tests_bench_compress_file_CFLAGS = $(AM_CFLAGS) $(ZSTD_CFLAGS) -I$(top_srcdir)/plugins/lib $(FILEIO_INCLUDES)
tests_bench_compress_file_LDADD = plugins/lib/libctcompress.la fileio/libctfileio.la $(ZSTD_LIBS)
EXTRA_DIST += tests/bench/compress-bench.sh tests/bench/gen-pgdump.py tests/bench/schedule-scale.sh
bench-compress: tests/bench/compress-file$(EXEEXT)
	COMPRESS_FILE='$(abs_top_builddir)/tests/bench/compress-file' \
		$(BASH) $(top_srcdir)/tests/bench/compress-bench.sh
.PHONY: bench-compress

# ---- plugins/lib: file trees (libarchive) and encryption (libsodium) ----
tests_plugins_test_tartree_SOURCES = tests/plugins/test_tartree.c
tests_plugins_test_tartree_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib $(FILEIO_INCLUDES)
tests_plugins_test_tartree_LDADD = plugins/lib/libcttartree.la fileio/libctfileio.la $(CMOCKA_LIBS)
tests_plugins_test_crypt_SOURCES = tests/plugins/test_crypt.c
tests_plugins_test_crypt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib $(FILEIO_INCLUDES)
tests_plugins_test_crypt_LDADD = plugins/lib/libctcrypt.la plugins/lib/libctcompress.la fileio/libctfileio.la \
	$(CMOCKA_LIBS)
check_PROGRAMS += tests/bench/crypt-file
tests_bench_crypt_file_SOURCES = tests/bench/crypt-file.c
tests_bench_crypt_file_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/plugins/lib $(FILEIO_INCLUDES)
tests_bench_crypt_file_LDADD = plugins/lib/libctcrypt.la plugins/lib/libctcompress.la fileio/libctfileio.la
EXTRA_DIST += tests/bench/crypt-bench.sh
bench-crypt: tests/bench/crypt-file$(EXEEXT)
	CRYPT_FILE='$(abs_top_builddir)/tests/bench/crypt-file' \
		$(BASH) $(top_srcdir)/tests/bench/crypt-bench.sh
.PHONY: bench-crypt

# ---- plugins/lib: backups (retention, names, pg_dump versions and env) ----
BACKUP_UNIT_CFLAGS = $(AM_CFLAGS) $(CORE_INCLUDES) $(FILEIO_INCLUDES) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS) $(LIBPQ_CFLAGS) \
	-I$(top_srcdir)/plugins/lib $(FILEIO_INCLUDES)
BACKUP_UNIT_LDADD = plugins/lib/libctbackup.la plugins/lib/libctbackupset.la plugins/lib/libctpg.la plugins/lib/libcttartree.la \
	plugins/lib/libctcrypt.la plugins/lib/libctcompress.la fileio/libctfileio.la $(CMOCKA_LIBS)
tests_plugins_test_backupset_SOURCES = tests/plugins/test_backupset.c
tests_plugins_test_backupset_CFLAGS = $(BACKUP_UNIT_CFLAGS)
tests_plugins_test_backupset_LDADD = $(BACKUP_UNIT_LDADD)
tests_plugins_test_pgtools_SOURCES = tests/plugins/test_pgtools.c
tests_plugins_test_pgtools_CFLAGS = $(BACKUP_UNIT_CFLAGS)
tests_plugins_test_pgtools_LDADD = $(BACKUP_UNIT_LDADD)
tests_plugins_test_dumpcount_SOURCES = tests/plugins/test_dumpcount.c
tests_plugins_test_dumpcount_CFLAGS = $(BACKUP_UNIT_CFLAGS)
tests_plugins_test_dumpcount_LDADD = $(BACKUP_UNIT_LDADD)
tests_plugins_test_manifest_SOURCES = tests/plugins/test_manifest.c
tests_plugins_test_manifest_CFLAGS = $(BACKUP_UNIT_CFLAGS)
tests_plugins_test_manifest_LDADD = $(BACKUP_UNIT_LDADD) $(JANSSON_LIBS)
tests_plugins_test_backupcheck_SOURCES = tests/plugins/test_backupcheck.c
tests_plugins_test_backupcheck_CFLAGS = $(BACKUP_UNIT_CFLAGS) $(LIBCRYPTO_CFLAGS)
tests_plugins_test_backupcheck_LDADD = $(BACKUP_UNIT_LDADD) $(LIBCRYPTO_LIBS)

# The backup plugin against pg_dump on ~1 GB (tests/bench/backup-bench.sh).
EXTRA_DIST += tests/bench/backup-bench.sh
bench-backup: caretaker$(EXEEXT) $(plugin_LTLIBRARIES)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		CARETAKER='$(abs_top_builddir)/caretaker' $(BASH) $(top_srcdir)/tests/bench/backup-bench.sh
.PHONY: bench-backup

# The vacuum plugin against the runbook's VACUUM ANALYZE on ~1 GB
# (tests/bench/vacuum-bench.sh).
EXTRA_DIST += tests/bench/vacuum-bench.sh
bench-vacuum: caretaker$(EXEEXT) $(plugin_LTLIBRARIES)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		CARETAKER='$(abs_top_builddir)/caretaker' $(BASH) $(top_srcdir)/tests/bench/vacuum-bench.sh
.PHONY: bench-vacuum
# The metrics plugin against the runbook's psutil collect_system_metrics
# (tests/bench/metrics-bench.sh).
EXTRA_DIST += tests/bench/metrics-bench.sh
bench-metrics: caretaker$(EXEEXT) $(plugin_LTLIBRARIES)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		CARETAKER='$(abs_top_builddir)/caretaker' $(BASH) $(top_srcdir)/tests/bench/metrics-bench.sh
.PHONY: bench-metrics
# The retention plugin against the runbook's single DELETE statements on
# ~1 GB (tests/bench/retention-bench.sh).
EXTRA_DIST += tests/bench/retention-bench.sh
bench-retention: caretaker$(EXEEXT) $(plugin_LTLIBRARIES) tests/integration/insert-writer$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		CARETAKER='$(abs_top_builddir)/caretaker' $(BASH) $(top_srcdir)/tests/bench/retention-bench.sh
.PHONY: bench-retention
# The logscan plugin against grep, ripgrep and the runbook's Python loop on
# a generated 500 MB log (tests/bench/logscan-bench.sh).
EXTRA_DIST += tests/bench/logscan-bench.sh
bench-logscan: caretaker$(EXEEXT) $(plugin_LTLIBRARIES)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		CARETAKER='$(abs_top_builddir)/caretaker' $(BASH) $(top_srcdir)/tests/bench/logscan-bench.sh
.PHONY: bench-logscan

# The prune plugin against find -delete on 200,000 files, and a soak test
# of the tree walk under a folder/link racer (tests/bench/prune-bench.sh,
# tests/bench/treewalk-race.sh).
EXTRA_DIST += tests/bench/prune-bench.sh tests/bench/treewalk-race.sh
bench-prune: caretaker$(EXEEXT) $(plugin_LTLIBRARIES)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		CARETAKER='$(abs_top_builddir)/caretaker' $(BASH) $(top_srcdir)/tests/bench/prune-bench.sh
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		CARETAKER='$(abs_top_builddir)/caretaker' $(BASH) $(top_srcdir)/tests/bench/treewalk-race.sh
.PHONY: bench-prune

# ---- schedules against systemd-analyze (skipped where it is missing) ----
check_PROGRAMS += tests/schedule/schedule-next
tests_schedule_schedule_next_SOURCES = tests/schedule/schedule-next.c
tests_schedule_schedule_next_CFLAGS = $(AM_CFLAGS) $(CORE_INCLUDES)
tests_schedule_schedule_next_LDADD = $(CORE_LIBS)
TESTS += tests/schedule/compare-systemd.sh
dist_check_SCRIPTS += tests/schedule/compare-systemd.sh tests/schedule/gen-expressions.sh
EXTRA_DIST += tests/schedule/expressions.txt

# ---- fault plugins: each misbehaves in one way the core must survive ----
FAULT_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
FAULT_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -Wno-missing-prototypes
check_LTLIBRARIES += \
	tests/faults/segv.la \
	tests/faults/abort.la \
	tests/faults/exit3.la \
	tests/faults/hang.la \
	tests/faults/flood.la \
	tests/faults/wrongabi.la \
	tests/faults/tiny.la \
	tests/faults/unresolved.la \
	tests/faults/ctorcrash.la \
	tests/faults/misnamed.la \
	tests/faults/slowok.la \
	tests/faults/loud.la
check_LTLIBRARIES += tests/faults/slowprogress.la tests/faults/ansi.la
tests_faults_segv_la_SOURCES = tests/faults/segv.c tests/faults/fault.h
tests_faults_segv_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_segv_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_abort_la_SOURCES = tests/faults/abort.c tests/faults/fault.h
tests_faults_abort_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_abort_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_exit3_la_SOURCES = tests/faults/exit3.c tests/faults/fault.h
tests_faults_exit3_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_exit3_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_hang_la_SOURCES = tests/faults/hang.c tests/faults/fault.h
tests_faults_hang_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_hang_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_flood_la_SOURCES = tests/faults/flood.c tests/faults/fault.h
tests_faults_flood_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_flood_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_wrongabi_la_SOURCES = tests/faults/wrongabi.c tests/faults/fault.h
tests_faults_wrongabi_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_wrongabi_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_tiny_la_SOURCES = tests/faults/tiny.c
tests_faults_tiny_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_tiny_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_unresolved_la_SOURCES = tests/faults/unresolved.c tests/faults/fault.h
tests_faults_unresolved_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_unresolved_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_ctorcrash_la_SOURCES = tests/faults/ctorcrash.c tests/faults/fault.h
tests_faults_ctorcrash_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_ctorcrash_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_misnamed_la_SOURCES = tests/faults/misnamed.c tests/faults/fault.h
tests_faults_misnamed_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_misnamed_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_slowok_la_SOURCES = tests/faults/slowok.c tests/faults/fault.h
tests_faults_slowok_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_slowok_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_loud_la_SOURCES = tests/faults/loud.c tests/faults/fault.h
tests_faults_loud_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_loud_la_LDFLAGS = $(FAULT_LDFLAGS)
check_LTLIBRARIES += tests/faults/ctorhang.la
tests_faults_ctorhang_la_SOURCES = tests/faults/ctorhang.c tests/faults/fault.h
tests_faults_ctorhang_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_ctorhang_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_ansi_la_SOURCES = tests/faults/ansi.c tests/faults/fault.h
tests_faults_ansi_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_ansi_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_slowprogress_la_SOURCES = tests/faults/slowprogress.c tests/faults/fault.h
tests_faults_slowprogress_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_slowprogress_la_LDFLAGS = $(FAULT_LDFLAGS)
EXTRA_DIST += tests/faults/notelf.txt
# A process that leaves the job's process group, then a hang.
check_LTLIBRARIES += tests/faults/escape.la
tests_faults_escape_la_SOURCES = tests/faults/escape.c tests/faults/fault.h
tests_faults_escape_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_escape_la_LDFLAGS = $(FAULT_LDFLAGS)
# Not a plugin: an LD_PRELOAD shim that makes pidfd_open fail (ENOSYS).
check_LTLIBRARIES += tests/faults/nopidfd.la
tests_faults_nopidfd_la_SOURCES = tests/faults/nopidfd.c
tests_faults_nopidfd_la_CFLAGS = $(FAULT_CFLAGS)
tests_faults_nopidfd_la_LDFLAGS = $(FAULT_LDFLAGS)

# ---- integration tests: the built binary, real files, real children ----
INTEGRATION_TESTS = \
	tests/integration/cli.sh \
	tests/integration/check.sh \
	tests/integration/exec.sh \
	tests/integration/faults.sh \
	tests/integration/output.sh \
	tests/integration/security.sh \
	tests/integration/lock.sh \
	tests/integration/chain.sh \
	tests/integration/sdk.sh \
	tests/integration/abi-v1.sh \
	tests/integration/schedule.sh \
	tests/integration/fleet.sh \
	tests/integration/timers.sh \
	tests/integration/style.sh
INTEGRATION_TESTS += tests/integration/decrypt.sh
INTEGRATION_TESTS += tests/integration/state.sh
INTEGRATION_TESTS += tests/integration/progress.sh tests/integration/backup-progress.sh
INTEGRATION_TESTS += tests/integration/helpers.sh
INTEGRATION_TESTS += tests/integration/backup.sh tests/integration/verify.sh
INTEGRATION_TESTS += tests/integration/supervise.sh
INTEGRATION_TESTS += tests/integration/audit.sh
INTEGRATION_TESTS += tests/integration/vacuum.sh tests/integration/vacuum-latency.sh
INTEGRATION_TESTS += tests/integration/retention.sh
INTEGRATION_TESTS += tests/integration/prune.sh tests/integration/perms.sh
INTEGRATION_TESTS += tests/integration/apt.sh tests/integration/update-chain.sh
INTEGRATION_TESTS += tests/integration/metrics.sh tests/integration/health.sh
INTEGRATION_TESTS += tests/integration/logscan.sh
# The application's writes during maintenance, and their latency
# (retention.sh, tests/bench/retention-bench.sh).
check_PROGRAMS += tests/integration/insert-writer
tests_integration_insert_writer_SOURCES = tests/integration/insert-writer.c
tests_integration_insert_writer_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_integration_insert_writer_LDADD = $(LIBPQ_LIBS)
TESTS += $(INTEGRATION_TESTS)
dist_check_SCRIPTS += $(INTEGRATION_TESTS)
EXTRA_DIST += tests/integration/aptlib.sh tests/integration/backuplib.sh tests/integration/ttyrun.py \
	tests/integration/liveline.py
EXTRA_DIST += tests/skip.h
EXTRA_DIST += tests/integration/lib.sh tests/abi/v1/caretaker/plugin.h \
	tests/abi/v1/caretaker/errors.h tests/abi/v1/oldplugin.c

# For tests/bootstrap.sh: the tests it runs under the sanitizers.
print-unit-tests:
	@echo $(UNIT_TESTS)
print-integration-tests:
	@echo $(INTEGRATION_TESTS)
.PHONY: print-unit-tests print-integration-tests

# The throwaway PostgreSQL harness (tests/harness/README.md).
EXTRA_DIST += tests/harness/pg.sh tests/harness/schema.sql tests/harness/seed.sh \
	tests/harness/seed.sql tests/harness/gen-logs.sh tests/harness/README.md \
	tests/harness/selftest.sh tests/demo.sh tests/bootstrap.sh tests/bench/run-noop.sh \
	tests/coverage.sh tests/README.md

include $(srcdir)/tests/fuzz/local.mk

# ---- logrotate: the plugin built with its fault points (tests only) ----
# logrotate.sh copies it over logrotate.so to kill a rotation at every
# step in turn (CARETAKER_LOGROTATE_KILL_AT=N).
check_LTLIBRARIES += tests/faults/logrotate_faults.la
tests_faults_logrotate_faults_la_SOURCES = $(LOGROTATE_SOURCES)
tests_faults_logrotate_faults_la_CFLAGS = $(LOGROTATE_CFLAGS) -DLOGROTATE_FAULTS
tests_faults_logrotate_faults_la_LDFLAGS = $(FAULT_LDFLAGS)
tests_faults_logrotate_faults_la_LIBADD = $(LOGROTATE_LIBADD)
INTEGRATION_TESTS += tests/integration/logrotate.sh tests/integration/logrotate-compat.sh
# Rotate + compress of a 500 MB log against logrotate(8)
# (tests/bench/logrotate-bench.sh).
EXTRA_DIST += tests/bench/logrotate-bench.sh
bench-logrotate: caretaker$(EXEEXT) $(plugin_LTLIBRARIES)
	BUILD='$(abs_top_builddir)' $(BASH) $(top_srcdir)/tests/bench/logrotate-bench.sh
.PHONY: bench-logrotate
# The logrotate plugin's names of rotated copies and its importer.
UNIT_TESTS += tests/plugins/test_logrotate
tests_plugins_test_logrotate_SOURCES = tests/plugins/test_logrotate.c \
	plugins/logrotate/logrotate_names.c plugins/logrotate/import.c
tests_plugins_test_logrotate_CFLAGS = $(AM_CFLAGS) $(FILEIO_INCLUDES) $(CMOCKA_CFLAGS) \
	-I$(top_srcdir)/plugins/logrotate -I$(top_srcdir)/plugins/lib
tests_plugins_test_logrotate_LDADD = fileio/libctfileio.la $(CMOCKA_LIBS)
# The Debian packages end to end, run by tests/bootstrap.sh check as root
# (docs/packaging.md); not part of make check.
EXTRA_DIST += tests/packaging.sh

# ---- plugins/lib: a command run for a plugin, with real child processes ----
tests_plugins_test_childrun_SOURCES = tests/plugins/test_childrun.c
tests_plugins_test_childrun_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/plugins/lib
tests_plugins_test_childrun_LDADD = plugins/lib/libctchild.la $(CMOCKA_LIBS)
