/*
 * The command table.  Each area (inventory, image, bgp, ...) lives in its
 * own cli/cmd_AREA.c and exports one const struct area listing its verbs;
 * main.c parses the global options and every verb's options from these
 * tables, so no command parses argv by hand (house style rule 3).
 */
#ifndef CASTIRON_CLI_H
#define CASTIRON_CLI_H

#include "lib/config.h"
#include "lib/err.h"
#include "lib/output.h"

#define EXIT_OK		0
#define EXIT_FAIL	1	/* the operation failed */
#define EXIT_USAGE	2	/* bad usage, configuration or input */

#define CMD_MAXOPTS	24

struct cmd_opt {
	const char	*name;		/* long name, without "--" */
	const char	*arg;		/* metavariable, NULL for a flag */
	const char	*help;		/* NULL: not listed by --help */
	char		 letter;	/* a short form -L, or 0 (a flag's
					   letter may repeat: -vv) */
};

struct ctx {
	const char	*config_path;
	struct config	*cfg;		/* loaded on first use */
	enum out_format	 format;
	int		 format_set;	/* --format given */
	int		 verbose;	/* -1 quiet, 0, 1+ */
};

struct args {
	int		 argc;		/* positional arguments */
	char		**argv;
	const char	*val[CMD_MAXOPTS];	/* option values, by index */
	int		 set[CMD_MAXOPTS];
	const struct cmd *cmd;
};

struct cmd {
	const char		*name;		/* NULL: the area's own command */
	const char		*usage;		/* positionals, for --help */
	const char		*summary;
	const struct cmd_opt	*opts;		/* NULL-name terminated */
	int			 min_args, max_args;	/* max -1: unlimited */
	int			(*fn)(struct ctx *, struct args *);
};

struct area {
	const char		*name;
	const char		*summary;
	const struct cmd	*cmds;		/* NULL-fn terminated */
};

/* Option lookups by long name; unknown names are a programming error. */
const char	*args_get(const struct args *, const char *name);
int		 args_has(const struct args *, const char *name);

/* The configuration, loaded once; on error prints every problem and
 * returns NULL (the caller exits EXIT_USAGE). */
struct config	*ctx_config(struct ctx *);

/* The one mapping from an error code to an exit status: ERR_OK 0, a
 * failed operation 1, bad usage, input or configuration 2. */
int		 cli_exit(enum err_code);
/* Logs the error's message (one line) and returns cli_exit(its code). */
int		 cli_fail(const struct err *);

/* Logs an error of the running command through the log API, named as
 * "castiron AREA VERB: message" ("castiron: message" before one runs). */
void		 cmd_warnx(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
/* cmd_warnx for bad usage, with " (see --help)"; returns
 * cli_exit(ERR_INVAL). */
int		 cmd_usage_error(const struct args *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

extern const struct area area_config;
extern const struct area area_inventory;
extern const struct area area_image;
extern const struct area area_provision;
extern const struct area area_bgp;
extern const struct area area_bmc;
extern const struct area area_boot;

/* The hosts a many-host command names: HOST... (all but the last
 * skip_last positionals), or --rack R [--site S], or --site S; HOST...
 * and --rack R of the [castiron] site (or of --site S) only.  0 with
 * *hosts the caller's (free()), or an exit status after one line. */
/* Who acts, for events: the operator behind sudo, else the user running
 * castiron. */
const char	*cli_user(void);

struct inv_host;
int		 cli_select_hosts(struct config *, struct args *,
		    size_t skip_last, struct inv_host **hosts, size_t *n);

#endif
