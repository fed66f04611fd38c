/*
 * hoststat.h — the host's figures as the kernel gives them: CPU time
 * (/proc/stat), memory and swap (/proc/meminfo), load (/proc/loadavg),
 * mounted file systems (/proc/self/mountinfo, then statvfs) and network
 * interfaces (/proc/net/dev).  Shared by `metrics`, which reports them, and
 * `health`, which judges them (libcthoststat).
 *
 * Every reader comes in two halves: a parser of the file's text, pure and
 * tested on sample files (tests/plugins/test_hoststat.c), and a reader that
 * opens the real file.  Paths are parameters so that tests can point them
 * at samples.  Figures are the kernel's own units turned into bytes and
 * seconds; nothing is averaged or smoothed here.
 */
#ifndef CARETAKER_PLUGINS_HOSTSTAT_H
#define CARETAKER_PLUGINS_HOSTSTAT_H

#include <stddef.h>
#include <stdint.h>

#define HOSTSTAT_PROC_STAT "/proc/stat"
#define HOSTSTAT_PROC_MEMINFO "/proc/meminfo"
#define HOSTSTAT_PROC_LOADAVG "/proc/loadavg"
#define HOSTSTAT_PROC_MOUNTINFO "/proc/self/mountinfo"
#define HOSTSTAT_PROC_NETDEV "/proc/net/dev"

/* File systems that hold no data of their own (kernel views, memory-backed
 * scratch, read-only images that are always full): the default of the
 * plugins' `exclude_fs` option (a list, as the host splits it). */
#define HOSTSTAT_PSEUDO_FS                                                                         \
	"autofs, binfmt_misc, bpf, cgroup, cgroup2, configfs, debugfs, devpts, devtmpfs, "         \
	"efivarfs, fuse.gvfsd-fuse, fusectl, hugetlbfs, mqueue, nsfs, proc, pstore, ramfs, "       \
	"rpc_pipefs, securityfs, squashfs, sysfs, tmpfs, tracefs"

/*
 * Reads a whole file of unknown size (the /proc files report size 0) into
 * a NUL-terminated buffer.  Returns 0 and sets *text (free it), or CT_EIO /
 * CT_ENOMEM with the path in `err`.
 */
int hoststat_file_read(const char *path, char **text, char *err, size_t err_size);

/* ---- CPU: the "cpu" line of /proc/stat, in clock ticks ---- */

struct hoststat_cpu {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
	int n_cpus; /* the "cpuN" lines */
};

/* Returns 0, or CT_EINVAL when `text` has no aggregate "cpu" line. */
int hoststat_cpu_parse(const char *text, struct hoststat_cpu *c);

/* Shares of the time between two samples: busy (everything but idle and
 * iowait), iowait and steal, each 0 to 1; all 0 when no tick passed. */
struct hoststat_cpu_share {
	double busy, iowait, steal;
};
void hoststat_cpu_share(const struct hoststat_cpu *a, const struct hoststat_cpu *b,
                        struct hoststat_cpu_share *s);

/* ---- memory and swap, in bytes ---- */

struct hoststat_mem {
	uint64_t total, available, free, buffers, cached, swap_total, swap_free;
};

/* Returns 0, or CT_EINVAL when MemTotal is missing.  MemAvailable (Linux
 * 3.14) falls back to free + buffers + cached. */
int hoststat_mem_parse(const char *text, struct hoststat_mem *m);

/* The share of memory in use, 1 - available / total (free's "used"
 * includes neither reclaimable cache nor buffers). */
double hoststat_mem_used_ratio(const struct hoststat_mem *m);

/* ---- load ---- */

struct hoststat_load {
	double avg1, avg5, avg15;
	int64_t running, total; /* scheduling entities */
};

int hoststat_load_parse(const char *text, struct hoststat_load *l);

/* ---- mounted file systems ---- */

struct hoststat_mount {
	char *mount_point; /* unescaped (\040 is a space) */
	char *fstype;
	char *source;
	unsigned dev_major, dev_minor;
	/* From statvfs (hoststat_mounts_stat); is_stat 0 until then. */
	int is_stat;
	int stat_errno; /* statvfs failed with this, figures unset */
	uint64_t size_bytes, free_bytes, avail_bytes;
	uint64_t inodes, inodes_free; /* inodes 0: the file system has no fixed count */
};

struct hoststat_mounts {
	struct hoststat_mount *items;
	size_t n;
};

/*
 * Parses mountinfo: every mount whose file system type is not in
 * `exclude_fs` (exact names), once per device: the first mount of a
 * device wins, so bind mounts and a file system mounted twice count once.
 * With `only` set (n_only > 0), only those mount points.  Returns 0 and
 * fills *out (release with hoststat_mounts_free), CT_EINVAL for a line
 * that is not mountinfo's, or CT_ENOMEM.
 */
int hoststat_mounts_parse(const char *text, const char *const *exclude_fs, size_t n_exclude,
                          const char *const *only, size_t n_only, struct hoststat_mounts *out);

/* statvfs of every mount; one that fails keeps its errno.  Used bytes
 * are size - free, as df counts them; the share used is of what users can
 * have, used / (used + avail), as df's Use%. */
void hoststat_mounts_stat(struct hoststat_mounts *ms);
double hoststat_mount_used_ratio(const struct hoststat_mount *m);
double hoststat_mount_inodes_used_ratio(const struct hoststat_mount *m);

/* Accepts NULL and a zeroed set. */
void hoststat_mounts_free(struct hoststat_mounts *ms);

/* ---- network interfaces ---- */

struct hoststat_netif {
	char name[32];
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

struct hoststat_net {
	struct hoststat_netif *items;
	size_t n;
};

/* Parses /proc/net/dev, leaving out the interfaces named in `exclude`.
 * Returns 0 and fills *out (hoststat_net_free), CT_EINVAL or CT_ENOMEM. */
int hoststat_net_parse(const char *text, const char *const *exclude, size_t n_exclude,
                       struct hoststat_net *out);
void hoststat_net_free(struct hoststat_net *n);

/* ---- readers of the real files ---- */

int hoststat_cpu_read(const char *path, struct hoststat_cpu *c, char *err, size_t err_size);
int hoststat_mem_read(const char *path, struct hoststat_mem *m, char *err, size_t err_size);
int hoststat_load_read(const char *path, struct hoststat_load *l, char *err, size_t err_size);

#endif
