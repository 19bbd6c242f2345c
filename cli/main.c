/*
 * castiron's entry point: global options (accepted anywhere before "--",
 * so `castiron inventory list --format json` works), dispatch through the
 * area tables, and --help generated from those same tables.
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

	fprintf(f, "usage: castiron [-c FILE] [--format table|json|csv] [-v|-q] "
	    "AREA VERB [ARGS]\n       castiron --version | --help | AREA --help\n\n"
	    "areas:\n");
	for (a = areas; *a; a++)
		fprintf(f, "  %-12s %s\n", (*a)->name, (*a)->summary);
	fprintf(f, "\nglobal options:\n"
	    "  -c, --config FILE   configuration (default $CASTIRON_CONFIG, "
	    "else " CONFIG_DEFAULT_PATH ")\n"
	    "  --format FORMAT     table (default), json or csv\n"
	    "  -v, --verbose       more detail (repeat for debug)\n"
	    "  -q, --quiet         errors only\n"
	    "  --version           print the version\n");
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

int
cmd_usage_error(const struct args *args, const char *fmt, ...)
{
	va_list	 ap;

	(void)args;
	fprintf(stderr, "castiron %s%s%s: ", current_area ? current_area->name : "",
	    current_cmd && current_cmd->name ? " " : "",
	    current_cmd && current_cmd->name ? current_cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	return EXIT_USAGE;
}

static int
opt_index(const struct cmd *c, const char *name)
{
	int	 i;

	for (i = 0; c->opts && c->opts[i].name; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			return i;
	return -1;
}

const char *
args_get(const struct args *a, const char *name)
{
	int	 i = opt_index(a->cmd, name);

	if (i < 0)
		fatalx("internal: no option --%s for this command", name);
	return a->set[i] ? a->val[i] : NULL;
}

int
args_has(const struct args *a, const char *name)
{
	int	 i = opt_index(a->cmd, name);

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

/* Parses the verb's options and positionals from argv. */
static int
parse_cmd_args(const struct cmd *c, int argc, char **argv, struct args *a)
{
	int	 i, idx, only_pos = 0;

	memset(a, 0, sizeof(*a));
	a->cmd = c;
	a->argv = xcalloc((size_t)argc + 1, sizeof(char *));
	for (i = 0; i < argc; i++) {
		char		*s = argv[i], *eq, name[64];
		size_t		 n;

		if (only_pos || strncmp(s, "--", 2) != 0 || s[2] == '\0') {
			if (!only_pos && strcmp(s, "--") == 0) {
				only_pos = 1;
				continue;
			}
			if (!only_pos && s[0] == '-' && s[1] != '\0')
				return cmd_usage_error(a, "unknown option %s", s);
			a->argv[a->argc++] = s;
			continue;
		}
		eq = strchr(s, '=');
		n = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
		if (n >= sizeof(name))
			return cmd_usage_error(a, "unknown option %.40s", s);
		memcpy(name, s + 2, n);
		name[n] = '\0';
		if ((idx = opt_index(c, name)) < 0)
			return cmd_usage_error(a, "unknown option --%s", name);
		if (c->opts[idx].arg == NULL) {
			if (eq)
				return cmd_usage_error(a, "--%s takes no value",
				    name);
			a->set[idx] = 1;
			continue;
		}
		if (eq)
			a->val[idx] = eq + 1;
		else if (i + 1 < argc)
			a->val[idx] = argv[++i];
		else
			return cmd_usage_error(a, "--%s needs a value (%s)",
			    name, c->opts[idx].arg);
		if (a->set[idx])
			return cmd_usage_error(a, "--%s given twice", name);
		a->set[idx] = 1;
	}
	if (a->argc < c->min_args)
		return cmd_usage_error(a, "missing argument: %s", c->usage);
	if (c->max_args >= 0 && a->argc > c->max_args)
		return cmd_usage_error(a, "unexpected argument '%s'",
		    a->argv[c->max_args]);
	return 0;
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
		return help ? EXIT_OK : EXIT_USAGE;
	}
	for (ap = areas; *ap; ap++)
		if (strcmp((*ap)->name, rest[0]) == 0)
			a = *ap;
	if (a == NULL) {
		log_warnx("unknown area '%s' (see castiron "
		    "--help)", rest[0]);
		return EXIT_USAGE;
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
			return help ? EXIT_OK : EXIT_USAGE;
		}
		fprintf(stderr, "castiron %s: unknown verb '%s' (see castiron "
		    "%s --help)\n", a->name, rest[1], a->name);
		return EXIT_USAGE;
	}
	current_cmd = c;
	if (help) {
		usage_cmd(stdout, a, c);
		return EXIT_OK;
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

int
main(int argc, char **argv)
{
	struct ctx		 ctx = { 0 };
	char			**rest;
	int			 nrest = 0, i, help = 0, dashdash = 0, rc;

	log_init("castiron", 0, 0);
	ctx.config_path = getenv("CASTIRON_CONFIG");
	if (ctx.config_path == NULL || *ctx.config_path == '\0')
		ctx.config_path = CONFIG_DEFAULT_PATH;

	/* Global options may stand anywhere before "--". */
	rest = xcalloc((size_t)argc + 1, sizeof(char *));
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (dashdash) {
			rest[nrest++] = argv[i];
			continue;
		}
		if (strcmp(s, "--") == 0) {
			dashdash = 1;
			rest[nrest++] = argv[i];
		} else if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) {
			if (++i >= argc) {
				log_warnx("%s needs a file", s);
				free(rest);
				return EXIT_USAGE;
			}
			ctx.config_path = argv[i];
		} else if (strncmp(s, "--config=", 9) == 0)
			ctx.config_path = s + 9;
		else if (strcmp(s, "--format") == 0 ||
		    strncmp(s, "--format=", 9) == 0) {
			const char *v = s[8] == '=' ? s + 9 :
			    (i + 1 < argc ? argv[++i] : NULL);
			if (v == NULL || output_parse_format(v, &ctx.format) == -1) {
				log_warnx("--format must be "
				    "table, json or csv");
				free(rest);
				return EXIT_USAGE;
			}
			ctx.format_set = 1;
		} else if (strcmp(s, "-v") == 0 || strcmp(s, "--verbose") == 0)
			ctx.verbose = ctx.verbose < 0 ? 1 : ctx.verbose + 1;
		else if (strcmp(s, "-vv") == 0)
			ctx.verbose = 2;
		else if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0)
			ctx.verbose = -1;
		else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
			help = 1;
		else if (strcmp(s, "--version") == 0) {
			printf("castiron %s\n", CASTIRON_VERSION);
			free(rest);
			return EXIT_OK;
		} else
			rest[nrest++] = argv[i];
	}
	log_setverbose(ctx.verbose);
	progress_set_quiet(ctx.verbose < 0);

	rc = dispatch(&ctx, nrest, rest, help);
	free(rest);
	config_free(ctx.cfg);
	return rc;
}
