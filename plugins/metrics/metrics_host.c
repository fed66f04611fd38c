/*
 * metrics_host.c — the host's figures as samples: CPU over the stated
 * interval, memory and swap, load, each real file system and each network
 * interface, read through plugins/lib/hoststat.h.
 *
 * Why the CPU interval is slept through: /proc/stat counts ticks since
 * boot, so a share of busy time needs two readings; psutil's
 * cpu_percent(interval=1) does the same over one second.  The sleep is
 * cut short when the host asks the run to stop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/plugin.h>

#include "hoststat.h"
#include "metrics.h"

/* Sleeps `ms`, cut short by a stop request.  The host's stop is SIGTERM,
 * whose handler interrupts nanosleep (EINTR), so the sleep is one call
 * rather than a poll every few milliseconds: each wake-up costs CPU, and
 * this job is meant to be cheap to run every minute.  A step is at most a
 * second, so a stop signal taken by another thread is still heard soon. */
static int
sleep_heeding(struct plugin_host *h, int64_t ms)
{
	int64_t step = ms < 1000 ? ms : 1000;
	struct timespec ts = {.tv_sec = (time_t)(step / 1000),
	                      .tv_nsec = (long)(step % 1000) * 1000000};

	while (ms > 0) {
		if (plugin_host_should_stop(h))
			return CT_ECANCELED;
		if (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			continue; /* ts holds what is left of this step */
		ms -= step;
		step = ms < 1000 ? ms : 1000;
		ts.tv_sec = (time_t)(step / 1000);
		ts.tv_nsec = (long)(step % 1000) * 1000000;
	}
	return 0;
}

static int
cpu_collect(struct plugin_host *h, const struct metrics_opts *o, struct metrics_samples *s)
{
	struct hoststat_cpu a, b;
	struct hoststat_cpu_share share;
	int rc;

	rc = hoststat_cpu_read(HOSTSTAT_PROC_STAT, &a, h->err, sizeof(h->err));
	if (rc == 0)
		rc = sleep_heeding(h, o->cpu_interval_ms);
	if (rc == 0)
		rc = hoststat_cpu_read(HOSTSTAT_PROC_STAT, &b, h->err, sizeof(h->err));
	if (rc != 0)
		return rc;
	hoststat_cpu_share(&a, &b, &share);
	rc = metrics_samples_add(s, "cpu_busy_ratio", "", share.busy, "ratio");
	rc = rc ? rc : metrics_samples_add(s, "cpu_iowait_ratio", "", share.iowait, "ratio");
	rc = rc ? rc : metrics_samples_add(s, "cpu_steal_ratio", "", share.steal, "ratio");
	rc = rc ? rc
	        : metrics_samples_add(s, "cpu_interval_seconds", "",
	                              (double)o->cpu_interval_ms / 1000, "seconds");
	return rc ? rc : metrics_samples_add(s, "cpu_count", "", b.n_cpus, "");
}

static int
mem_collect(struct plugin_host *h, struct metrics_samples *s)
{
	struct hoststat_mem m;
	int rc = hoststat_mem_read(HOSTSTAT_PROC_MEMINFO, &m, h->err, sizeof(h->err));
	uint64_t swap_used;

	if (rc != 0)
		return rc;
	swap_used = m.swap_total - m.swap_free;
	rc = metrics_samples_add(s, "memory_total_bytes", "", (double)m.total, "bytes");
	rc =
	    rc ? rc
	       : metrics_samples_add(s, "memory_available_bytes", "", (double)m.available, "bytes");
	rc = rc ? rc
	        : metrics_samples_add(s, "memory_used_ratio", "", hoststat_mem_used_ratio(&m),
	                              "ratio");
	rc =
	    rc ? rc : metrics_samples_add(s, "swap_total_bytes", "", (double)m.swap_total, "bytes");
	rc = rc ? rc : metrics_samples_add(s, "swap_used_bytes", "", (double)swap_used, "bytes");
	return rc ? rc
	          : metrics_samples_add(s, "swap_used_ratio", "",
	                                m.swap_total ? (double)swap_used / (double)m.swap_total : 0,
	                                "ratio");
}

static int
load_collect(struct plugin_host *h, struct metrics_samples *s)
{
	struct hoststat_load l;
	int rc = hoststat_load_read(HOSTSTAT_PROC_LOADAVG, &l, h->err, sizeof(h->err));

	if (rc != 0)
		return rc;
	rc = metrics_samples_add(s, "load_1", "", l.avg1, "");
	rc = rc ? rc : metrics_samples_add(s, "load_5", "", l.avg5, "");
	return rc ? rc : metrics_samples_add(s, "load_15", "", l.avg15, "");
}

static int
mount_samples(const struct hoststat_mount *m, struct metrics_samples *s)
{
	const char *at = m->mount_point;
	int rc;

	rc = metrics_samples_add(s, "disk_size_bytes", at, (double)m->size_bytes, "bytes");
	rc = rc ? rc
	        : metrics_samples_add(s, "disk_used_bytes", at,
	                              (double)(m->size_bytes - m->free_bytes), "bytes");
	rc = rc ? rc
	        : metrics_samples_add(s, "disk_avail_bytes", at, (double)m->avail_bytes, "bytes");
	rc = rc ? rc
	        : metrics_samples_add(s, "disk_used_ratio", at, hoststat_mount_used_ratio(m),
	                              "ratio");
	if (rc != 0 || m->inodes == 0)
		return rc;
	rc = metrics_samples_add(s, "inodes_total", at, (double)m->inodes, "");
	rc = rc ? rc
	        : metrics_samples_add(s, "inodes_used", at, (double)(m->inodes - m->inodes_free),
	                              "");
	return rc ? rc
	          : metrics_samples_add(s, "inodes_used_ratio", at,
	                                hoststat_mount_inodes_used_ratio(m), "ratio");
}

static int
disk_collect(struct plugin_host *h, const struct metrics_opts *o, struct metrics_samples *s)
{
	struct hoststat_mounts ms = {0};
	char *text = NULL;
	int rc = hoststat_file_read(HOSTSTAT_PROC_MOUNTINFO, &text, h->err, sizeof(h->err));

	if (rc == 0)
		rc = hoststat_mounts_parse(text, o->exclude_fs, o->n_exclude_fs, o->mounts,
		                           o->n_mounts, &ms);
	if (rc != 0)
		goto out;
	hoststat_mounts_stat(&ms);
	for (size_t i = 0; rc == 0 && i < ms.n; i++) {
		if (ms.items[i].is_stat)
			rc = mount_samples(&ms.items[i], s);
		else
			h->ct->log(h->t, CT_LOG_WARNING, "%s: statvfs: %s", ms.items[i].mount_point,
			           strerror(ms.items[i].stat_errno));
	}
out:
	free(text);
	hoststat_mounts_free(&ms);
	return rc;
}

static int
netif_samples(const struct hoststat_netif *f, struct metrics_samples *s)
{
	const struct {
		const char *family;
		uint64_t value;
		const char *unit;
	} fields[] = {
	    {"net_rx_bytes", f->rx_bytes, "bytes"}, {"net_tx_bytes", f->tx_bytes, "bytes"},
	    {"net_rx_packets", f->rx_packets, ""},  {"net_tx_packets", f->tx_packets, ""},
	    {"net_rx_errors", f->rx_errors, ""},    {"net_tx_errors", f->tx_errors, ""},
	    {"net_rx_dropped", f->rx_dropped, ""},  {"net_tx_dropped", f->tx_dropped, ""},
	};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++)
		rc = metrics_samples_add(s, fields[i].family, f->name, (double)fields[i].value,
		                         fields[i].unit);
	return rc;
}

static int
net_collect(struct plugin_host *h, const struct metrics_opts *o, struct metrics_samples *s)
{
	struct hoststat_net n = {0};
	char *text = NULL;
	int rc = hoststat_file_read(HOSTSTAT_PROC_NETDEV, &text, h->err, sizeof(h->err));

	if (rc == 0)
		rc = hoststat_net_parse(text, o->exclude_interfaces, o->n_exclude_interfaces, &n);
	for (size_t i = 0; rc == 0 && i < n.n; i++)
		rc = netif_samples(&n.items[i], s);
	free(text);
	hoststat_net_free(&n);
	return rc;
}

int
metrics_host_collect(struct plugin_host *h, const struct metrics_opts *o, struct metrics_samples *s)
{
	int rc;

	h->ct->progress(h->t, -1, "sampling cpu");
	rc = cpu_collect(h, o, s);
	if (rc == 0)
		rc = mem_collect(h, s);
	if (rc == 0)
		rc = load_collect(h, s);
	if (rc == 0)
		rc = disk_collect(h, o, s);
	if (rc == 0)
		rc = net_collect(h, o, s);
	if (rc == CT_ENOMEM)
		snprintf(h->err, sizeof(h->err), "out of memory");
	return rc;
}
