/*
 * logscan — counts what a job's patterns match in its logs since the last
 * run: lines and multi-line records per pattern, the most frequent
 * messages grouped after masking what varies, thresholds per pattern, and
 * metrics.  The entry points, the option table and the report; the steps
 * live in logscan_*.c (logscan.h).
 */
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "logscan.h"

#define DEFAULT_RECORD_START                                                                       \
	"^(?:\\[?\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d|[A-Z][a-z]{2} [ \\d]\\d "                   \
	"\\d\\d:\\d\\d:\\d\\d|"                                                                    \
	"\\S+ \\S+ \\S+ \\[\\d\\d/[A-Z][a-z]{2}/\\d{4}:)"

static const struct ct_option logscan_options[] = {
    {.key = "files",
     .type = CT_OPT_PATH_LIST,
     .help = "logs to scan: paths or globs of the live files (their rotated siblings are "
             "found by name, inode and head)"},
    {.key = "patterns",
     .type = CT_OPT_STRING,
     .help = "named patterns, one per line: 'NAME: REGEX' or a bare REGEX (PCRE2) named "
             "after its text; default ERROR, CRITICAL, Exception, Failed to"},
    {.key = "exclude",
     .type = CT_OPT_STRING,
     .help = "regular expressions, one per line: a line that matches one is not counted"},
    {.key = "ignore_case",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "match patterns, exclude and record_start regardless of case"},
    {.key = "record_start",
     .type = CT_OPT_STRING,
     .default_value = DEFAULT_RECORD_START,
     .help = "a line that begins with a match of this starts a record; the lines after it "
             "that do not (a "
             "traceback) belong to it. Empty: every line is a record. Default: a timestamp "
             "at the line's start (ISO 8601, syslog, nginx/Apache)"},
    {.key = "warn_at",
     .type = CT_OPT_LIST,
     .help = "records in one run that make it a warning: N for every pattern, NAME:N for one"},
    {.key = "fail_at",
     .type = CT_OPT_LIST,
     .help = "records in one run that make it fail: N for every pattern, NAME:N for one"},
    {.key = "top",
     .type = CT_OPT_INT,
     .default_value = "10",
     .min_value = 0,
     .max_value = 1000,
     .help = "how many grouped messages the report lists, most frequent first"},
    {.key = "max_record_bytes",
     .type = CT_OPT_SIZE,
     .default_value = "64K",
     .help = "how far a record reaches back and forward from a matching line"},
    {.key = "olddir",
     .type = CT_OPT_PATH,
     .help = "also look for rotated files in this folder (logrotate's olddir); by default "
             "only beside the log"},
    {.key = "journal_unit",
     .type = CT_OPT_STRING,
     .help = "also scan this systemd unit's journal from where the last run stopped"},
    {.key = "journal_directory",
     .type = CT_OPT_PATH,
     .help = "read journal_unit from the journal files in this folder (a container's, a "
             "copy) instead of the system's journal"},
    {.key = "engine",
     .type = CT_OPT_ENUM,
     .default_value = "auto",
     .choices = "auto|hyperscan|pcre2",
     .help = "the prefilter: Hyperscan where built in and the CPU has SSSE3 (auto), or PCRE2"},
    {.key = "jit",
     .type = CT_OPT_ENUM,
     .default_value = "auto",
     .choices = "auto|off",
     .help = "PCRE2 JIT where the process may map executable memory (auto), or the "
             "interpreter always (off)"},
    {.key = "threads",
     .type = CT_OPT_INT,
     .default_value = "2",
     .min_value = 1,
     .max_value = 2,
     .help = "threads that search one large buffer"},
    {.key = NULL},
};

struct logscan_run {
	struct plugin_host h;
	struct logscan_options o;
	struct logscan_matcher m;
	struct logscan_tally tally;
	uint64_t files_scanned, files_missing, bytes_new, journal_entries;
	int is_dry_run, has_matcher;
	double seconds;
};

static int
logscan_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct logscan_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);
	int rc;

	if (r == NULL)
		return CT_ENOMEM;
	r->is_dry_run = ct->is_dry_run(t);
	rc = logscan_options_read(&r->h, &r->o);
	if (rc == 0)
		rc = logscan_matcher_new(&r->o, r->o.pats, &r->m, r->h.err, sizeof(r->h.err));
	r->has_matcher = 1;
	r->tally.max_record_bytes = r->o.max_record_bytes;
	return plugin_host_init_end(&r->h, rc);
}

