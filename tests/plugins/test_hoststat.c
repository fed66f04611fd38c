/*
 * test_hoststat.c — plugins/lib/hoststat.c and hoststat_mounts.c: the
 * parsers of /proc/stat, /proc/meminfo, /proc/loadavg, mountinfo and
 * /proc/net/dev on sample files (tests/plugins/hoststat/), the shares
 * computed from them, and the readers' refusals.  The real files are read
 * in tests/integration/metrics.sh and health.sh.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "hoststat.h"

static char *
sample(const char *name)
{
	char path[512], err[256];
	char *text = NULL;

	snprintf(path, sizeof(path), "%s/%s", HOSTSTAT_SAMPLES, name);
	assert_int_equal(hoststat_file_read(path, &text, err, sizeof(err)), 0);
	return text;
}

static void
test_cpu_parse_reads_the_aggregate_line_and_counts_cpus(void **state)
{
	struct hoststat_cpu c;
	char *text = sample("stat");

	(void)state;
	assert_int_equal(hoststat_cpu_parse(text, &c), 0);
	assert_int_equal(c.user, 1000);
	assert_int_equal(c.idle, 8000);
	assert_int_equal(c.iowait, 400);
	assert_int_equal(c.steal, 30);
	assert_int_equal(c.n_cpus, 2);
	free(text);
}

static void
test_cpu_parse_refuses_text_without_a_cpu_line(void **state)
{
	struct hoststat_cpu c;

	(void)state;
	assert_int_equal(hoststat_cpu_parse("intr 1 2 3\ncpu0 1 2 3 4\n", &c), CT_EINVAL);
}

static void
test_cpu_share_is_busy_iowait_and_steal_between_two_samples(void **state)
{
	struct hoststat_cpu a = {.user = 100, .idle = 100}, b = a;
	struct hoststat_cpu_share s;

	(void)state;
	b.user += 30;
	b.system += 20;
	b.idle += 40;
	b.iowait += 5;
	b.steal += 5;
	hoststat_cpu_share(&a, &b, &s);
	assert_true(s.busy > 0.549 && s.busy < 0.551); /* (30 + 20 + 5) of 100 */
	assert_true(s.iowait > 0.049 && s.iowait < 0.051);
	assert_true(s.steal > 0.049 && s.steal < 0.051);
}

static void
test_cpu_share_is_zero_when_no_tick_passed_or_counters_went_back(void **state)
{
	struct hoststat_cpu a = {.user = 100, .idle = 100}, b = a;
	struct hoststat_cpu_share s;

	(void)state;
	hoststat_cpu_share(&a, &b, &s);
	assert_true(s.busy == 0 && s.iowait == 0);
	b.user = 200;
	b.idle = 50; /* a counter that went back (a CPU taken offline) */
	hoststat_cpu_share(&a, &b, &s);
	assert_true(s.busy == 0);
}

static void
test_mem_parse_reads_kib_into_bytes(void **state)
{
	struct hoststat_mem m;
	char *text = sample("meminfo");

	(void)state;
	assert_int_equal(hoststat_mem_parse(text, &m), 0);
	assert_int_equal(m.total, 8000000ULL * 1024);
	assert_int_equal(m.available, 6000000ULL * 1024);
	assert_int_equal(m.swap_total - m.swap_free, 500000ULL * 1024);
	assert_true(hoststat_mem_used_ratio(&m) > 0.2499 && hoststat_mem_used_ratio(&m) < 0.2501);
	free(text);
}

static void
test_mem_parse_without_memavailable_counts_free_buffers_and_cache(void **state)
{
	struct hoststat_mem m;
	char *text = sample("meminfo-old");

	(void)state;
	assert_int_equal(hoststat_mem_parse(text, &m), 0);
	assert_int_equal(m.available, 400000ULL * 1024);
	free(text);
}

static void
test_mem_parse_refuses_text_without_memtotal(void **state)
{
	struct hoststat_mem m;

	(void)state;
	assert_int_equal(hoststat_mem_parse("MemFree: 12 kB\n", &m), CT_EINVAL);
}

