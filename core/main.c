/*
 * main.c — command-line parsing and dispatch.  Nothing else lives here.
 */
#include "autoconf.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "inspect.h"
#include "helper.h"
#include "log.h"
#include "options.h"
#include "proc.h"
#include "report.h"
#include "runner.h"
#include "next.h"
#include "status.h"
#include "timefmt.h"
#include "timers.h"

#ifndef CT_CONFDIR
#define CT_CONFDIR "/etc/caretaker"
#endif

struct cli {
	const char *config_path;
	int verbosity;
	int argc;
	char **argv;
};

static const char usage_text[] =
    "usage: caretaker [-c FILE] [-v|-q] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  list                         the configured jobs\n"
    "  plugins                      plugins found in plugin_path, and refused ones\n"
    "  check                        validate every file and job; exit 78 on errors\n"
    "  describe PLUGIN              a plugin's options\n"
    "  run JOB...                   run jobs in the order given, each with its\n"
    "                               `requires` first; on a terminal a live line\n"
    "                               shows each one's progress\n"
    "  run --all [--dry-run]        run every enabled job\n"
    "  run --due [--base-time TIME] run every enabled job whose schedule elapsed\n"
    "                               since its last run (for one frequent timer)\n"
    "  next [JOB] [-n N] [--base-time TIME]\n"
    "                               upcoming elapses, local and UTC\n"
    "  status                       OK/WARN/FAIL/OVERDUE/UNRECORDED per job, then\n"
    "                               the jobs running now and their progress; exit 1\n"
    "                               if any job is failing, overdue or unrecorded\n"
    "  report [JOB] [--format text|json|prometheus] [-n N] [--since DURATION]\n"
    "                               the last runs, from history\n"
    "  timers [--output DIR] [--check] [--prune] [--due-timer] [--exec PATH]\n"
    "                               systemd .service/.timer units, a pair per job\n"
    "  help                         this text and the installed helper commands\n"
    "  NAME [ARGS]                  any other NAME runs the helper command\n"
    "                               caretaker-NAME (`caretaker help` lists them);\n"
    "                               the backup plugin ships these two:\n"
    "  keygen --public FILE --secret FILE\n"
    "                               a key pair for encrypted backups (secret: 0600)\n"
    "  decrypt --key SECRET_FILE [--output FILE] BACKUP_FILE\n"
    "                               the backup, still compressed, to stdout or FILE:\n"
    "                               decrypt --key k db.sql.gz.enc | gunzip | psql\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   main configuration (default " CT_CONFDIR "/caretaker.ini,\n"
    "                      or $CARETAKER_CONFIG); conf.d/*.ini beside it is read too\n"
    "  -v, --verbose       more log lines (repeat for debug)\n"
    "  -q, --quiet         only errors\n"
    "  -h, --help          this text (also after a command)\n"
    "      --version       the version\n"
    "\n"
    "Exit status: 0 all jobs ok or warned, 1 a job failed, 2 usage error,\n"
    "75 skipped because the job is already running, 78 configuration error.\n"
    "See caretaker(8) and caretaker.ini(5).\n";

static int
usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "caretaker: %s%s%s\nTry 'caretaker --help'.\n", what, arg ? ": " : "",
	        arg ? arg : "");
	return EXIT_USAGE;
}

static int
cli_parse_global(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	int c;

	cli->config_path = getenv("CARETAKER_CONFIG");
	if (cli->config_path == NULL || cli->config_path[0] == '\0')
		cli->config_path = CT_CONFDIR "/caretaker.ini";
	while ((c = getopt_long(argc, argv, "+c:vqh", longopts, NULL)) != -1) {
		if (c == 'c')
			cli->config_path = optarg;
		else if (c == 'v')
			cli->verbosity++;
		else if (c == 'q')
			cli->verbosity = -1;
		else if (c == 'h')
			return fputs(usage_text, stdout) >= 0 ? -1 : EXIT_USAGE;
		else if (c == 'V')
			return printf("caretaker %s (plugin ABI %d.%d)\n", PACKAGE_VERSION,
			              CT_ABI_MAJOR, CT_ABI_MINOR) > 0
			           ? -1
			           : EXIT_USAGE;
		else
			return usage_error("bad option", NULL);
	}
	if (optind >= argc)
		return usage_error("no command given", NULL);
	cli->argc = argc - optind;
	cli->argv = argv + optind;
	return 0;
}