static int
scan_one(struct logscan_run *r, const char *path)
{
	struct logscan_file_result res;
	struct logscan_file_params p = {
	    .m = &r->m, .tally = &r->tally, .olddir = r->o.olddir, .is_dry_run = r->is_dry_run};
	int rc = logscan_file_scan(&r->h, &p, path, &res);

	if (rc == CT_ENOENT) {
		r->files_missing++;
		r->h.ct->add_finding(r->h.t, CT_SEV_INFO, path, "no such file");
		return 0;
	}
	r->files_scanned++;
	r->bytes_new += res.bytes_new;
	if (res.rotated_from[0] != '\0')
		r->h.ct->log(r->h.t, CT_LOG_INFO, "%s was rotated: finished %s first", path,
		             res.rotated_from);
	if (res.lost_warning)
		r->h.n_warnings++;
	if (res.lost_warning)
		r->h.ct->add_finding(r->h.t, CT_SEV_WARNING, path,
		                     "rotated, and the rotated file was not found beside it: lines "
		                     "written after the last run and before the rotation were not "
		                     "scanned");
	return rc;
}

/* Non-zero for a compressed file: a glob such as *.log* matches the
 * rotated siblings too, and those are read only as a live log's rotation. */
static int
is_compressed_name(const char *path)
{
	static const char *const suffixes[] = {".gz", ".zst", ".xz", ".bz2", ".lz4"};
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && strcmp(path + n - k, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

/* Every file a `files` entry names: a glob's matches, or the path itself
 * (a log that is missing right now may have been rotated away). */
static int
scan_entry(struct logscan_run *r, const char *entry)
{
	glob_t g;
	int rc = 0;

	memset(&g, 0, sizeof(g));
	if (strpbrk(entry, "*?[") == NULL || glob(entry, GLOB_NOSORT, NULL, &g) != 0) {
		globfree(&g);
		return scan_one(r, entry);
	}
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
		if (!is_compressed_name(g.gl_pathv[i]))
			rc = scan_one(r, g.gl_pathv[i]);
	globfree(&g);
	return rc;
}

static int
scan_journal(struct logscan_run *r)
{
	struct logscan_journal_params p = {.m = &r->m,
	                                   .tally = &r->tally,
	                                   .unit = r->o.journal_unit,
	                                   .directory = r->o.journal_directory,
	                                   .is_dry_run = r->is_dry_run};

	return logscan_journal_scan(&r->h, &p, &r->journal_entries);
}

static int
logscan_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct logscan_run *r = state;
	struct timespec a, b;
	int rc = 0;

	(void)t;
	(void)ct;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (size_t i = 0; i < r->o.n_files && rc == 0; i++)
		rc = scan_entry(r, r->o.files[i]);
	if (rc == 0 && r->o.journal_unit != NULL)
		rc = scan_journal(r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	r->seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	return rc;
}

static void
report_metrics(struct logscan_run *r)
{
	const struct ct_services *ct = r->h.ct;
	char name[LOGSCAN_NAME_SIZE + 16];

	for (size_t i = 0; i < r->o.n_pats; i++) {
		snprintf(name, sizeof(name), "records_%s", r->o.pats[i].name);
		ct->add_metric(r->h.t, name, (double)r->o.pats[i].records, "");
		snprintf(name, sizeof(name), "lines_%s", r->o.pats[i].name);
		ct->add_metric(r->h.t, name, (double)r->o.pats[i].lines, "");
	}
	ct->add_metric(r->h.t, "bytes_scanned", (double)r->tally.bytes, "bytes");
	ct->add_metric(r->h.t, "files_scanned", (double)r->files_scanned, "");
	ct->add_metric(r->h.t, "messages_distinct", (double)r->tally.n_groups, "");
	ct->add_metric(r->h.t, "scan_seconds", r->seconds, "seconds");
	ct->add_metric(r->h.t, "pcre2_jit", r->m.is_jit ? 1.0 : 0.0, "");
	ct->add_metric(r->h.t, "hyperscan", r->m.hs_db != NULL ? 1.0 : 0.0, "");
	if (r->o.journal_unit != NULL)
		ct->add_metric(r->h.t, "journal_entries", (double)r->journal_entries, "");
}

/* The worst status the thresholds call for, with a finding per crossing. */
static int
report_thresholds(struct logscan_run *r)
{
	int status = CT_STATUS_OK;

	for (size_t i = 0; i < r->o.n_pats; i++) {
		const struct logscan_pattern *p = &r->o.pats[i];
		int is_fail = p->fail_at > 0 && (int64_t)p->records >= p->fail_at;
		int is_warn = p->warn_at > 0 && (int64_t)p->records >= p->warn_at;

		if (!is_fail && !is_warn)
			continue;
		r->h.ct->add_finding(
		    r->h.t, is_fail ? CT_SEV_ERROR : CT_SEV_WARNING, p->name,
		    "%" PRIu64 " record(s) matched %s in this run (%s %" PRId64 ")", p->records,
		    p->name, is_fail ? "fail_at" : "warn_at", is_fail ? p->fail_at : p->warn_at);
		if (is_fail)
			status = CT_STATUS_FAIL;
		else if (status == CT_STATUS_OK)
			status = CT_STATUS_WARN;
	}
	return status;
}

static void
mask_names(const struct logscan_run *r, uint32_t mask, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->o.n_pats && o < size; i++)
		if (mask & (1u << i))
			o += (size_t)snprintf(out + o, size - o, "%s%s", o > 0 ? "," : "",
			                      r->o.pats[i].name);
}

static void
report_groups(struct logscan_run *r)
{
	struct logscan_group **v = logscan_tally_sorted(&r->tally);
	char names[256];

	for (size_t i = 0; v != NULL && v[i] != NULL && i < (size_t)r->o.top; i++) {
		mask_names(r, v[i]->mask, names, sizeof(names));
		r->h.ct->add_finding(r->h.t, CT_SEV_INFO, v[i]->file,
		                     "%" PRIu64 " x [%s] %s\nsample: %s", v[i]->count, names,
		                     v[i]->key, v[i]->sample);
	}
	if (r->tally.other_records > 0)
		r->h.ct->add_finding(r->h.t, CT_SEV_INFO, NULL,
		                     "%" PRIu64 " more record(s) in messages past the first %d "
		                     "distinct ones",
		                     r->tally.other_records, LOGSCAN_MAX_GROUPS);
	free(v);
}

static void
counts_text(const struct logscan_run *r, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->o.n_pats && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s %" PRIu64, i > 0 ? ", " : "",
		                      r->o.pats[i].name, r->o.pats[i].records);
}

