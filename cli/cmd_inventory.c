/*
 * castiron inventory: the operator's view of the inventory (add, import,
 * list, show, set-state, remove, forget-key, report).  Each verb opens the
 * database named by [inventory] database, calls one inventory/ function
 * and renders its result through lib/output; nothing here knows SQL.
 */
#include <sys/types.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "inventory/inventory.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

/* Who acts: the operator behind sudo, else the user running castiron. */
static const char *
actor(void)
{
	static char	 name[64];
	struct passwd	*pw;
	const char	*s = getenv("SUDO_USER");

	if (name[0])
		return name;
	if (s && *s && valid_name(s, name, sizeof(name)) == 0)
		snprintf(name, sizeof(name), "%s", s);
	else if ((pw = getpwuid(getuid())) != NULL)
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	else
		snprintf(name, sizeof(name), "uid %u", (unsigned)getuid());
	return name;
}

static int
exit_code(int rc)
{
	return rc == INV_OK ? EXIT_OK : rc == INV_FAIL ? EXIT_FAIL : EXIT_USAGE;
}

static int
fail(int rc, const char *err)
{
	fprintf(stderr, "castiron: %s\n", err);
	return exit_code(rc);
}

/* Opens the configured inventory; on failure prints why and returns the
 * exit code (never 0). */
static int
open_inv(struct ctx *ctx, int flags, struct inv **inv)
{
	struct config	*cfg;
	char		 err[INV_ERRLEN];
	int		 rc;

	if ((cfg = ctx_config(ctx)) == NULL)
		return EXIT_USAGE;
	if ((rc = inv_open(cfg->inventory.database, flags, inv, err,
	    sizeof(err))) != INV_OK)
		return fail(rc, err);
	return EXIT_OK;
}

static void
print_errors(struct inv_errors *errs)
{
	size_t	 i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "castiron: %s\n", errs->msg[i]);
}

static void
done(struct ctx *ctx, json_t *obj, const char *text)
{
	if (ctx->format == OUT_JSON)
		output_object(stdout, OUT_JSON, obj);
	else if (ctx->verbose >= 0)
		printf("%s\n", text);
	json_decref(obj);
}

static int
cmd_add(struct ctx *ctx, struct args *a)
{
	struct inv_enroll	 e = { 0 };
	struct inv_errors	 errs = { 0 };
	struct inv		*inv;
	char			*text;
	int			 rc;

	if (!args_has(a, "site"))
		return cmd_usage_error(a, "--site is required");
	e.hostname = a->argv[0];
	e.site = args_get(a, "site");
	e.rack = args_get(a, "rack");
	e.unit = args_get(a, "unit");
	e.serial = args_get(a, "serial");
	e.bmc = args_get(a, "bmc");
	e.macs = args_get(a, "mac");
	e.address = args_get(a, "address");
	e.role = args_get(a, "role");
	e.disk = args_get(a, "disk");
	if ((rc = open_inv(ctx, INV_OPEN_CREATE, &inv)) != EXIT_OK)
		return rc;
	rc = inv_enroll(inv, &e, 1, e.hostname, actor(), &errs);
	inv_close(inv);
	print_errors(&errs);
	inv_errors_clear(&errs);
	if (rc != INV_OK)
		return exit_code(rc);
	text = xsprintf("added %s (enrolled)", e.hostname);
	done(ctx, json_pack("{s:s,s:s}", "added", e.hostname, "state",
	    "enrolled"), text);
	free(text);
	return EXIT_OK;
}

static int
cmd_import(struct ctx *ctx, struct args *a)
{
	struct inv_errors	 errs = { 0 };
	struct inv		*inv;
	const char		*path = a->argv[0];
	size_t			 n = 0;
	char			*text;
	int			 rc;

	if ((rc = open_inv(ctx, INV_OPEN_CREATE, &inv)) != EXIT_OK)
		return rc;
	rc = inv_import_csv(inv, path, actor(), &n, &errs);
	inv_close(inv);
	print_errors(&errs);
	if (rc != INV_OK) {
		/* One problem is one line; several get a tally. */
		if (rc == INV_EINVAL && errs.total > 1)
			fprintf(stderr, "castiron: %s: %zu problems; nothing "
			    "was imported\n", path, errs.total);
		inv_errors_clear(&errs);
		return exit_code(rc);
	}
	inv_errors_clear(&errs);
	text = xsprintf("imported %zu host%s from %s", n, n == 1 ? "" : "s",
	    path);
	done(ctx, json_pack("{s:I,s:s}", "imported", (json_int_t)n, "file",
	    path), text);
	free(text);
	return EXIT_OK;
}

