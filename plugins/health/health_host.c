/*
 * health_host.c — the host's checks: space and inodes of every real file
 * system, memory in use and the load per CPU, each against its warn/fail
 * pair, read through plugins/lib/hoststat.h.
 *
 * Why the 5-minute load per CPU: the 1-minute figure jumps with every
 * compile or cron job, and a load of 8 is idle on 32 cores and a queue on
 * two.
 */
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "health.h"
#include "hoststat.h"

static void
check_mount(struct plugin_host *h, const struct health_opts *o, const struct hoststat_mount *m,
            struct health_tally *tally)
{
	double used = hoststat_mount_used_ratio(m), inodes = hoststat_mount_inodes_used_ratio(m);

	if (!m->is_stat) {
		health_say(h, tally, HEALTH_FAIL, m->mount_point, "statvfs: %s",
		           strerror(m->stat_errno));
		return;
	}
	health_say(h, tally, health_judge(used, &o->disk), m->mount_point,
	           "disk %.1f%% used (warn %.0f%%, fail %.0f%%), %.1f GiB free of %.1f GiB",
	           used * 100, o->disk.warn * 100, o->disk.fail * 100,
	           (double)m->avail_bytes / (1 << 30), (double)m->size_bytes / (1 << 30));
	if (m->inodes == 0)
		return; /* btrfs and the like allocate inodes as needed */
	health_say(h, tally, health_judge(inodes, &o->inodes), m->mount_point,
	           "inodes %.1f%% used (warn %.0f%%, fail %.0f%%), %llu of %llu", inodes * 100,
	           o->inodes.warn * 100, o->inodes.fail * 100,
	           (unsigned long long)(m->inodes - m->inodes_free), (unsigned long long)m->inodes);
}

/* A mount point the job names but the mount table lacks is a data disk
 * that did not come up: its files now land on the file system below. */
static void
check_listed(struct plugin_host *h, const struct health_opts *o, const struct hoststat_mounts *ms,
             struct health_tally *tally)
{
	for (size_t i = 0; i < o->n_mounts; i++) {
		size_t k = 0;

		while (k < ms->n && strcmp(ms->items[k].mount_point, o->mounts[i]) != 0)
			k++;
		if (k == ms->n)
			health_say(h, tally, HEALTH_FAIL, o->mounts[i],
			           "not mounted (or its file system type is in exclude_fs)");
	}
}

static void
check_disks(struct plugin_host *h, const struct health_opts *o, struct health_tally *tally)
{
	struct hoststat_mounts ms = {0};
	char *text = NULL, err[512];
	int rc = hoststat_file_read(HOSTSTAT_PROC_MOUNTINFO, &text, err, sizeof(err));

	if (rc == 0)
		rc = hoststat_mounts_parse(text, o->exclude_fs, o->n_exclude_fs, o->mounts,
		                           o->n_mounts, &ms);
	if (rc != 0) {
		health_say(h, tally, HEALTH_FAIL, HOSTSTAT_PROC_MOUNTINFO,
		           "cannot read the mounts: %s", rc == CT_EIO ? err : h->ct->strerror(rc));
		goto out;
	}
	check_listed(h, o, &ms, tally);
	hoststat_mounts_stat(&ms);
	for (size_t i = 0; i < ms.n; i++)
		check_mount(h, o, &ms.items[i], tally);
out:
	free(text);
	hoststat_mounts_free(&ms);
}

static void
check_memory(struct plugin_host *h, const struct health_opts *o, struct health_tally *tally)
{
	struct hoststat_mem m;
	char err[512];
	double used;

	if (hoststat_mem_read(HOSTSTAT_PROC_MEMINFO, &m, err, sizeof(err)) != 0) {
		health_say(h, tally, HEALTH_FAIL, "memory", "%s", err);
		return;
	}
	used = hoststat_mem_used_ratio(&m);
	health_say(h, tally, health_judge(used, &o->memory), "memory",
	           "%.1f%% used (warn %.0f%%, fail %.0f%%), %.1f GiB available of %.1f GiB",
	           used * 100, o->memory.warn * 100, o->memory.fail * 100,
	           (double)m.available / (1 << 30), (double)m.total / (1 << 30));
}

static void
check_load(struct plugin_host *h, const struct health_opts *o, struct health_tally *tally)
{
	struct hoststat_load l;
	struct hoststat_cpu c;
	char err[512];
	double per_cpu;

	if (hoststat_load_read(HOSTSTAT_PROC_LOADAVG, &l, err, sizeof(err)) != 0 ||
	    hoststat_cpu_read(HOSTSTAT_PROC_STAT, &c, err, sizeof(err)) != 0) {
		health_say(h, tally, HEALTH_FAIL, "load", "%s", err);
		return;
	}
	per_cpu = l.avg5 / (c.n_cpus > 0 ? c.n_cpus : 1);
	health_say(h, tally, health_judge(per_cpu, &o->load), "load",
	           "%.2f per CPU over 5 minutes (warn %g, fail %g): load %.2f %.2f %.2f on %d CPUs",
	           per_cpu, o->load.warn, o->load.fail, l.avg1, l.avg5, l.avg15, c.n_cpus);
}

void
health_check_host(struct plugin_host *h, const struct health_opts *o, struct health_tally *tally)
{
	check_disks(h, o, tally);
	check_memory(h, o, tally);
	check_load(h, o, tally);
}
