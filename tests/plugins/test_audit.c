/*
 * test_audit.c — the audit plugin's parsers and counts that need no
 * database: one line of sshd's log (plugins/audit/audit_sshd.c), addresses
 * and ranges (audit_net.c), and failed logins counted over events
 * (audit_count.c).  tests/integration/audit.sh drives the whole plugin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include <caretaker/plugin.h>

#include "audit.h"

/* 2024-03-03 12:00:00 UTC: the files of these tests were last written then. */
#define REF ((time_t)1709467200)

static struct audit_sshd_line
parse(const char *line)
{
	struct audit_sshd_line sl;

	assert_int_equal(audit_sshd_parse(line, strlen(line), REF, &sl), 0);
	return sl;
}

static void
assert_addr(const struct audit_addr *a, const char *want)
{
	char got[64];

	audit_addr_format(a, got, sizeof(got));
	assert_string_equal(got, want);
}

/* ---- sshd's lines ---- */

static void
test_sshd_reads_a_failed_password(void **state)
{
	struct audit_sshd_line sl = parse("2024-03-03T10:00:00+00:00 web1 sshd[812]: Failed "
	                                  "password for root from 192.0.2.9 port 52144 ssh2");

	(void)state;
	assert_int_equal(sl.kind, AUDIT_SSHD_FAILED);
	assert_int_equal(sl.ts, REF - 7200);
	assert_int_equal(sl.pid, 812);
	assert_int_equal(sl.repeat, 1);
	assert_false(sl.is_invalid_user);
	assert_string_equal(sl.user, "root");
	assert_addr(&sl.addr, "192.0.2.9");
}

static void
test_sshd_keeps_spaces_in_an_invalid_user_name_and_reads_ipv6(void **state)
{
	struct audit_sshd_line sl = parse("2024-03-03T10:00:00.123456+01:00 web1 sshd[9]: Invalid "
	                                  "user john  smith from 2001:db8::7 port 4242");

	(void)state;
	assert_int_equal(sl.kind, AUDIT_SSHD_INVALID);
	assert_int_equal(sl.ts, REF - 3 * 3600);
	assert_string_equal(sl.user, "john  smith");
	assert_addr(&sl.addr, "2001:db8::7");
}

static void
test_sshd_takes_the_last_from_so_a_name_cannot_forge_the_client(void **state)
{
	struct audit_sshd_line sl = parse("2024-03-03T10:00:00Z h sshd[9]: Failed password for "
	                                  "invalid user x from 10.0.0.1 port 22 from 203.0.113.5 "
	                                  "port 4000 ssh2");

	(void)state;
	assert_int_equal(sl.kind, AUDIT_SSHD_FAILED);
	assert_true(sl.is_invalid_user);
	assert_string_equal(sl.user, "x from 10.0.0.1 port 22");
	assert_addr(&sl.addr, "203.0.113.5");
}

static void
test_sshd_counts_a_repeated_message_as_its_repeats(void **state)
{
	struct audit_sshd_line sl = parse("2024-03-03T10:00:00Z h sshd[9]: message repeated 4 "
	                                  "times: [ Failed password for admin from 192.0.2.1 "
	                                  "port 22 ssh2]");

	(void)state;
	assert_int_equal(sl.kind, AUDIT_SSHD_FAILED);
	assert_int_equal(sl.repeat, 4);
	assert_string_equal(sl.user, "admin");
	assert_addr(&sl.addr, "192.0.2.1");
}

static void
test_sshd_reads_an_ipv4_mapped_client_as_ipv4(void **state)
{
	struct audit_sshd_line sl = parse("2024-03-03T10:00:00Z h sshd[9]: Failed password for "
	                                  "root from ::ffff:198.51.100.7 port 22 ssh2");

	(void)state;
	assert_addr(&sl.addr, "198.51.100.7");
}

static void
test_sshd_reads_an_accepted_key_with_its_fingerprint_after(void **state)
{
	struct audit_sshd_line sl = parse("2024-03-03T10:00:00Z h sshd-session[9]: Accepted "
	                                  "publickey for deploy from 192.0.2.3 port 50000 ssh2: "
	                                  "ED25519 SHA256:abcdef");

	(void)state;
	assert_int_equal(sl.kind, AUDIT_SSHD_ACCEPTED);
	assert_string_equal(sl.user, "deploy");
	assert_addr(&sl.addr, "192.0.2.3");
}

