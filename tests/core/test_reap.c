/*
 * test_reap.c — core/reap.c: a subreaper ends every process below it,
 * those that left its process group included, and counts those.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "reap.h"

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(reap_set_subreaper(1), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	assert_int_equal(reap_set_subreaper(0), 0);
	return 0;
}

/* A sleeping process started by fork; with is_escaping, in a session of
 * its own, as a daemon is. */
static pid_t
start_sleeper(int is_escaping)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (is_escaping)
			setsid();
		for (;;)
			pause();
	}
	return pid;
}

/* A middle process that starts one sleeper in the group and one outside,
 * tells their pids through a pipe and sleeps: ending it reparents them. */
static pid_t
start_middle(pid_t kids[2])
{
	int fds[2];
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		kids[0] = start_sleeper(0);
		kids[1] = start_sleeper(1);
		if (write(fds[1], kids, 2 * sizeof(pid_t)) != 2 * sizeof(pid_t))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], kids, 2 * sizeof(pid_t)), 2 * sizeof(pid_t));
	close(fds[0]);
	return pid;
}

static void
assert_gone(pid_t pid)
{
	if (kill(pid, 0) == 0 || errno != ESRCH)
		fail_msg("process %ld is still there", (long)pid);
}

/* A process that left the group may not have called setsid() yet. */
static void
wait_for_session(pid_t pid)
{
	for (int i = 0; i < 500 && getsid(pid) != pid; i++)
		usleep(10000);
	assert_int_equal(getsid(pid), pid);
}

static void
test_reap_descendants_ends_grandchildren_reparented_by_the_sweep(void **state)
{
	pid_t kids[2], middle;

	(void)state;
	middle = start_middle(kids);
	wait_for_session(kids[1]);
	assert_int_equal(reap_descendants(getpgrp()), 1);
	assert_gone(middle);
	assert_gone(kids[0]);
	assert_gone(kids[1]);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_reap_descendants_counts_only_processes_outside_the_group(void **state)
{
	pid_t in_group, outside;

	(void)state;
	in_group = start_sleeper(0);
	outside = start_sleeper(1);
	wait_for_session(outside);
	assert_int_equal(reap_descendants(getpgrp()), 1);
	assert_gone(in_group);
	assert_gone(outside);
}

static void
test_reap_descendants_reaps_an_exited_child_without_counting_it(void **state)
{
	siginfo_t si = {0};
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();
		_exit(0);
	}
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(reap_descendants(getpgrp()), 0);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_reap_descendants_returns_zero_without_children(void **state)
{
	(void)state;
	assert_int_equal(reap_descendants(getpgrp()), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_reap_descendants_ends_grandchildren_reparented_by_the_sweep, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_reap_descendants_counts_only_processes_outside_the_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_reap_descendants_reaps_an_exited_child_without_counting_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reap_descendants_returns_zero_without_children,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests_name("reap", tests, NULL, NULL);
}