static int
logscan_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct logscan_run *r = state;
	char counts[1024];
	int status;

	report_metrics(r);
	report_groups(r);
	status = report_thresholds(r);
	if (status == CT_STATUS_OK && r->h.n_warnings > 0)
		status = CT_STATUS_WARN;
	if (r->m.engine_note[0] != '\0')
		ct->add_finding(t, CT_SEV_INFO, "matcher", "%s", r->m.engine_note);
	counts_text(r, counts, sizeof(counts));
	if (r->h.err[0] != '\0') {
		ct->set_status(t, CT_STATUS_FAIL, "%s", r->h.err);
		return CT_OK;
	}
	ct->set_status(t, status,
	               "%s%" PRIu64 " file(s), %.1f MB new%s: records %s; %zu distinct message(s)",
	               r->is_dry_run ? "dry run (offsets not saved): " : "", r->files_scanned,
	               (double)r->tally.bytes / 1e6, r->o.journal_unit != NULL ? " + journal" : "",
	               counts, r->tally.n_groups);
	return CT_OK;
}

static void
logscan_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct logscan_run *r = state;

	(void)t;
	(void)ct;
	if (r == NULL)
		return;
	logscan_tally_free(&r->tally);
	if (r->has_matcher)
		logscan_matcher_free(&r->m);
	logscan_options_free(&r->o);
	free(r);
}

CT_PLUGIN_DEFINE(.name = "logscan", .version = "1.0",
                 .summary = "counts errors in logs since the last run, rotations included",
                 .help = "Scans what is new in each log since the last run (offsets per file in "
                         "the job's state; a rotated file, compressed or not, is finished "
                         "before its successor) for named PCRE2 patterns behind a Hyperscan "
                         "or PCRE2 prefilter. Reports per pattern the matching lines (as grep "
                         "-c counts them) and records (a line starting with record_start and "
                         "its continuation lines, such as a traceback), the most frequent "
                         "messages after masking numbers, ids, hex, addresses and paths, and "
                         "warns or fails past warn_at / fail_at. A dry run scans and reports "
                         "but keeps the offsets where they were. See docs/logscan.md.",
                 .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_STATE_ONLY, .options = logscan_options,
                 .init = logscan_init, .run = logscan_run, .report = logscan_report,
                 .fini = logscan_fini);