static void
test_sshd_reads_an_empty_invalid_user_name(void **state)
{
	struct audit_sshd_line sl =
	    parse("2024-03-03T10:00:00Z h sshd[9]: Invalid user  from 192.0.2.4 port 22");

	(void)state;
	assert_int_equal(sl.kind, AUDIT_SSHD_INVALID);
	assert_string_equal(sl.user, "");
}

static void
test_sshd_ignores_other_programs_and_messages(void **state)
{
	struct audit_sshd_line cron = parse("2024-03-03T10:00:00Z h CRON[1]: Failed password for "
	                                    "root from 192.0.2.9 port 1 ssh2");
	struct audit_sshd_line pam = parse("2024-03-03T10:00:00Z h sshd[9]: pam_unix(sshd:auth): "
	                                   "authentication failure; rhost=192.0.2.9  user=root");
	struct audit_sshd_line noaddr =
	    parse("2024-03-03T10:00:00Z h sshd[9]: Failed password for root from nowhere port 1");

	(void)state;
	assert_int_equal(cron.kind, AUDIT_SSHD_NONE);
	assert_int_equal(pam.kind, AUDIT_SSHD_NONE);
	assert_int_equal(noaddr.kind, AUDIT_SSHD_NONE);
	assert_int_equal(cron.ts, REF - 7200);
}

static void
test_sshd_refuses_a_line_without_a_time(void **state)
{
	struct audit_sshd_line sl;
	const char *line = "sshd[9]: Failed password for root from 192.0.2.9 port 1 ssh2";

	(void)state;
	assert_int_equal(audit_sshd_parse(line, strlen(line), REF, &sl), CT_EINVAL);
	assert_int_equal(sl.kind, AUDIT_SSHD_NONE);
}

static void
test_sshd_puts_a_syslog_time_in_the_year_of_the_file(void **state)
{
	char line[200];
	struct tm tm;
	time_t ref = REF;
	struct audit_sshd_line sl;

	(void)state;
	localtime_r(&ref, &tm);
	strftime(line, sizeof(line),
	         "%b %e %H:%M:%S h sshd[1]: Failed password for a from "
	         "192.0.2.1 port 1 ssh2",
	         &tm);
	sl = parse(line);
	assert_int_equal(sl.kind, AUDIT_SSHD_FAILED);
	assert_int_equal(sl.ts, REF);
}

static void
test_sshd_puts_december_before_a_january_file_in_the_year_before(void **state)
{
	/* 2024-01-02 00:00:00 local: a December line is from 2023. */
	struct tm ref_tm = {.tm_year = 124, .tm_mon = 0, .tm_mday = 2, .tm_isdst = -1};
	struct tm dec = {.tm_year = 123,
	                 .tm_mon = 11,
	                 .tm_mday = 31,
	                 .tm_hour = 23,
	                 .tm_min = 59,
	                 .tm_sec = 58,
	                 .tm_isdst = -1};
	time_t ref = mktime(&ref_tm);
	const char *line = "Dec 31 23:59:58 h sshd[1]: Failed password for a from 192.0.2.1 port "
	                   "1 ssh2";
	struct audit_sshd_line sl;

	(void)state;
	assert_int_equal(audit_sshd_parse(line, strlen(line), ref, &sl), 0);
	assert_int_equal(sl.ts, mktime(&dec));
}

/* ---- addresses ---- */

static void
test_net_ranges_contain_what_they_should(void **state)
{
	struct audit_cidr c;
	struct audit_addr in, out;

	(void)state;
	assert_int_equal(audit_cidr_parse("10.1.0.0/17", &c), 0);
	assert_int_equal(audit_addr_parse("10.1.127.255", 12, &in), 0);
	assert_int_equal(audit_addr_parse("10.1.128.0", 10, &out), 0);
	assert_true(audit_cidr_contains(&c, &in));
	assert_false(audit_cidr_contains(&c, &out));
	assert_int_equal(audit_cidr_parse("2001:db8::/32", &c), 0);
	assert_int_equal(audit_addr_parse("2001:db8:ffff::1", 16, &in), 0);
	assert_true(audit_cidr_contains(&c, &in));
	assert_false(audit_cidr_contains(&c, &out));
}

static void
test_net_refuses_what_is_not_a_range(void **state)
{
	struct audit_cidr c;

	(void)state;
	assert_int_equal(audit_cidr_parse("10.0.0.0/33", &c), CT_EINVAL);
	assert_int_equal(audit_cidr_parse("10.0.0.0/", &c), CT_EINVAL);
	assert_int_equal(audit_cidr_parse("10.0.0/8", &c), CT_EINVAL);
	assert_int_equal(audit_cidr_parse("example.org", &c), CT_EINVAL);
	assert_int_equal(audit_cidr_parse("10.0.0.0/8x", &c), CT_EINVAL);
}

