/*
 * logscan_compile.c — turns the job's patterns into a matcher: each named
 * pattern, the exclude patterns and record_start compiled by PCRE2 (JIT
 * where the process may map executable memory, the interpreter where it
 * may not), and the prefilter that finds candidate lines: a Hyperscan
 * database where Hyperscan was built in and the CPU runs it, else the
 * PCRE2 alternation of every pattern.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "logscan.h"

#ifdef HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

struct compile_ctx {
	uint32_t flags; /* PCRE2 compile options */
	int want_jit;
	int is_jit;       /* cleared by the first JIT refusal */
	char jit_why[96]; /* PCRE2's words for that refusal */
};

static int
compile_one(struct compile_ctx *c, const char *what, const char *regex, pcre2_code **out, char *err,
            size_t err_size)
{
	int code = 0, jrc;
	PCRE2_SIZE at = 0;
	PCRE2_UCHAR words[160];

	*out = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, c->flags, &code, &at, NULL);
	if (*out == NULL) {
		pcre2_get_error_message(code, words, sizeof(words));
		snprintf(err, err_size, "%s: bad regular expression '%s' at offset %zu: %s", what,
		         regex, (size_t)at, (char *)words);
		return CT_EINVAL;
	}
	if (!c->want_jit || !c->is_jit)
		return 0;
	jrc = pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	if (jrc != 0) {
		/* Typically PCRE2_ERROR_NOMEMORY: the kernel refused a writable
		 * and executable mapping.  The interpreter needs none. */
		pcre2_get_error_message(jrc, words, sizeof(words));
		snprintf(c->jit_why, sizeof(c->jit_why), "%.80s", (char *)words);
		c->is_jit = 0;
	}
	return 0;
}

/* The alternation of every pattern, each in a group of its own. */
static char *
alternation_new(const struct logscan_pattern *pats, size_t n)
{
	size_t len = 1, o = 0;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(pats[i].regex) + 6;
	s = malloc(len);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, len - o, "%s(?:%s)", i > 0 ? "|" : "", pats[i].regex);
	return s;
}

#ifdef HAVE_HYPERSCAN
/* Non-zero when `regex` has no character PCRE2 treats specially: its
 * matches are the places where its text occurs, whoever looks. */
static int
is_literal(const char *regex)
{
	return regex[strcspn(regex, "\\^$.|?*+()[]{}")] == '\0';
}

static int
all_literal(const struct logscan_options *o)
{
	for (size_t i = 0; i < o->n_pats; i++)
		if (!is_literal(o->pats[i].regex))
			return 0;
	return 1;
}

/* Every pattern in one Hyperscan database.  HS_FLAG_PREFILTER lets it
 * accept what it cannot match exactly (back references, lookaround) by
 * matching a superset; PCRE2 confirms each candidate line.  When every
 * pattern is a literal, Hyperscan's matches are exact and each line's
 * patterns are known without PCRE2 (the default patterns are literals). */
static int
hyperscan_new(const struct logscan_options *o, struct logscan_matcher *m, char *why,
              size_t why_size)
{
	const char *exprs[LOGSCAN_MAX_PATTERNS];
	unsigned flags[LOGSCAN_MAX_PATTERNS], ids[LOGSCAN_MAX_PATTERNS];
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;
	hs_scratch_t *s0 = NULL, *s1 = NULL;

	if (hs_valid_platform() != HS_SUCCESS) {
		snprintf(why, why_size, "this CPU lacks SSSE3, which Hyperscan needs");
		return CT_EUNSUPPORTED;
	}
	m->is_hs_exact = all_literal(o);
	for (size_t i = 0; i < o->n_pats; i++) {
		exprs[i] = o->pats[i].regex;
		ids[i] = (unsigned)i;
		flags[i] = (m->is_hs_exact ? 0u : HS_FLAG_PREFILTER) | HS_FLAG_MULTILINE |
		           (o->ignore_case ? HS_FLAG_CASELESS : 0u);
	}
	if (hs_compile_multi(exprs, flags, ids, (unsigned)o->n_pats, HS_MODE_BLOCK, NULL, &db,
	                     &cerr) != HS_SUCCESS) {
		snprintf(why, why_size, "Hyperscan refused pattern %d: %s", cerr->expression,
		         cerr->message);
		hs_free_compile_error(cerr);
		return CT_EINVAL;
	}
	if (hs_alloc_scratch(db, &s0) != HS_SUCCESS || hs_clone_scratch(s0, &s1) != HS_SUCCESS) {
		hs_free_scratch(s0);
		hs_free_database(db);
		snprintf(why, why_size, "Hyperscan could not allocate its scratch space");
		return CT_ENOMEM;
	}
	m->hs_db = db;
	m->hs_scratch[0] = s0;
	m->hs_scratch[1] = s1;
	return 0;
}
#else
static int
hyperscan_new(const struct logscan_options *o, struct logscan_matcher *m, char *why,
              size_t why_size)
{
	(void)o;
	(void)m;
	snprintf(why, why_size, "this build has no Hyperscan");
	return CT_EUNSUPPORTED;
}
#endif