static const struct out_col list_cols[] = {
	{ "hostname", "HOST" }, { "site", "SITE" }, { "rack", "RACK" },
	{ "unit", "UNIT", 1 }, { "state", "STATE" }, { "step", "STEP" },
	{ "role", "ROLE" }, { "address", "ADDRESS" }, { "serial", "SERIAL" },
	{ "macs", "MACS" }, { NULL }
};

static int
list_row(json_t *host, void *arg)
{
	output_stream_row(arg, host);
	return 0;
}

static int
cmd_list(struct ctx *ctx, struct args *a)
{
	struct inv_filter	 f = { 0 };
	struct out_stream	*os;
	struct inv		*inv;
	char			 err[INV_ERRLEN];
	int			 rc;

	f.site = args_get(a, "site");
	f.rack = args_get(a, "rack");
	f.role = args_get(a, "role");
	f.state = -1;
	if (args_has(a, "state") &&
	    (f.state = host_state_parse(args_get(a, "state"))) < 0)
		return cmd_usage_error(a, "unknown state '%s' (enrolled, "
		    "provisioning, active, failed, maintenance, retired)",
		    args_get(a, "state"));
	if ((rc = open_inv(ctx, 0, &inv)) != EXIT_OK)
		return rc;
	if (ctx->format == OUT_JSON && !isatty(STDOUT_FILENO)) {
		/* The fast path, for scripts: compact JSON written directly. */
		static char	 buf[1 << 16];

		setvbuf(stdout, buf, _IOFBF, sizeof(buf));
		rc = inv_hosts_write_json(inv, &f, stdout, err, sizeof(err));
		fflush(stdout);
	} else {
		os = output_stream_new(stdout, ctx->format, list_cols);
		rc = inv_hosts_each(inv, &f, list_row, os, err, sizeof(err));
		output_stream_end(os);
	}
	inv_close(inv);
	if (rc != INV_OK)
		return fail(rc, err);
	return EXIT_OK;
}

static int
cmd_show(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	json_t		*o, *k;
	char		 err[INV_ERRLEN];
	int		 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != EXIT_OK)
		return rc;
	rc = inv_host_json(inv, a->argv[0], &o, err, sizeof(err));
	inv_close(inv);
	if (rc != INV_OK)
		return fail(rc, err);
	/* A table shows the key as known_hosts would: type and fingerprint. */
	if (ctx->format != OUT_JSON && json_is_object(k = json_object_get(o,
	    "ssh_host_key")))
		json_object_set_new(o, "ssh_host_key", json_sprintf("%s %s",
		    json_string_value(json_object_get(k, "type")),
		    json_string_value(json_object_get(k, "fingerprint"))));
	output_object(stdout, ctx->format, o);
	json_decref(o);
	return EXIT_OK;
}

static int
cmd_set_state(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	char		 err[INV_ERRLEN], *text;
	int		 rc, to;

	if ((to = host_state_parse(a->argv[1])) < 0)
		return cmd_usage_error(a, "unknown state '%s' (enrolled, "
		    "provisioning, active, failed, maintenance, retired)",
		    a->argv[1]);
	if (!args_has(a, "reason") || *args_get(a, "reason") == '\0')
		return cmd_usage_error(a, "--reason is required (it goes into "
		    "the host's history)");
	if ((rc = open_inv(ctx, 0, &inv)) != EXIT_OK)
		return rc;
	rc = inv_host_set_state(inv, a->argv[0], to, actor(),
	    args_get(a, "reason"), err, sizeof(err));
	inv_close(inv);
	if (rc != INV_OK)
		return fail(rc, err);
	text = xsprintf("%s: %s", a->argv[0], a->argv[1]);
	done(ctx, json_pack("{s:s,s:s}", "hostname", a->argv[0], "state",
	    a->argv[1]), text);
	free(text);
	return EXIT_OK;
}

