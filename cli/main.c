/*
 * castiron's entry point: one option parser for the global options
 * (accepted anywhere before "--", so `castiron inventory list --format
 * json` works) and every command's, dispatch through the area tables,
 * and --help generated from those same tables.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/progress.h"
#include "lib/xmalloc.h"

static const struct area *const areas[] = {
	&area_config,
	&area_inventory,
	&area_image,
	&area_provision,
	&area_bmc,
	&area_boot,
	&area_bgp,
	NULL
};

static const struct cmd	*current_cmd;
static const struct area *current_area;

/* The global options; their index is what global_take() acts on. */
enum { G_CONFIG, G_FORMAT, G_VERBOSE, G_QUIET, G_VERSION, G_HELP };
static const struct cmd_opt global_opts[] = {
	[G_CONFIG] = { "config", "FILE", "configuration (default "
	    "$CASTIRON_CONFIG, else " CONFIG_DEFAULT_PATH ")", 'c' },
	[G_FORMAT] = { "format", "FORMAT", "table (default), json or csv" },
	[G_VERBOSE] = { "verbose", NULL, "more detail (repeat for debug)",
	    'v' },
	[G_QUIET] = { "quiet", NULL, "errors only", 'q' },
	[G_VERSION] = { "version", NULL, "print the version" },
	[G_HELP] = { "help", NULL, NULL, 'h' },
	{ NULL }
};

int
cli_exit(enum err_code code)
{
	switch (code) {
	case ERR_OK:
		return EXIT_OK;
	case ERR_FAIL:
	case ERR_TIMEOUT:
	case ERR_AUTH:
	case ERR_TRUST:
		return EXIT_FAIL;
	case ERR_INVAL:
	case ERR_NOENT:
	case ERR_WRONGSTATE:
	case ERR_EXISTS:
		return EXIT_USAGE;
	}
	return EXIT_FAIL;
}

int
cli_fail(const struct err *e)
{
	if (e->code != ERR_OK)
		log_warnx("%s", e->msg);
	return cli_exit(e->code);
}

static void
usage_main(FILE *f)
{
	const struct area *const *a;
	const struct cmd_opt	*o;
	char			 left[64];
	int			 n;

	fprintf(f, "usage: castiron [-c FILE] [--format table|json|csv] [-v|-q] "
	    "AREA VERB [ARGS]\n       castiron --version | --help | AREA --help\n\n"
	    "areas:\n");
	for (a = areas; *a; a++)
		fprintf(f, "  %-12s %s\n", (*a)->name, (*a)->summary);
	fprintf(f, "\nglobal options:\n");
	for (o = global_opts; o->name; o++) {
		if (o->help == NULL)
			continue;
		n = o->letter ? snprintf(left, sizeof(left), "-%c, ",
		    o->letter) : 0;
		snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s",
		    o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-20s%s\n", left, o->help);
	}
}

static void
usage_cmd_line(FILE *f, const struct area *a, const struct cmd *c)
{
	const struct cmd_opt	*o;

	fprintf(f, "castiron %s", a->name);
	if (c->name)
		fprintf(f, " %s", c->name);
	if (c->usage && *c->usage)
		fprintf(f, " %s", c->usage);
	for (o = c->opts; o && o->name; o++)
		fprintf(f, o->arg ? " [--%s %s]" : " [--%s]", o->name,
		    o->arg ? o->arg : "");
	fputc('\n', f);
}

static void
usage_area(FILE *f, const struct area *a)
{
	const struct cmd	*c;

	fprintf(f, "castiron %s: %s\n\nusage:\n", a->name, a->summary);
	for (c = a->cmds; c->fn; c++) {
		fputs("  ", f);
		usage_cmd_line(f, a, c);
		fprintf(f, "      %s\n", c->summary);
	}
}