static void
test_load_parse_reads_the_three_averages_and_the_tasks(void **state)
{
	struct hoststat_load l;
	char *text = sample("loadavg");

	(void)state;
	assert_int_equal(hoststat_load_parse(text, &l), 0);
	assert_true(l.avg1 == 0.52 && l.avg5 == 1.58 && l.avg15 == 2.59);
	assert_int_equal(l.running, 3);
	assert_int_equal(l.total, 1234);
	assert_int_equal(hoststat_load_parse("garbage\n", &l), CT_EINVAL);
	free(text);
}

static const char *const pseudo[] = {"proc", "sysfs", "devtmpfs", "tmpfs", "squashfs", "cgroup"};

static void
test_mounts_parse_skips_pseudo_file_systems_and_second_mounts_of_a_device(void **state)
{
	struct hoststat_mounts ms = {0};
	char *text = sample("mountinfo");

	(void)state;
	assert_int_equal(hoststat_mounts_parse(text, pseudo, 6, NULL, 0, &ms), 0);
	assert_int_equal(ms.n, 3); /* /, /var/lib/postgresql, the one with a space */
	assert_string_equal(ms.items[0].mount_point, "/");
	assert_string_equal(ms.items[0].fstype, "ext4");
	assert_string_equal(ms.items[1].mount_point, "/var/lib/postgresql");
	assert_string_equal(ms.items[1].fstype, "xfs"); /* after two optional fields */
	assert_int_equal(ms.items[1].dev_major, 254);
	assert_int_equal(ms.items[1].dev_minor, 16);
	hoststat_mounts_free(&ms);
	free(text);
}

static void
test_mounts_parse_unescapes_octal_spaces(void **state)
{
	struct hoststat_mounts ms = {0};
	char *text = sample("mountinfo");

	(void)state;
	assert_int_equal(hoststat_mounts_parse(text, pseudo, 6, NULL, 0, &ms), 0);
	assert_string_equal(ms.items[2].mount_point, "/srv/patient data");
	assert_string_equal(ms.items[2].source, "/dev/mapper/data disk");
	hoststat_mounts_free(&ms);
	free(text);
}

static void
test_mounts_parse_keeps_only_the_mount_points_asked_for(void **state)
{
	const char *const only[] = {"/var/lib/postgresql", "/proc"};
	struct hoststat_mounts ms = {0};
	char *text = sample("mountinfo");

	(void)state;
	assert_int_equal(hoststat_mounts_parse(text, pseudo, 6, only, 2, &ms), 0);
	assert_int_equal(ms.n, 1); /* /proc is asked for but is a pseudo file system */
	assert_string_equal(ms.items[0].mount_point, "/var/lib/postgresql");
	hoststat_mounts_free(&ms);
	free(text);
}

static void
test_mounts_parse_refuses_a_line_without_its_separator(void **state)
{
	struct hoststat_mounts ms = {0};

	(void)state;
	assert_int_equal(
	    hoststat_mounts_parse("27 1 254:0 / / rw,relatime\n", NULL, 0, NULL, 0, &ms),
	    CT_EINVAL);
	assert_int_equal(ms.n, 0);
}

static void
test_mount_used_ratio_is_dfs_use_of_what_users_can_have(void **state)
{
	struct hoststat_mount m = {.is_stat = 1,
	                           .size_bytes = 1000,
	                           .free_bytes = 300, /* 50 reserved for root */
	                           .avail_bytes = 250,
	                           .inodes = 100,
	                           .inodes_free = 25};

	(void)state;
	/* used 700 / (700 + 250): df's Use% */
	assert_true(hoststat_mount_used_ratio(&m) > 0.7368 &&
	            hoststat_mount_used_ratio(&m) < 0.7369);
	assert_true(hoststat_mount_inodes_used_ratio(&m) == 0.75);
	m.inodes = 0; /* btrfs: no fixed count */
	assert_true(hoststat_mount_inodes_used_ratio(&m) == 0);
}