static int
cmd_remove(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	char		 err[INV_ERRLEN], *text;
	int		 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != EXIT_OK)
		return rc;
	rc = inv_host_remove(inv, a->argv[0], actor(), err, sizeof(err));
	inv_close(inv);
	if (rc != INV_OK)
		return fail(rc, err);
	text = xsprintf("removed %s", a->argv[0]);
	done(ctx, json_pack("{s:s}", "removed", a->argv[0]), text);
	free(text);
	return EXIT_OK;
}

static int
cmd_forget_key(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	char		 err[INV_ERRLEN], *text;
	int		 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != EXIT_OK)
		return rc;
	rc = inv_hostkey_forget(inv, a->argv[0], actor(),
	    args_get(a, "reason"), err, sizeof(err));
	inv_close(inv);
	if (rc != INV_OK)
		return fail(rc, err);
	text = xsprintf("%s: pinned SSH host key forgotten; the next "
	    "provision needs a known key or --accept-new-hostkey", a->argv[0]);
	done(ctx, json_pack("{s:s,s:b}", "hostname", a->argv[0],
	    "forgotten", 1), text);
	free(text);
	return EXIT_OK;
}

static const struct out_col report_table_cols[] = {
	{ "key", "GROUP" }, { "hosts", "HOSTS", 1 },
	{ "cpu_cores", "CORES", 1 }, { "memory", "MEMORY", 1 },
	{ "disk", "DISK", 1 }, { "enrolled", "ENROLLED", 1 },
	{ "provisioning", "PROVISIONING", 1 }, { "active", "ACTIVE", 1 },
	{ "failed", "FAILED", 1 }, { "maintenance", "MAINTENANCE", 1 },
	{ "retired", "RETIRED", 1 }, { NULL }
};
static const struct out_col report_csv_cols[] = {
	{ "key", "key" }, { "hosts", "hosts" }, { "cpu_cores", "cpu_cores" },
	{ "memory_mb", "memory_mb" }, { "disk_bytes", "disk_bytes" },
	{ "enrolled", "enrolled" }, { "provisioning", "provisioning" },
	{ "active", "active" }, { "failed", "failed" },
	{ "maintenance", "maintenance" }, { "retired", "retired" }, { NULL }
};

/* One table row from a report group (or the totals): sizes made readable
 * and one column per state. */
static json_t *
report_row(const char *key, json_int_t hosts, json_int_t cores,
    json_int_t mem_mb, json_int_t disk, const json_int_t *states)
{
	json_t	*r;
	char	 sz[32];
	int	 s;

	r = json_pack("{s:s,s:I,s:I,s:I,s:I}", "key", key, "hosts", hosts,
	    "cpu_cores", cores, "memory_mb", mem_mb, "disk_bytes", disk);
	json_object_set_new(r, "memory", json_string(fmt_size(
	    (uint64_t)mem_mb << 20, sz, sizeof(sz))));
	json_object_set_new(r, "disk", json_string(fmt_size((uint64_t)disk,
	    sz, sizeof(sz))));
	for (s = 0; s < HS_COUNT; s++)
		json_object_set_new(r, host_state_name(s),
		    json_integer(states[s]));
	return r;
}

static json_int_t
jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* Flattens the report's groups into rows with one column per state; a
 * table ends with the totals. */
static void
report_print(struct ctx *ctx, json_t *rep)
{
	json_t		*rows = json_array(), *g;
	size_t		 i;
	int		 s;
	json_int_t	 st[HS_COUNT], tst[HS_COUNT] = { 0 };
	json_int_t	 th = 0, tc = 0, tm = 0, td = 0;

	json_array_foreach(json_object_get(rep, "groups"), i, g) {
		for (s = 0; s < HS_COUNT; s++) {
			st[s] = jint(json_object_get(g, "states"),
			    host_state_name(s));
			tst[s] += st[s];
		}
		th += jint(g, "hosts");
		tc += jint(g, "cpu_cores");
		tm += jint(g, "memory_mb");
		td += jint(g, "disk_bytes");
		json_array_append_new(rows, report_row(json_string_value(
		    json_object_get(g, "key")), jint(g, "hosts"),
		    jint(g, "cpu_cores"), jint(g, "memory_mb"),
		    jint(g, "disk_bytes"), st));
	}
	if (ctx->format == OUT_TABLE)
		json_array_append_new(rows, report_row("total", th, tc, tm, td,
		    tst));
	output_rows(stdout, ctx->format, rows, ctx->format == OUT_CSV ?
	    report_csv_cols : report_table_cols);
	json_decref(rows);
}