/* The jobs' errors and, unless -q, the warnings: a job that cannot run
 * (a schedule that never elapses again) is named by every command that
 * reads the configuration, not only `check`. */
static void
print_job_diags(const struct cli *cli, const struct config *cfg)
{
	struct diag_list shown = {0};

	for (size_t i = 0; i < cfg->diags.n; i++) {
		const struct diag *d = &cfg->diags.items[i];

		if (d->severity == DIAG_ERROR || cli->verbosity >= 0)
			diag_add(&shown, d->severity, d->file, d->line, d->job, d->hint, "%s",
			         d->msg);
	}
	diag_print(&shown, stderr);
	diag_list_clear(&shown);
}

/* How a command wants the configuration loaded. */
struct load_scope {
	int is_printing_diags;   /* check, timers: the command prints them itself */
	int is_checking_ends;    /* follow schedules to their end (see config.h) */
	const char *const *jobs; /* ... of these jobs only; NULL: of every job */
	size_t n_jobs;
};

/* Load the configuration.  Unless the command prints every diagnostic
 * itself, they are printed here, and after global errors NULL comes back. */
static struct config *
cli_load_config(const struct cli *cli, const struct load_scope *scope)
{
	struct config *cfg = NULL;
	int rc = config_load(cli->config_path, &cfg);

	if (rc == 0 && scope->is_checking_ends)
		config_check_schedule_ends(cfg, scope->jobs, scope->jobs ? scope->n_jobs : 0);
	if (scope->is_printing_diags)
		return cfg;
	if (rc == 0) {
		print_job_diags(cli, cfg);
		return cfg;
	}
	diag_print(&cfg->diags, stderr);
	config_free(cfg);
	return NULL;
}

static int
cmd_run(struct cli *cli)
{
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"due", no_argument, NULL, 'd'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"base-time", required_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	struct runner_options opts = {0};
	struct load_scope scope = {.is_checking_ends = 1};
	struct config *cfg;
	int c, rc;

	optind = 0; /* glibc: 0 resets getopt fully after the global parse */
	while ((c = getopt_long(cli->argc, cli->argv, "", longopts, NULL)) != -1) {
		if (c == 'a')
			opts.is_all = 1;
		else if (c == 'd')
			opts.is_due = 1;
		else if (c == 'n')
			opts.is_dry_run = 1;
		else if (c == 'b' && timefmt_parse(optarg, &opts.now_us) == 0)
			continue;
		else
			return usage_error("run: bad option or value", optarg);
	}
	if (!opts.is_all && !opts.is_due && optind >= cli->argc)
		return usage_error("run: name a job, or use --all or --due", NULL);
	if (opts.is_all + opts.is_due > 1 || ((opts.is_all || opts.is_due) && optind < cli->argc))
		return usage_error("run: give job names, --all or --due, not several", NULL);
	opts.is_quiet = cli->verbosity < 0;
	scope.jobs = (const char *const *)cli->argv + optind;
	scope.n_jobs = (size_t)(cli->argc - optind);
	if (scope.n_jobs == 0)
		scope.jobs = NULL;
	cfg = cli_load_config(cli, &scope);
	if (cfg == NULL)
		return EXIT_CONFIG;
	rc = runner_run(cfg, (const char *const *)cli->argv + optind, (size_t)(cli->argc - optind),
	                &opts);
	config_free(cfg);
	return rc;
}

static int
parse_report_args(struct cli *cli, struct report_options *opts)
{
	static const struct option longopts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"since", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	char err[256];
	int64_t n = 0, ms = 0;
	int c;

	optind = 0; /* glibc: 0 resets getopt fully after the global parse */
	while ((c = getopt_long(cli->argc, cli->argv, "n:", longopts, NULL)) != -1) {
		if (c == 'f' && strcmp(optarg, "json") == 0)
			opts->format = REPORT_JSON;
		else if (c == 'f' && strcmp(optarg, "text") == 0)
			opts->format = REPORT_TEXT;
		else if (c == 'f' && strcmp(optarg, "prometheus") == 0)
			opts->format = REPORT_PROMETHEUS;
		else if (c == 'n' && value_parse_int(optarg, &n, err, sizeof(err)) == 0 && n > 0)
			opts->max_runs = (size_t)n;
		else if (c == 's' && value_parse_duration_ms(optarg, &ms, err, sizeof(err)) == 0)
			opts->since_us = proc_wall_us() - ms * 1000;
		else
			return usage_error("report: bad option or value", optarg);
	}
	if (optind < cli->argc)
		opts->job = cli->argv[optind];
	return 0;
}