static void
test_net_knows_private_addresses(void **state)
{
	static const char *const private[] = {"10.2.3.4",  "172.31.0.1", "192.168.1.1",
	                                      "127.0.0.1", "100.64.0.1", "::1",
	                                      "fd00::1",   "fe80::1"};
	static const char *const public[] = {"172.32.0.1", "192.0.2.1", "8.8.8.8", "2001:db8::1"};
	struct audit_addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(private) / sizeof(private[0]); i++) {
		assert_int_equal(audit_addr_parse(private[i], strlen(private[i]), &a), 0);
		assert_true(audit_addr_is_private(&a));
	}
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
		assert_int_equal(audit_addr_parse(public[i], strlen(public[i]), &a), 0);
		assert_false(audit_addr_is_private(&a));
	}
}

/* ---- counting ---- */

/* Events of one test and the counts over them. */
struct fixture {
	struct audit_events ev;
	struct audit_logins l;
	struct audit_nets nets;
	struct audit_thresholds th;
};

static int
fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	fx->th = (struct audit_thresholds){.window_ms = 7 * 86400000LL,
	                                   .threshold = 5,
	                                   .burst_window_ms = 600000,
	                                   .burst_threshold = 5,
	                                   .distributed_ips = 3,
	                                   .stuffing_users = 3,
	                                   .proxy_share_pct = 50};
	*state = fx;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	audit_events_free(&fx->ev);
	audit_logins_free(&fx->l);
	audit_nets_free(&fx->nets);
	free(fx);
	return 0;
}

static void
add(struct fixture *fx, const char *ip, time_t ts, const char *user, int is_success)
{
	struct audit_event e = {.ts = ts, .is_success = (unsigned char)is_success};

	assert_int_equal(audit_addr_parse(ip, strlen(ip), &e.addr), 0);
	e.is_allowed = (unsigned char)audit_nets_allows(&fx->nets, &e.addr);
	assert_int_equal(audit_events_add(&fx->ev, &e, user), 0);
}

static void
count(struct fixture *fx)
{
	assert_int_equal(audit_count_logins(&fx->th, &fx->nets, &fx->ev, &fx->l), 0);
}

/* The hits of one kind, as "object=count/distinct" joined by spaces. */
static const char *
hits(const struct fixture *fx, int kind)
{
	static char buf[1024];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < fx->l.n_hits; i++)
		if (fx->l.hits[i].kind == kind)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s=%lld/%lld",
			                      n ? " " : "", fx->l.hits[i].object,
			                      (long long)fx->l.hits[i].count,
			                      (long long)fx->l.hits[i].distinct);
	return buf;
}

static void
test_count_flags_an_address_at_the_threshold_not_below(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < 5; i++)
		add(fx, "192.0.2.1", REF - i * 3600, "root", 0);
	for (int i = 0; i < 4; i++)
		add(fx, "192.0.2.2", REF - i * 3600, "root", 0);
	count(fx);
	assert_string_equal(hits(fx, AUDIT_HIT_IP), "192.0.2.1=5/1");
	assert_int_equal(fx->l.failures, 9);
	assert_int_equal(fx->l.addresses, 2);
}

static void
test_count_burst_includes_both_ends_of_the_window(void **state)
{
	struct fixture *fx = *state;

	/* Five within exactly 10 minutes: a burst. */
	for (int i = 0; i < 5; i++)
		add(fx, "192.0.2.1", REF + i * 150, "a", 0);
	/* Five over 10 minutes and a second: none. */
	for (int i = 0; i < 4; i++)
		add(fx, "192.0.2.2", REF + i * 150, "a", 0);
	add(fx, "192.0.2.2", REF + 601, "a", 0);
	count(fx);
	assert_string_equal(hits(fx, AUDIT_HIT_BURST), "192.0.2.1=5/0");
}

static void
test_count_login_right_after_a_burst_is_a_hit(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < 5; i++)
		add(fx, "192.0.2.1", REF + i * 60, "alice", 0);
	add(fx, "192.0.2.1", REF + 300, "alice", 1);
	/* A login 11 minutes after the first failure: the burst is over. */
	for (int i = 0; i < 5; i++)
		add(fx, "192.0.2.2", REF + i * 10, "bob", 0);
	add(fx, "192.0.2.2", REF + 660, "bob", 1);
	count(fx);
	assert_string_equal(hits(fx, AUDIT_HIT_SUCCESS), "192.0.2.1=5/0");
	for (size_t i = 0; i < fx->l.n_hits; i++)
		if (fx->l.hits[i].kind == AUDIT_HIT_SUCCESS)
			assert_string_equal(fx->l.hits[i].user, "alice");
}