static int
cmd_report(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	const char	*by = args_get(a, "by"), *html = args_get(a, "html");
	json_t		*rep;
	char		 err[INV_ERRLEN], *text;
	int		 rc;

	if (by == NULL)
		by = "site";
	if (!inv_report_valid_by(by))
		return cmd_usage_error(a, "--by must be site, rack, state, "
		    "role, model or image");
	if ((rc = open_inv(ctx, 0, &inv)) != EXIT_OK)
		return rc;
	if (html) {
		rc = inv_report_html(inv, html, err, sizeof(err));
		inv_close(inv);
		if (rc != INV_OK)
			return fail(rc, err);
		text = xsprintf("wrote %s", html);
		done(ctx, json_pack("{s:s}", "html", html), text);
		free(text);
		return EXIT_OK;
	}
	rc = inv_report_json(inv, by, &rep, err, sizeof(err));
	inv_close(inv);
	if (rc != INV_OK)
		return fail(rc, err);
	if (ctx->format == OUT_JSON)
		output_object(stdout, OUT_JSON, rep);
	else
		report_print(ctx, rep);
	json_decref(rep);
	return EXIT_OK;
}

static const struct cmd_opt add_opts[] = {
	{ "site", "S", "the site (required)" },
	{ "rack", "R", "the rack" },
	{ "unit", "U", "the lowest rack unit it occupies (1-100)" },
	{ "serial", "SN", "the chassis serial number" },
	{ "bmc", "ADDR", "the BMC's address or name" },
	{ "mac", "MAC[,MAC...]", "the MACs of its NICs" },
	{ "address", "IP", "its address once provisioned" },
	{ "role", "ROLE", "what it is for (web, dns, ...)" },
	{ "disk", "PATH", "the disk to install on: /dev/sdX or "
	    "/dev/disk/by-id/... (default: [provision] disk)" },
	{ NULL }
};
static const struct cmd_opt list_opts[] = {
	{ "site", "S", "only this site" },
	{ "rack", "R", "only this rack" },
	{ "state", "ST", "only hosts in this state" },
	{ "role", "R", "only this role" },
	{ NULL }
};
static const struct cmd_opt set_state_opts[] = {
	{ "reason", "TEXT", "why (required; recorded in the event)" },
	{ NULL }
};
static const struct cmd_opt forget_opts[] = {
	{ "reason", "TEXT", "why (recorded in the event)" },
	{ NULL }
};
static const struct cmd_opt report_opts[] = {
	{ "by", "site|rack|state|role|model|image", "group by (default site)" },
	{ "html", "FILE", "write a self-contained HTML report with rack "
	    "elevations" },
	{ NULL }
};

static const struct cmd inventory_cmds[] = {
	{ "add", "HOST", "enroll one host", add_opts, 1, 1, cmd_add },
	{ "import", "FILE.csv", "enroll every host of a CSV file, or none "
	    "(header hostname,site,rack,unit,serial,bmc,macs,address,role)",
	    NULL, 1, 1, cmd_import },
	{ "list", "", "list hosts", list_opts, 0, 0, cmd_list },
	{ "show", "HOST", "a host's facts, pinned host key and history",
	    NULL, 1, 1, cmd_show },
	{ "set-state", "HOST STATE", "move a host to another state (checked "
	    "against the allowed transitions)", set_state_opts, 2, 2,
	    cmd_set_state },
	{ "remove", "HOST", "remove a host (its history stays)", NULL, 1, 1,
	    cmd_remove },
	{ "forget-key", "HOST", "drop the host's pinned SSH host key",
	    forget_opts, 1, 1, cmd_forget_key },
	{ "report", "", "hosts, cores, memory and disk per group; --html for "
	    "a page with rack elevations", report_opts, 0, 0, cmd_report },
	{ NULL }
};

const struct area area_inventory = {
	"inventory", "the record of every host: enroll, list, report",
	inventory_cmds
};