static void
usage_cmd(FILE *f, const struct area *a, const struct cmd *c)
{
	const struct cmd_opt	*o;

	fputs("usage: ", f);
	usage_cmd_line(f, a, c);
	fprintf(f, "\n%s\n", c->summary);
	if (c->opts && c->opts->name) {
		fputs("\noptions:\n", f);
		for (o = c->opts; o->name; o++) {
			char left[64];
			snprintf(left, sizeof(left), "--%s%s%s", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
			fprintf(f, "  %-24s %s\n", left, o->help);
		}
	}
}

void
cmd_warnx(const char *fmt, ...)
{
	char	 who[64];
	va_list	 ap;

	if (current_area != NULL)
		snprintf(who, sizeof(who), "%s%s%s", current_area->name,
		    current_cmd && current_cmd->name ? " " : "",
		    current_cmd && current_cmd->name ? current_cmd->name : "");
	va_start(ap, fmt);
	log_vwarnx_as(current_area != NULL ? who : NULL, fmt, ap);
	va_end(ap);
}

int
cmd_usage_error(const struct args *args, const char *fmt, ...)
{
	struct err	 e;
	va_list		 ap;

	(void)args;
	va_start(ap, fmt);
	err_vset(&e, ERR_INVAL, fmt, ap);
	va_end(ap);
	cmd_warnx("%s (see --help)", e.msg);
	return cli_exit(e.code);
}

/* The option of opts named by the len bytes at name, or -1. */
static int
opt_index(const struct cmd_opt *opts, const char *name, size_t len)
{
	int	 i;

	for (i = 0; opts && opts[i].name; i++)
		if (strlen(opts[i].name) == len &&
		    memcmp(opts[i].name, name, len) == 0)
			return i;
	return -1;
}

const char *
args_get(const struct args *a, const char *name)
{
	int	 i = opt_index(a->cmd->opts, name, strlen(name));

	if (i < 0)
		fatalx("internal: no option --%s for this command", name);
	return a->set[i] ? a->val[i] : NULL;
}

int
args_has(const struct args *a, const char *name)
{
	int	 i = opt_index(a->cmd->opts, name, strlen(name));

	if (i < 0)
		fatalx("internal: no option --%s for this command", name);
	return a->set[i];
}

struct config *
ctx_config(struct ctx *ctx)
{
	struct cfg_errors	 errs = { 0 };
	size_t			 i;

	if (ctx->cfg)
		return ctx->cfg;
	ctx->cfg = config_load(ctx->config_path, &errs);
	for (i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	cfg_errors_clear(&errs);
	return ctx->cfg;
}

/*
 * The one option parser, for the global options and every command's.
 * Each word of argv is matched against opts: "--NAME", "--NAME=VALUE",
 * "--NAME VALUE" (an option with an arg), "-L" for an option with that
 * letter, and "-LL..." for a flag given as often as its letter is.  take()
 * is called once per option given, with its index and value (the "=VALUE"
 * part or, for an option with an arg, the next word; NULL when there is
 * none), and once per other word: OPT_WORD for a word that is no option
 * ("-" and everything after "--" included), OPT_OTHER for one that looks
 * like an option but is not one of opts, OPT_END for the "--" itself.
 * take() returns -1 to go on, or an exit status to stop with.
 */
#define OPT_WORD	-1
#define OPT_OTHER	-2
#define OPT_END		-3

typedef int opt_take_fn(void *arg, int idx, const char *val,
    const char *word);

/* The option whose letter s ("-L", or "-LL..." for a flag) gives, *n the
 * times it is given; OPT_OTHER when s is no such word. */
static int
opt_letter(const struct cmd_opt *opts, const char *s, int *n)
{
	int	 i, k;

	for (k = 1; s[k] == s[1]; k++)
		;
	if (s[k] != '\0')
		return OPT_OTHER;
	for (i = 0; opts && opts[i].name; i++)
		if (opts[i].letter == s[1] && (k == 2 || opts[i].arg == NULL)) {
			*n = k - 1;
			return i;
		}
	return OPT_OTHER;
}

static int
opt_parse(const struct cmd_opt *opts, int argc, char **argv,
    opt_take_fn *take, void *arg)
{
	const char	*s, *eq, *val;
	int		 i, idx, n, rc, only_pos = 0;

	for (i = 0; i < argc; i++) {
		s = argv[i];
		val = NULL;
		n = 1;
		if (only_pos || s[0] != '-' || s[1] == '\0')
			idx = OPT_WORD;
		else if (strcmp(s, "--") == 0) {
			only_pos = 1;
			idx = OPT_END;
		} else if (s[1] == '-') {
			eq = strchr(s, '=');
			idx = opt_index(opts, s + 2, eq ? (size_t)(eq - s - 2) :
			    strlen(s + 2));
			if (idx < 0)
				idx = OPT_OTHER;
			else if (eq)
				val = eq + 1;
		} else
			idx = opt_letter(opts, s, &n);
		if (idx >= 0 && opts[idx].arg != NULL && val == NULL &&
		    i + 1 < argc)
			val = argv[++i];
		do
			if ((rc = take(arg, idx, val, s)) != -1)
				return rc;
		while (idx >= 0 && --n > 0);
	}
	return -1;
}

/* A command's option or positional, into struct args. */
static int
cmd_take(void *arg, int idx, const char *val, const char *word)
{
	struct args		*a = arg;
	const struct cmd_opt	*o;
	size_t			 len;

	if (idx == OPT_WORD) {
		a->argv[a->argc++] = (char *)word;
		return -1;
	}
	if (idx == OPT_END)
		return -1;
	if (idx == OPT_OTHER) {
		if (word[1] != '-')
			return cmd_usage_error(a, "unknown option %s", word);
		len = strcspn(word + 2, "=");
		if (len >= 64)
			return cmd_usage_error(a, "unknown option %.40s", word);
		return cmd_usage_error(a, "unknown option --%.*s", (int)len,
		    word + 2);
	}
	o = &a->cmd->opts[idx];
	if (o->arg == NULL && val != NULL)
		return cmd_usage_error(a, "--%s takes no value", o->name);
	if (o->arg != NULL && val == NULL)
		return cmd_usage_error(a, "--%s needs a value (%s)", o->name,
		    o->arg);
	if (o->arg != NULL && a->set[idx])
		return cmd_usage_error(a, "--%s given twice", o->name);
	a->val[idx] = val;
	a->set[idx] = 1;
	return -1;
}

/* Parses the verb's options and positionals from argv. */
static int
parse_cmd_args(const struct cmd *c, int argc, char **argv, struct args *a)
{
	int	 rc;

	memset(a, 0, sizeof(*a));
	a->cmd = c;
	a->argv = xcalloc((size_t)argc + 1, sizeof(char *));
	if ((rc = opt_parse(c->opts, argc, argv, cmd_take, a)) != -1)
		return rc;
	if (a->argc < c->min_args)
		return cmd_usage_error(a, "missing argument: %s", c->usage);
	if (c->max_args >= 0 && a->argc > c->max_args)
		return cmd_usage_error(a, "unexpected argument '%s'",
		    a->argv[c->max_args]);
	return cli_exit(ERR_OK);
}

/* Finds the area and verb in rest[] and runs it. */
static int
dispatch(struct ctx *ctx, int nrest, char **rest, int help)
{
	const struct area *const *ap;
	const struct area	*a = NULL;
	const struct cmd	*c = NULL;
	struct args		 args;
	int			 i, rc;

	if (nrest == 0) {
		usage_main(help ? stdout : stderr);
		return cli_exit(help ? ERR_OK : ERR_INVAL);
	}
	for (ap = areas; *ap; ap++)
		if (strcmp((*ap)->name, rest[0]) == 0)
			a = *ap;
	if (a == NULL) {
		log_warnx("unknown area '%s' (see castiron --help)", rest[0]);
		return cli_exit(ERR_INVAL);
	}
	current_area = a;
	if (a->cmds[0].name == NULL)
		c = &a->cmds[0];	/* the area is the command */
	else if (nrest >= 2)
		for (c = a->cmds; c->fn; c++)
			if (strcmp(c->name, rest[1]) == 0)
				break;
	if (c == NULL || c->fn == NULL) {
		if (help || nrest == 1) {
			usage_area(help ? stdout : stderr, a);
			return cli_exit(help ? ERR_OK : ERR_INVAL);
		}
		cmd_warnx("unknown verb '%s' (see castiron %s --help)",
		    rest[1], a->name);
		return cli_exit(ERR_INVAL);
	}
	current_cmd = c;
	if (help) {
		usage_cmd(stdout, a, c);
		return cli_exit(ERR_OK);
	}
	i = c->name ? 2 : 1;
	rc = parse_cmd_args(c, nrest - i, rest + i, &args);
	/* CASTIRON_PARSE_ONLY=1: check the command line, run nothing (the
	 * runbook test uses it so that documented commands cannot rot). */
	if (rc == 0 && getenv("CASTIRON_PARSE_ONLY") == NULL)
		rc = c->fn(ctx, &args);
	free(args.argv);
	return rc;
}

/* What the global options set, and the words they leave for dispatch. */
struct global {
	struct ctx	*ctx;
	char		**rest;
	int		 nrest;
	int		 help;
};

static int
global_take(void *arg, int idx, const char *val, const char *word)
{
	struct global	*g = arg;
	struct ctx	*ctx = g->ctx;

	if (idx < 0) {
		/* The area's, the verb's or their options': passed on. */
		g->rest[g->nrest++] = (char *)word;
		return -1;
	}
	if (global_opts[idx].arg == NULL && val != NULL) {
		log_warnx("--%s takes no value", global_opts[idx].name);
		return cli_exit(ERR_INVAL);
	}
	switch (idx) {
	case G_CONFIG:
		if (val == NULL) {
			log_warnx("%s needs a file", word);
			return cli_exit(ERR_INVAL);
		}
		ctx->config_path = val;
		break;
	case G_FORMAT:
		if (val == NULL ||
		    output_parse_format(val, &ctx->format) == -1) {
			log_warnx("--format must be table, json or csv");
			return cli_exit(ERR_INVAL);
		}
		ctx->format_set = 1;
		break;
	case G_VERBOSE:
		ctx->verbose = ctx->verbose < 0 ? 1 : ctx->verbose + 1;
		break;
	case G_QUIET:
		ctx->verbose = -1;
		break;
	case G_VERSION:
		printf("castiron %s\n", CASTIRON_VERSION);
		return cli_exit(ERR_OK);
	case G_HELP:
		g->help = 1;
		break;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct ctx	 ctx = { 0 };
	struct global	 g = { &ctx, NULL, 0, 0 };
	int		 rc;

	log_init("castiron", 0, 0);
	ctx.config_path = getenv("CASTIRON_CONFIG");
	if (ctx.config_path == NULL || *ctx.config_path == '\0')
		ctx.config_path = CONFIG_DEFAULT_PATH;
	/* Global options may stand anywhere before "--"; every other word
	 * is left, in its order, for dispatch. */
	g.rest = xcalloc((size_t)argc + 1, sizeof(char *));
	rc = opt_parse(global_opts, argc - 1, argv + 1, global_take, &g);
	if (rc == -1) {
		log_setverbose(ctx.verbose);
		progress_set_quiet(ctx.verbose < 0);
		rc = dispatch(&ctx, g.nrest, g.rest, g.help);
	}
	free(g.rest);
	config_free(ctx.cfg);
	return rc;
}