static void
test_count_finds_one_address_against_many_user_names(void **state)
{
	struct fixture *fx = *state;

	add(fx, "192.0.2.1", REF, "a", 0);
	add(fx, "192.0.2.1", REF + 3600, "b", 0);
	add(fx, "192.0.2.1", REF + 7200, "c", 0);
	add(fx, "192.0.2.2", REF, "a", 0);
	add(fx, "192.0.2.2", REF + 3600, "b", 0);
	add(fx, "192.0.2.2", REF + 7200, "b", 0);
	count(fx);
	assert_string_equal(hits(fx, AUDIT_HIT_STUFFING), "192.0.2.1=3/3");
	assert_string_equal(hits(fx, AUDIT_HIT_IP), "");
}

static void
test_count_finds_one_user_name_from_many_addresses(void **state)
{
	struct fixture *fx = *state;

	add(fx, "192.0.2.1", REF, "admin", 0);
	add(fx, "192.0.2.2", REF, "admin", 0);
	add(fx, "2001:db8::1", REF, "admin", 0);
	add(fx, "2001:db8::1", REF + 1, "admin", 0);
	add(fx, "192.0.2.1", REF, "root", 0);
	add(fx, "192.0.2.2", REF, "root", 0);
	count(fx);
	assert_string_equal(hits(fx, AUDIT_HIT_USER), "admin=4/3");
}

static void
test_count_leaves_allowlisted_addresses_out_but_not_of_the_proxy_check(void **state)
{
	struct fixture *fx = *state;
	struct audit_opts o = {0};
	const char *allow[] = {"10.0.0.0/8"};
	char err[256];

	o.allow = (struct audit_list){.items = allow, .n = 1};
	assert_int_equal(audit_nets_parse(&o, &fx->nets, err, sizeof(err)), 0);
	for (int i = 0; i < 9; i++)
		add(fx, "10.0.0.5", REF + i * 10, "a", 0);
	add(fx, "192.0.2.1", REF, "a", 0);
	count(fx);
	assert_int_equal(fx->l.n_hits, 0);
	assert_int_equal(fx->l.failures, 1);
	assert_int_equal(fx->l.allowed, 9);
	assert_string_equal(fx->l.top_ip, "10.0.0.5");
	assert_int_equal(fx->l.top_count, 9);
	assert_int_equal(fx->l.top_total, 10);
	assert_true(fx->l.is_top_private);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sshd_reads_a_failed_password),
	    cmocka_unit_test(test_sshd_keeps_spaces_in_an_invalid_user_name_and_reads_ipv6),
	    cmocka_unit_test(test_sshd_takes_the_last_from_so_a_name_cannot_forge_the_client),
	    cmocka_unit_test(test_sshd_counts_a_repeated_message_as_its_repeats),
	    cmocka_unit_test(test_sshd_reads_an_ipv4_mapped_client_as_ipv4),
	    cmocka_unit_test(test_sshd_reads_an_accepted_key_with_its_fingerprint_after),
	    cmocka_unit_test(test_sshd_reads_an_empty_invalid_user_name),
	    cmocka_unit_test(test_sshd_ignores_other_programs_and_messages),
	    cmocka_unit_test(test_sshd_refuses_a_line_without_a_time),
	    cmocka_unit_test(test_sshd_puts_a_syslog_time_in_the_year_of_the_file),
	    cmocka_unit_test(test_sshd_puts_december_before_a_january_file_in_the_year_before),
	    cmocka_unit_test(test_net_ranges_contain_what_they_should),
	    cmocka_unit_test(test_net_refuses_what_is_not_a_range),
	    cmocka_unit_test(test_net_knows_private_addresses),
	    cmocka_unit_test_setup_teardown(test_count_flags_an_address_at_the_threshold_not_below,
	                                    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_count_burst_includes_both_ends_of_the_window,
	                                    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_count_login_right_after_a_burst_is_a_hit,
	                                    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_count_finds_one_address_against_many_user_names,
	                                    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_count_finds_one_user_name_from_many_addresses,
	                                    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_count_leaves_allowlisted_addresses_out_but_not_of_the_proxy_check,
	        fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