static int
cmd_report(struct cli *cli)
{
	struct report_options opts = {0};
	struct config *cfg;
	int rc = parse_report_args(cli, &opts);

	if (rc != 0)
		return rc;
	cfg = cli_load_config(cli, &(struct load_scope){0});
	if (cfg == NULL)
		return EXIT_CONFIG;
	rc = report_show(cfg, &opts);
	config_free(cfg);
	return rc;
}

static int
cmd_next(struct cli *cli)
{
	static const struct option longopts[] = {
	    {"base-time", required_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	struct next_options opts = {0};
	struct config *cfg;
	char err[64];
	int64_t n = 0;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(cli->argc, cli->argv, "n:", longopts, NULL)) != -1) {
		if (c == 'n' && value_parse_int(optarg, &n, err, sizeof(err)) == 0 && n > 0 &&
		    n <= 10000)
			opts.count = (size_t)n;
		else if (c == 'b' && timefmt_parse(optarg, &opts.base_us) == 0)
			continue;
		else
			return usage_error("next: bad option or value", optarg);
	}
	if (optind < cli->argc)
		opts.job = cli->argv[optind];
	cfg = cli_load_config(cli, &(struct load_scope){.is_checking_ends = 1,
	                                                .jobs = opts.job ? &opts.job : NULL,
	                                                .n_jobs = 1});
	if (cfg == NULL)
		return EXIT_CONFIG;
	rc = next_show(cfg, &opts);
	config_free(cfg);
	return rc;
}

static int
cmd_status(struct cli *cli)
{
	struct config *cfg;
	int rc;

	if (cli->argc != 1)
		return usage_error("status takes no arguments", NULL);
	cfg = cli_load_config(cli, &(struct load_scope){.is_checking_ends = 1});
	if (cfg == NULL)
		return EXIT_CONFIG;
	rc = status_show(cfg, proc_wall_us());
	config_free(cfg);
	return rc;
}

static int
parse_timers_args(struct cli *cli, struct timers_options *opts)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'}, {"check", no_argument, NULL, 'k'},
	    {"prune", no_argument, NULL, 'p'},        {"due-timer", no_argument, NULL, 'd'},
	    {"exec", required_argument, NULL, 'e'},   {NULL, 0, NULL, 0},
	};
	int c;

	optind = 0; /* glibc: 0 resets getopt fully after the global parse */
	while ((c = getopt_long(cli->argc, cli->argv, "", longopts, NULL)) != -1) {
		if (c == 'o')
			opts->output_dir = optarg;
		else if (c == 'k')
			opts->is_check = 1;
		else if (c == 'p')
			opts->is_pruning = 1;
		else if (c == 'd')
			opts->is_due_timer = 1;
		else if (c == 'e' && optarg[0] == '/')
			opts->exec_path = optarg;
		else if (c == 'e')
			return usage_error("timers: --exec needs an absolute path", optarg);
		else
			return usage_error("timers: bad option", NULL);
	}
	if (optind < cli->argc)
		return usage_error("timers takes no job names", cli->argv[optind]);
	if (opts->is_check && opts->is_pruning)
		return usage_error("timers: --check writes nothing; drop --prune", NULL);
	opts->is_quiet = cli->verbosity < 0;
	return 0;
}

static int
cmd_timers(struct cli *cli)
{
	struct timers_options opts = {0};
	struct config *cfg;
	int rc = parse_timers_args(cli, &opts);

	if (rc != 0)
		return rc;
	cfg = cli_load_config(cli,
	                      &(struct load_scope){.is_printing_diags = 1, .is_checking_ends = 1});
	rc = timers_generate(cfg, &opts);
	config_free(cfg);
	return rc;
}