static void
test_mounts_stat_fills_a_real_mount_and_keeps_the_errno_of_a_missing_one(void **state)
{
	const char text[] = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
	                    "2 1 8:2 / /no/such/mount rw - ext4 /dev/sda2 rw\n";
	struct hoststat_mounts ms = {0};

	(void)state;
	assert_int_equal(hoststat_mounts_parse(text, NULL, 0, NULL, 0, &ms), 0);
	hoststat_mounts_stat(&ms);
	assert_true(ms.items[0].is_stat && ms.items[0].size_bytes > 0);
	assert_false(ms.items[1].is_stat);
	assert_int_equal(ms.items[1].stat_errno, ENOENT);
	hoststat_mounts_free(&ms);
}

static void
test_net_parse_reads_every_interface_but_the_excluded(void **state)
{
	const char *const exclude[] = {"lo"};
	struct hoststat_net n = {0};
	char *text = sample("net-dev");

	(void)state;
	assert_int_equal(hoststat_net_parse(text, exclude, 1, &n), 0);
	assert_int_equal(n.n, 2);
	assert_string_equal(n.items[0].name, "eth0");
	assert_int_equal(n.items[0].rx_bytes, 37476165);
	assert_int_equal(n.items[0].rx_errors, 3);
	assert_int_equal(n.items[0].rx_dropped, 4);
	assert_int_equal(n.items[0].tx_bytes, 83153);
	assert_int_equal(n.items[0].tx_errors, 5);
	assert_int_equal(n.items[0].tx_dropped, 6);
	assert_string_equal(n.items[1].name, "wlp2s0"); /* no space after the colon */
	assert_int_equal(n.items[1].tx_packets, 3);
	hoststat_net_free(&n);
	free(text);
}

static void
test_net_parse_refuses_a_short_line(void **state)
{
	struct hoststat_net n = {0};

	(void)state;
	assert_int_equal(hoststat_net_parse("eth0: 1 2 3\n", NULL, 0, &n), CT_EINVAL);
}

static void
test_file_read_names_a_missing_file(void **state)
{
	char err[256], *text = NULL;

	(void)state;
	assert_int_equal(hoststat_file_read("/no/such/proc/file", &text, err, sizeof(err)), CT_EIO);
	assert_non_null(strstr(err, "/no/such/proc/file: No such file or directory"));
	assert_null(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu_parse_reads_the_aggregate_line_and_counts_cpus),
	    cmocka_unit_test(test_cpu_parse_refuses_text_without_a_cpu_line),
	    cmocka_unit_test(test_cpu_share_is_busy_iowait_and_steal_between_two_samples),
	    cmocka_unit_test(test_cpu_share_is_zero_when_no_tick_passed_or_counters_went_back),
	    cmocka_unit_test(test_mem_parse_reads_kib_into_bytes),
	    cmocka_unit_test(test_mem_parse_without_memavailable_counts_free_buffers_and_cache),
	    cmocka_unit_test(test_mem_parse_refuses_text_without_memtotal),
	    cmocka_unit_test(test_load_parse_reads_the_three_averages_and_the_tasks),
	    cmocka_unit_test(
	        test_mounts_parse_skips_pseudo_file_systems_and_second_mounts_of_a_device),
	    cmocka_unit_test(test_mounts_parse_unescapes_octal_spaces),
	    cmocka_unit_test(test_mounts_parse_keeps_only_the_mount_points_asked_for),
	    cmocka_unit_test(test_mounts_parse_refuses_a_line_without_its_separator),
	    cmocka_unit_test(test_mount_used_ratio_is_dfs_use_of_what_users_can_have),
	    cmocka_unit_test(
	        test_mounts_stat_fills_a_real_mount_and_keeps_the_errno_of_a_missing_one),
	    cmocka_unit_test(test_net_parse_reads_every_interface_but_the_excluded),
	    cmocka_unit_test(test_net_parse_refuses_a_short_line),
	    cmocka_unit_test(test_file_read_names_a_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