static int
compile_patterns(struct compile_ctx *c, const struct logscan_options *o, struct logscan_matcher *m,
                 char *err, size_t err_size)
{
	char what[96];
	int rc = 0;

	for (size_t i = 0; i < m->n_pats && rc == 0; i++) {
		snprintf(what, sizeof(what), "patterns: %s", m->pats[i].name);
		rc = compile_one(c, what, m->pats[i].regex, &m->pats[i].code, err, err_size);
	}
	if (o->n_exclude > 0 && rc == 0) {
		m->exclude = calloc(o->n_exclude, sizeof(*m->exclude));
		if (m->exclude == NULL)
			return CT_ENOMEM;
	}
	for (size_t i = 0; i < o->n_exclude && rc == 0; i++) {
		rc = compile_one(c, "exclude", o->exclude[i], &m->exclude[i], err, err_size);
		m->n_exclude = i + 1;
	}
	/* Anchored: it is tried only at a line's start, with the rest of the
	 * buffer as its subject, so the line's end need not be found first. */
	c->flags |= PCRE2_ANCHORED;
	if (rc == 0 && o->record_start != NULL && o->record_start[0] != '\0')
		rc = compile_one(c, "record_start", o->record_start, &m->record_start, err,
		                 err_size);
	c->flags &= ~(uint32_t)PCRE2_ANCHORED;
	return rc;
}

static int
prefilter_new(struct compile_ctx *c, const struct logscan_options *o, struct logscan_matcher *m,
              char *err, size_t err_size)
{
	char why[256] = "";
	char *alt = NULL;
	int rc = CT_EUNSUPPORTED;

	if (o->engine != LOGSCAN_ENGINE_PCRE2)
		rc = hyperscan_new(o, m, why, sizeof(why));
	if (rc != 0 && o->engine == LOGSCAN_ENGINE_HYPERSCAN) {
		snprintf(err, err_size,
		         "engine = hyperscan: %s\nhint: engine = auto falls back to PCRE2", why);
		return CT_EUNSUPPORTED;
	}
	alt = alternation_new(m->pats, m->n_pats);
	if (alt == NULL)
		return CT_ENOMEM;
	rc = compile_one(c, "patterns", alt, &m->prefilter, err, err_size);
	free(alt);
	snprintf(m->engine_note, sizeof(m->engine_note), "%s prefilter%s%s%s, PCRE2 %s%s%s",
	         m->hs_db != NULL ? "Hyperscan" : "PCRE2", why[0] != '\0' ? " (" : "", why,
	         why[0] != '\0' ? ")" : "", c->is_jit ? "JIT" : "interpreter",
	         c->is_jit || !c->want_jit ? "" : ": JIT refused: ", c->is_jit ? "" : c->jit_why);
	return rc;
}

int
logscan_matcher_new(const struct logscan_options *o, struct logscan_pattern *pats,
                    struct logscan_matcher *m, char *err, size_t err_size)
{
	struct compile_ctx c = {.flags = PCRE2_MULTILINE | (o->ignore_case ? PCRE2_CASELESS : 0u),
	                        .want_jit = o->want_jit,
	                        .is_jit = o->want_jit};
	int rc;

	memset(m, 0, sizeof(*m));
	m->pats = pats;
	m->n_pats = o->n_pats;
	m->threads = (int)o->threads;
	m->max_record_bytes = o->max_record_bytes;
	rc = compile_patterns(&c, o, m, err, err_size);
	if (rc == 0)
		rc = prefilter_new(&c, o, m, err, err_size);
	m->is_jit = c.is_jit;
	return rc;
}

void
logscan_matcher_free(struct logscan_matcher *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_pats; i++) {
		pcre2_code_free(m->pats[i].code);
		m->pats[i].code = NULL;
	}
	for (size_t i = 0; i < m->n_exclude; i++)
		pcre2_code_free(m->exclude[i]);
	free(m->exclude);
	pcre2_code_free(m->record_start);
	pcre2_code_free(m->prefilter);
#ifdef HAVE_HYPERSCAN
	hs_free_scratch(m->hs_scratch[0]);
	hs_free_scratch(m->hs_scratch[1]);
	hs_free_database(m->hs_db);
#endif
	memset(m, 0, sizeof(*m));
}