/* list, plugins, check and describe: load the configuration, then one
 * inspect_* call.  `check` loads even a broken configuration and prints
 * every problem itself. */
static int
cmd_inspect(struct cli *cli, int n_args, const struct load_scope *scope,
            int (*inspect)(struct config *cfg, const struct cli *cli))
{
	struct config *cfg;
	int rc;

	if (cli->argc != n_args + 1)
		return usage_error(n_args == 0 ? "this command takes no arguments"
		                               : "describe: name one plugin",
		                   n_args == 0 ? cli->argv[0] : NULL);
	cfg = cli_load_config(cli, scope);
	if (cfg == NULL)
		return EXIT_CONFIG;
	rc = inspect(cfg, cli);
	config_free(cfg);
	return rc;
}

static int
inspect_list_cb(struct config *cfg, const struct cli *cli)
{
	(void)cli;
	return inspect_list(cfg);
}

static int
inspect_plugins_cb(struct config *cfg, const struct cli *cli)
{
	(void)cli;
	return inspect_plugins(cfg);
}

static int
inspect_describe_cb(struct config *cfg, const struct cli *cli)
{
	return inspect_describe(cfg, cli->argv[1]);
}

static int
inspect_check_cb(struct config *cfg, const struct cli *cli)
{
	return inspect_check(cfg, cli->verbosity < 0);
}

static int
cmd_list(struct cli *cli)
{
	return cmd_inspect(cli, 0, &(struct load_scope){.is_checking_ends = 1}, inspect_list_cb);
}

static int
cmd_plugins(struct cli *cli)
{
	return cmd_inspect(cli, 0, &(struct load_scope){0}, inspect_plugins_cb);
}

static int
cmd_describe(struct cli *cli)
{
	return cmd_inspect(cli, 1, &(struct load_scope){0}, inspect_describe_cb);
}

static int
cmd_check(struct cli *cli)
{
	return cmd_inspect(cli, 0,
	                   &(struct load_scope){.is_printing_diags = 1, .is_checking_ends = 1},
	                   inspect_check_cb);
}

static int
cmd_help(struct cli *cli)
{
	(void)cli;
	fputs(usage_text, stdout);
	fputs("\nHelper commands installed (caretaker NAME runs caretaker-NAME):\n", stdout);
	if (helper_list(stdout) == 0)
		fputs("  (none)\n", stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_JOB_FAILED;
}

static int
cmd_helper(struct cli *cli)
{
	struct helper_context ctx = {cli->config_path, cli->verbosity};

	return helper_exec(&ctx, cli->argc, cli->argv);
}

/* The built-in commands; any other name is a helper command. */
static const struct command {
	const char *name;
	int (*run)(struct cli *cli);
} commands[] = {
    {"run", cmd_run},         {"report", cmd_report}, {"next", cmd_next},
    {"status", cmd_status},   {"timers", cmd_timers}, {"list", cmd_list},
    {"plugins", cmd_plugins}, {"check", cmd_check},   {"describe", cmd_describe},
    {"help", cmd_help},
};

/* `caretaker COMMAND --help` (or -h) anywhere before a `--` prints the
 * usage, as the global --help does: an operator's first guess. */
static int
cli_wants_help(const struct cli *cli)
{
	for (int i = 1; i < cli->argc; i++) {
		if (strcmp(cli->argv[i], "--") == 0)
			return 0;
		if (strcmp(cli->argv[i], "--help") == 0 || strcmp(cli->argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli cli = {0};
	int rc = cli_parse_global(&cli, argc, argv);

	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	/* A file-size limit (ulimit -f, LimitFSIZE=) must fail a write with
	 * EFBIG, which is reported and leaves no partial record, rather than
	 * kill caretaker half-way through one.  Jobs get the default back. */
	signal(SIGXFSZ, SIG_IGN);
	log_init(cli.verbosity < 0    ? LOG_LEVEL_ERR
	         : cli.verbosity == 0 ? LOG_LEVEL_NOTICE
	         : cli.verbosity == 1 ? LOG_LEVEL_INFO
	                              : LOG_LEVEL_DEBUG);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cli.argv[0], commands[i].name) == 0)
			return cli_wants_help(&cli) ? cmd_help(&cli) : commands[i].run(&cli);
	return cmd_helper(&cli);
}
