/*
 * castiron inventory: the operator's view of the inventory (add, import,
 * list, show, set-state, remove, forget-key, report, discovered, claim,
 * migrate).  Each verb
 * opens the database named by [inventory] database (an SQLite file or a
 * PostgreSQL URL), calls inventory/ (a change, or a cursor of typed rows)
 * and describes the result to lib/output, which renders it as a table,
 * JSON or CSV; nothing here knows SQL or which database it is.
 */
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/inventory_html.h"
#include "inventory/inventory.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

/* Opens the configured inventory: 0, or after one line why, the exit
 * status. */
static int
open_inv(struct ctx *ctx, int flags, struct inv **inv)
{
	struct config	*cfg;
	struct err	 err;
	int		 rc;

	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if ((rc = inv_open_config(cfg, flags, inv, &err)) != ERR_OK)
		return cli_fail(&err);
	return 0;
}

static void
print_errors(struct inv_errors *errs)
{
	size_t	 i;

	for (i = 0; i < errs->n; i++)
		log_warnx("%s", errs->msg[i]);
}

/* What a change did: obj as JSON, else text (both the caller's, freed
 * here); the exit status of success. */
static int
done(struct ctx *ctx, json_t *obj, char *text)
{
	if (ctx->format == OUT_JSON)
		output_object(stdout, OUT_JSON, obj);
	else if (ctx->verbose >= 0)
		printf("%s\n", text);
	json_decref(obj);
	free(text);
	return cli_exit(ERR_OK);
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
	e.bmc_driver = args_get(a, "bmc-driver");
	e.macs = args_get(a, "mac");
	e.address = args_get(a, "address");
	e.gateway = args_get(a, "gateway");
	e.role = args_get(a, "role");
	e.disk = args_get(a, "disk");
	if ((rc = open_inv(ctx, INV_OPEN_CREATE, &inv)) != 0)
		return rc;
	rc = inv_enroll(inv, &e, 1, e.hostname, cli_user(), &errs);
	inv_close(inv);
	print_errors(&errs);
	inv_errors_clear(&errs);
	if (rc != ERR_OK)
		return cli_exit(rc);
	text = xsprintf("added %s (enrolled)", e.hostname);
	return done(ctx, json_pack("{s:s,s:s}", "added", e.hostname,
	    "state", "enrolled"), text);
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

	if ((rc = open_inv(ctx, INV_OPEN_CREATE, &inv)) != 0)
		return rc;
	rc = inv_import_csv(inv, path, cli_user(), &n, &errs);
	inv_close(inv);
	print_errors(&errs);
	if (rc != ERR_OK) {
		/* One problem is one line; several get a tally. */
		if (rc == ERR_INVAL && errs.total > 1)
			log_warnx("%s: %zu problems; nothing "
			    "was imported", path, errs.total);
		inv_errors_clear(&errs);
		return cli_exit(rc);
	}
	inv_errors_clear(&errs);
	text = xsprintf("imported %zu host%s from %s", n, n == 1 ? "" : "s",
	    path);
	return done(ctx, json_pack("{s:I,s:s}", "imported", (json_int_t)n,
	    "file", path), text);
}

static const struct out_col list_cols[] = {
	{ "hostname", "HOST" }, { "site", "SITE" }, { "rack", "RACK" },
	{ "unit", "UNIT", 1 }, { "state", "STATE" }, { "step", "STEP" },
	{ "role", "ROLE" }, { "address", "ADDRESS" }, { "serial", "SERIAL" },
	{ "macs", "MACS" }, { NULL }
};

/* "" (not known) is null. */
static const char *
known(const char *s)
{
	return s && *s ? s : NULL;
}

/* An integer, or null when it is not known. */
static void
out_kint_if(struct out *o, const char *key, int64_t v, int is_known)
{
	out_key(o, key);
	if (is_known)
		out_int(o, v);
	else
		out_null(o);
}

/*
 * A host's fields (docs/inventory.md's host object, in its order),
 * inside an object that the caller opens and closes.  keyline: the pinned
 * key as a table shows it, type and fingerprint as known_hosts tools
 * print them.
 */
static void
host_out(struct out *o, const struct inv_host_row *h, int keyline)
{
	size_t	 i;
	char	*line;

	out_kstr(o, "hostname", h->hostname);
	out_kstr(o, "site", h->site);
	out_kstr(o, "rack", h->rack);
	out_kint_if(o, "unit", h->unit, h->unit != 0);
	out_kstr(o, "serial", h->serial);
	out_kstr(o, "bmc", h->bmc);
	out_kstr(o, "bmc_driver", h->bmc_driver);
	out_key(o, "macs");
	out_begin_array(o);
	for (i = 0; i < h->nnics; i++)
		if (h->nics[i].enrolled)
			out_str(o, h->nics[i].nic.mac);
	out_end_array(o);
	out_kstr(o, "address", h->address);
	out_kint_if(o, "prefixlen", h->prefixlen, h->prefixlen != 0);
	out_kstr(o, "gateway", h->gateway);
	out_kstr(o, "role", h->role);
	out_kstr(o, "state", host_state_name(h->state));
	out_kstr(o, "step", prov_step_name(h->step));
	out_kstr(o, "step_done", prov_step_name(h->step_done));
	out_kstr(o, "image", h->image);
	out_kstr(o, "disk", h->disk);
	out_kstr(o, "cpu_model", h->cpu_model);
	out_kint_if(o, "cpu_cores", h->cpu_cores, h->cpu_cores >= 0);
	out_kint_if(o, "memory_mb", h->memory_mb, h->memory_mb >= 0);
	out_kstr(o, "system_vendor", h->sys_vendor);
	out_kstr(o, "system_product", h->sys_product);
	out_kstr(o, "system_serial", h->sys_serial);
	out_key(o, "disks");
	out_begin_array(o);
	for (i = 0; i < h->ndisks; i++) {
		const struct inv_disk *d = &h->disks[i];

		out_begin_object(o);
		out_kstr(o, "name", known(d->name));
		out_kint(o, "size_bytes", (int64_t)d->size_bytes);
		out_kstr(o, "model", known(d->model));
		out_kstr(o, "serial", known(d->serial));
		out_kbool(o, "rotational", d->rotational);
		out_kbool(o, "removable", d->removable);
		out_end_object(o);
	}
	out_end_array(o);
	out_key(o, "nics");
	out_begin_array(o);
	for (i = 0; i < h->nnics; i++) {
		const struct inv_host_nic *n = &h->nics[i];

		out_begin_object(o);
		out_kstr(o, "name", known(n->nic.name));
		out_kstr(o, "mac", n->nic.mac);
		out_kint_if(o, "speed_mbps", (int64_t)n->nic.speed_mbps,
		    n->nic.speed_mbps != 0);
		out_kbool(o, "enrolled", n->enrolled);
		out_end_object(o);
	}
	out_end_array(o);
	out_key(o, "gpus");
	out_begin_array(o);
	for (i = 0; i < h->ngpus; i++) {
		const struct inv_gpu *g = &h->gpus[i];

		out_begin_object(o);
		out_kstr(o, "pci_slot", g->pci_slot);
		out_kstr(o, "class", g->class);
		out_kstr(o, "vendor", known(g->vendor));
		out_kstr(o, "model", known(g->model));
		out_kint_if(o, "memory_mb", g->memory_mb, g->memory_mb >= 0);
		out_end_object(o);
	}
	out_end_array(o);
	out_key(o, "run_owner");
	if (h->owner_host == NULL)
		out_null(o);
	else if (keyline) {
		line = xsprintf("pid %lld on %s (start %s)",
		    (long long)h->owner_pid, h->owner_host,
		    h->owner_start ? h->owner_start : "unknown");
		out_str(o, line);
		free(line);
	} else {
		out_begin_object(o);
		out_kstr(o, "host", h->owner_host);
		out_kint(o, "pid", h->owner_pid);
		out_kstr(o, "start", h->owner_start);
		out_end_object(o);
	}
	out_key(o, "ssh_host_key");
	if (h->key_type == NULL)
		out_null(o);
	else if (keyline) {
		line = xsprintf("%s %s", h->key_type, h->key_fingerprint ?
		    h->key_fingerprint : "(null)");
		out_str(o, line);
		free(line);
	} else {
		out_begin_object(o);
		out_kstr(o, "type", h->key_type);
		out_kstr(o, "key", h->key);
		out_kstr(o, "fingerprint", h->key_fingerprint);
		out_kstr(o, "pinned_at", h->key_pinned_at);
		out_end_object(o);
	}
	out_kstr(o, "created_at", h->created_at);
	out_kstr(o, "updated_at", h->updated_at);
}

/* A host state the operator named: 0, or the exit status of a usage
 * error. */
static int
state_arg(struct args *a, const char *name, int *state)
{
	if ((*state = host_state_parse(name)) < 0)
		return cmd_usage_error(a, "unknown state '%s' (enrolled, "
		    "provisioning, active, failed, maintenance, retired)", name);
	return 0;
}

static int
parse_filter(struct args *a, struct inv_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->site = args_get(a, "site");
	f->rack = args_get(a, "rack");
	f->role = args_get(a, "role");
	f->state = -1;
	if (args_has(a, "state"))
		return state_arg(a, args_get(a, "state"), &f->state);
	return 0;
}

static int
cmd_list(struct ctx *ctx, struct args *a)
{
	const struct inv_host_row	*h;
	struct inv_filter		 f;
	struct inv_hosts		*cur;
	struct out			*o;
	struct inv			*inv;
	struct err			 err;
	int				 rc;

	if ((rc = parse_filter(a, &f)) != 0)
		return rc;
	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	if ((rc = inv_hosts_open(inv, &f, &cur, &err)) != ERR_OK) {
		inv_close(inv);
		return cli_fail(&err);
	}
	o = out_new(stdout, ctx->format, OUT_STREAM, list_cols);
	out_begin_array(o);
	while ((rc = inv_hosts_next(cur, &h, &err)) == 1) {
		out_begin_object(o);
		host_out(o, h, 0);
		out_end_object(o);
	}
	out_end_array(o);
	out_end(o);
	inv_hosts_close(cur);
	inv_close(inv);
	if (rc != 0)
		return cli_fail(&err);
	return cli_exit(ERR_OK);
}

/* The host's fields, then its events. */
static enum err_code
show_out(struct inv *inv, const char *hostname, struct out *o, int keyline,
    struct err *err)
{
	const struct inv_host_row	*h;
	const struct inv_event_row	*e;
	struct inv_filter		 f = { 0 };
	struct inv_hosts		*hc;
	struct inv_events		*ec;
	int				 rc;

	f.hostname = hostname;
	f.state = -1;
	if (inv_hosts_open(inv, &f, &hc, err) != ERR_OK)
		return err->code;
	if ((rc = inv_hosts_next(hc, &h, err)) == 1) {
		out_begin_object(o);
		host_out(o, h, keyline);
	}
	inv_hosts_close(hc);
	if (rc == 0)
		return err_set(err, ERR_NOENT, "%s: no such host in the "
		    "inventory", hostname);
	if (rc != 1)
		return err->code;
	if (inv_events_open(inv, hostname, &ec, err) != ERR_OK)
		return err->code;
	out_key(o, "events");
	out_begin_array(o);
	while ((rc = inv_events_next(ec, &e, err)) == 1) {
		out_begin_object(o);
		out_kstr(o, "time", e->time);
		out_kstr(o, "actor", e->actor);
		out_kstr(o, "site", e->site);
		out_kstr(o, "from_state", e->from_state);
		out_kstr(o, "to_state", e->to_state);
		out_kstr(o, "step", e->step);
		out_kstr(o, "reason", e->reason);
		out_kint_if(o, "bytes", e->bytes, e->bytes >= 0);
		out_kint_if(o, "duration_ms", e->duration_ms,
		    e->duration_ms >= 0);
		out_end_object(o);
	}
	inv_events_close(ec);
	out_end_array(o);
	out_end_object(o);
	return rc == 0 ? ERR_OK : err->code;
}

static int
cmd_show(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	struct out	*o;
	struct err	 err;
	int		 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	o = out_new(stdout, ctx->format, OUT_RECORD, NULL);
	rc = show_out(inv, a->argv[0], o, ctx->format != OUT_JSON, &err);
	inv_close(inv);
	if (rc != 0) {
		out_abort(o);
		return cli_fail(&err);
	}
	out_end(o);
	return cli_exit(ERR_OK);
}

static int
cmd_set_state(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	struct err	 err;
	char		*text;
	int		 rc, to;

	if ((rc = state_arg(a, a->argv[1], &to)) != 0)
		return rc;
	if (!args_has(a, "reason") || *args_get(a, "reason") == '\0')
		return cmd_usage_error(a, "--reason is required (it goes into "
		    "the host's history)");
	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	rc = inv_host_set_state(inv, a->argv[0], to, cli_user(),
	    args_get(a, "reason"), &err);
	inv_close(inv);
	if (rc != ERR_OK)
		return cli_fail(&err);
	text = xsprintf("%s: %s", a->argv[0], a->argv[1]);
	return done(ctx, json_pack("{s:s,s:s}", "hostname", a->argv[0],
	    "state", a->argv[1]), text);
}

static int
cmd_remove(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	struct err	 err;
	char		*text;
	int		 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	rc = inv_host_remove(inv, a->argv[0], cli_user(), &err);
	inv_close(inv);
	if (rc != ERR_OK)
		return cli_fail(&err);
	text = xsprintf("removed %s", a->argv[0]);
	return done(ctx, json_pack("{s:s}", "removed", a->argv[0]), text);
}

static int
cmd_forget_key(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	struct err	 err;
	char		*text;
	int		 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	rc = inv_hostkey_forget(inv, a->argv[0], cli_user(),
	    args_get(a, "reason"), &err);
	inv_close(inv);
	if (rc != ERR_OK)
		return cli_fail(&err);
	text = xsprintf("%s: pinned SSH host key forgotten; the next "
	    "provision needs a known key or --accept-new-hostkey", a->argv[0]);
	return done(ctx, json_pack("{s:s,s:b}", "hostname", a->argv[0],
	    "forgotten", 1), text);
}

static const struct out_col report_table_cols[] = {
	{ "key", "GROUP" }, { "hosts", "HOSTS", 1 },
	{ "cpu_cores", "CORES", 1 }, { "memory", "MEMORY", 1 },
	{ "disk", "DISK", 1 }, { "gpus", "GPUS", 1 },
	{ "enrolled", "ENROLLED", 1 },
	{ "provisioning", "PROVISIONING", 1 }, { "active", "ACTIVE", 1 },
	{ "failed", "FAILED", 1 }, { "maintenance", "MAINTENANCE", 1 },
	{ "retired", "RETIRED", 1 }, { NULL }
};
static const struct out_col report_csv_cols[] = {
	{ "key", "key" }, { "hosts", "hosts" }, { "cpu_cores", "cpu_cores" },
	{ "memory_mb", "memory_mb" }, { "disk_bytes", "disk_bytes" },
	{ "gpus", "gpus" }, { "enrolled", "enrolled" }, { "provisioning", "provisioning" },
	{ "active", "active" }, { "failed", "failed" },
	{ "maintenance", "maintenance" }, { "retired", "retired" }, { NULL }
};

/* A report group's sums, as every format names them. */
static void
report_sums(struct out *o, const struct inv_report_group *g)
{
	out_kint(o, "hosts", g->hosts);
	out_kint(o, "cpu_cores", g->cpu_cores);
	out_kint(o, "memory_mb", g->memory_mb);
	out_kint(o, "disk_bytes", g->disk_bytes);
	out_kint(o, "gpus", g->gpus);
}

/* One table row from a report group (or the totals): sizes made readable
 * and one column per state. */
static void
report_row(struct out *o, const struct inv_report_group *g)
{
	char	 sz[32];
	int	 s;

	out_begin_object(o);
	out_kstr(o, "key", g->key);
	report_sums(o, g);
	out_kstr(o, "memory", fmt_size((uint64_t)g->memory_mb << 20, sz,
	    sizeof(sz)));
	out_kstr(o, "disk", fmt_size((uint64_t)g->disk_bytes, sz, sizeof(sz)));
	for (s = 0; s < HS_COUNT; s++)
		out_kint(o, host_state_name(s), g->states[s]);
	out_end_object(o);
}

/* The report as a table (groups, then the totals) or as CSV, row by row. */
static enum err_code
report_rows(struct ctx *ctx, struct inv_report *cur, struct err *err)
{
	const struct inv_report_group	*g;
	struct out			*o;
	int				 rc;

	o = out_new(stdout, ctx->format, OUT_ROWS, ctx->format == OUT_CSV ?
	    report_csv_cols : report_table_cols);
	out_begin_array(o);
	while ((rc = inv_report_next(cur, &g, err)) == 1)
		report_row(o, g);
	if (rc == 0 && ctx->format == OUT_TABLE &&
	    (rc = inv_report_total(cur, &g, err)) == ERR_OK)
		report_row(o, g);
	if (rc != 0) {
		out_abort(o);
		return err->code;
	}
	out_end_array(o);
	out_end(o);
	return ERR_OK;
}

static int
state_by_name(const void *a, const void *b)
{
	return strcmp(host_state_name(*(const int *)a),
	    host_state_name(*(const int *)b));
}

/* {"by", "total", "groups": [{"key", "hosts", "cpu_cores", "memory_mb",
 * "disk_bytes", "gpus", "states": {STATE: N}}]}: the states that occur,
 * by name.  The total comes first, so the groups are read before anything
 * is written. */
static enum err_code
report_json(const char *by, struct inv_report *cur, struct err *err)
{
	const struct inv_report_group	*g;
	struct inv_report_group		*gs = NULL;
	struct out			*o;
	size_t				 n = 0, i;
	int64_t				 total = 0;
	int				 rc, s, order[HS_COUNT];

	while ((rc = inv_report_next(cur, &g, err)) == 1) {
		gs = xreallocarray(gs, n + 1, sizeof(*gs));
		gs[n] = *g;
		gs[n++].key = xstrdup(g->key);
	}
	if (rc == 0 && (rc = inv_report_total(cur, &g, err)) == ERR_OK)
		total = g->hosts;
	if (rc == 0) {
		for (s = 0; s < HS_COUNT; s++)
			order[s] = s;
		qsort(order, HS_COUNT, sizeof(order[0]), state_by_name);
		o = out_new(stdout, OUT_JSON, OUT_RECORD, NULL);
		out_begin_object(o);
		out_kstr(o, "by", by);
		out_kint(o, "total", total);
		out_key(o, "groups");
		out_begin_array(o);
		for (i = 0; i < n; i++) {
			out_begin_object(o);
			out_kstr(o, "key", gs[i].key);
			report_sums(o, &gs[i]);
			out_key(o, "states");
			out_begin_object(o);
			for (s = 0; s < HS_COUNT; s++)
				if (gs[i].states[order[s]] > 0)
					out_kint(o, host_state_name(order[s]),
					    gs[i].states[order[s]]);
			out_end_object(o);
			out_end_object(o);
		}
		out_end_array(o);
		out_end_object(o);
		out_end(o);
	}
	for (i = 0; i < n; i++)
		free((char *)gs[i].key);
	free(gs);
	return rc == 0 ? ERR_OK : err->code;
}

static int
cmd_report(struct ctx *ctx, struct args *a)
{
	struct inv		*inv;
	struct inv_report	*cur;
	const char		*by = args_get(a, "by"), *html = args_get(a, "html");
	const char		*site = args_get(a, "site");
	struct err		 err;
	char			*text;
	int			 rc;

	if (by == NULL)
		by = "site";
	if (!inv_report_valid_by(by))
		return cmd_usage_error(a, "--by must be site, rack, state, "
		    "role, model, image or gpu");
	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	if (html) {
		rc = inventory_html_write(inv, html, site, &err);
		inv_close(inv);
		if (rc != ERR_OK)
			return cli_fail(&err);
		text = xsprintf("wrote %s", html);
		return done(ctx, json_pack("{s:s}", "html", html), text);
	}
	if ((rc = inv_report_open(inv, by, site, &cur, &err)) == ERR_OK) {
		if (ctx->format == OUT_JSON)
			rc = report_json(by, cur, &err);
		else
			rc = report_rows(ctx, cur, &err);
		inv_report_close(cur);
	}
	inv_close(inv);
	if (rc != ERR_OK)
		return cli_fail(&err);
	return cli_exit(ERR_OK);
}

static int
cmd_migrate(struct ctx *ctx, struct args *a)
{
	struct inv_migrate_result	 res;
	struct inv_errors		 errs = { 0 };
	struct inv_options		 o = { 0 };
	struct config			*cfg;
	struct inv			*from, *to;
	struct err			 e;
	const char			*url = args_get(a, "to");
	struct err			 err;
	char				*text;
	int				 rc;

	if (url == NULL || *url == '\0')
		return cmd_usage_error(a, "--to is required (the fleet's "
		    "inventory: postgresql://...)");
	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	o.site = cfg->castiron.site;
	o.password_file = args_get(a, "password-file");
	if (o.password_file == NULL && inv_is_postgresql(url))
		o.password_file = cfg->inventory.password_file;
	if (o.password_file && config_check_secret(o.password_file, &e) !=
	    ERR_OK)
		return cmd_usage_error(a, "--password-file: %s", e.msg);
	if ((rc = open_inv(ctx, 0, &from)) != 0)
		return rc;
	if ((rc = inv_open(url, INV_OPEN_CREATE, &o, &to, &err)) != ERR_OK) {
		inv_close(from);
		return cli_fail(&err);
	}
	rc = inv_migrate(from, to, &res, &errs);
	print_errors(&errs);
	if (rc != ERR_OK) {
		if (rc == ERR_INVAL && errs.total > 1)
			log_warnx("%s: %zu conflicts; nothing was migrated",
			    inv_path(to), errs.total);
		inv_errors_clear(&errs);
		inv_close(from);
		inv_close(to);
		return cli_exit(rc);
	}
	text = xsprintf("migrated %zu host%s (%zu already there) and %zu "
	    "event%s (%zu already there) from %s to %s", res.hosts,
	    res.hosts == 1 ? "" : "s", res.hosts_there, res.events,
	    res.events == 1 ? "" : "s", res.events_there, inv_path(from),
	    inv_path(to));
	rc = done(ctx, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "from",
	    inv_path(from), "to", inv_path(to), "hosts", (json_int_t)res.hosts,
	    "hosts_there", (json_int_t)res.hosts_there, "events",
	    (json_int_t)res.events, "events_there",
	    (json_int_t)res.events_there), text);
	inv_close(from);
	inv_close(to);
	return rc;
}

static const struct out_col discovered_cols[] = {
	{ "macs", "MACS" }, { "serial", "SERIAL" }, { "address", "ADDRESS" },
	{ "system_product", "PRODUCT" }, { "cpu_cores", "CORES", 1 },
	{ "memory_mb", "MEMORY_MB", 1 }, { "first_seen", "FIRST SEEN" },
	{ "last_seen", "LAST SEEN" }, { "serial_host", "SERIAL OF" },
	{ NULL }
};

/* A discovered machine (docs/inventory.md: its JSON is stable). */
static void
discovered_out(struct out *o, const struct inv_discovered_row *d)
{
	static const char *const facts[] = { "disks", "nics", "gpus" };
	json_t	*f = d->facts_json ? json_loads(d->facts_json, 0, NULL) : NULL;
	json_t	*v;
	size_t	 i;

	out_key(o, "macs");
	out_begin_array(o);
	for (i = 0; i < d->nmacs; i++)
		out_str(o, d->macs[i]);
	out_end_array(o);
	out_kstr(o, "serial", d->serial);
	out_kstr(o, "site", d->site);
	out_kstr(o, "address", d->address);
	out_kstr(o, "cpu_model", d->cpu_model);
	out_kint_if(o, "cpu_cores", d->cpu_cores, d->cpu_cores >= 0);
	out_kint_if(o, "memory_mb", d->memory_mb, d->memory_mb >= 0);
	out_kstr(o, "system_vendor", d->sys_vendor);
	out_kstr(o, "system_product", d->sys_product);
	for (i = 0; i < 3; i++) {
		out_key(o, facts[i]);
		if ((v = json_object_get(f, facts[i])) != NULL &&
		    json_is_array(v))
			out_json(o, v);
		else {
			out_begin_array(o);
			out_end_array(o);
		}
	}
	json_decref(f);
	out_kint(o, "checkins", d->checkins);
	out_kstr(o, "first_seen", d->first_seen);
	out_kstr(o, "last_seen", d->last_seen);
	out_kstr(o, "serial_host", d->serial_host);
	out_kstr(o, "mac_host", d->mac_host);
	out_kstr(o, "note", d->note);
}

static int
cmd_discovered(struct ctx *ctx, struct args *a)
{
	const struct inv_discovered_row	*d;
	struct inv_discovered		*cur;
	struct out			*o;
	struct inv			*inv;
	struct err			 err;
	int				 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	if ((rc = inv_discovered_open(inv, args_get(a, "site"), &cur, &err)) !=
	    ERR_OK) {
		inv_close(inv);
		return cli_fail(&err);
	}
	o = out_new(stdout, ctx->format, OUT_ROWS, discovered_cols);
	out_begin_array(o);
	while ((rc = inv_discovered_next(cur, &d, &err)) == 1) {
		out_begin_object(o);
		discovered_out(o, d);
		out_end_object(o);
	}
	out_end_array(o);
	out_end(o);
	inv_discovered_close(cur);
	inv_close(inv);
	return rc != 0 ? cli_fail(&err) : cli_exit(ERR_OK);
}

static int
cmd_claim(struct ctx *ctx, struct args *a)
{
	struct inv	*inv;
	const char	*key = a->argv[0], *host = a->argv[1];
	struct err	 err;
	char		*text;
	size_t		 learned;
	int		 rc;

	if ((rc = open_inv(ctx, 0, &inv)) != 0)
		return rc;
	rc = inv_discovered_claim(inv, key, host, cli_user(), &learned, &err);
	inv_close(inv);
	if (rc != ERR_OK)
		return cli_fail(&err);
	text = xsprintf("claimed the machine with %s for %s (%zu MAC%s "
	    "learned)", key, host, learned, learned == 1 ? "" : "s");
	return done(ctx, json_pack("{s:s,s:s,s:I}", "claimed", key, "host",
	    host, "macs_learned", (json_int_t)learned), text);
}

static const struct cmd_opt add_opts[] = {
	{ "site", "S", "the site (required)" },
	{ "rack", "R", "the rack" },
	{ "unit", "U", "the lowest rack unit it occupies (1-100)" },
	{ "serial", "SN", "the chassis serial number" },
	{ "bmc", "ADDR", "the BMC's address or name" },
	{ "bmc-driver", "redfish|ipmi", "how to speak to it (default: [bmc] "
	    "driver)" },
	{ "mac", "MAC[,MAC...]", "the MACs of its NICs" },
	{ "address", "IP[/LEN]", "its address once provisioned; with a "
	    "prefix length, static (else DHCP)" },
	{ "gateway", "IP", "its default gateway (a static address's, in its "
	    "subnet)" },
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
	{ "by", "site|rack|state|role|model|image|gpu", "group by (default "
	    "site; gpu: accelerators per site and model)" },
	{ "site", "S", "only this site (default: the whole inventory)" },
	{ "html", "FILE", "write a self-contained HTML report with rack "
	    "elevations" },
	{ NULL }
};

static const struct cmd_opt migrate_opts[] = {
	{ "to", "URL", "the inventory to copy into: postgresql://..." },
	{ "password-file", "FILE", "its password, an owner-only file (default "
	    "[inventory] password_file, else ~/.pgpass or PGPASSWORD)" },
	{ NULL }
};

static const struct cmd_opt discovered_opts[] = {
	{ "site", "S", "only machines seen by this site's boot service" },
	{ NULL }
};

static const struct cmd inventory_cmds[] = {
	{ "add", "HOST", "enroll one host", add_opts, 1, 1, cmd_add },
	{ "import", "FILE.csv", "enroll every host of a CSV file, or none "
	    "(header hostname,site,rack,unit,serial,bmc,macs,address,role; "
	    "optional gateway,disk)",
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
	{ "report", "", "hosts, cores, memory, disk and accelerators per "
	    "group; --html for a page with rack elevations", report_opts, 0, 0,
	    cmd_report },
	{ "discovered", "", "machines that network-booted with a MAC no host "
	    "has (enlistment)", discovered_opts, 0, 0, cmd_discovered },
	{ "claim", "MAC|SERIAL HOST", "attach a discovered machine to an "
	    "enrolled host: its MACs learned by the host", NULL, 2, 2,
	    cmd_claim },
	{ "migrate", "", "copy this inventory (hosts, facts, keys, every "
	    "event) into another, the fleet's; twice changes nothing",
	    migrate_opts, 0, 0, cmd_migrate },
	{ NULL }
};

const struct area area_inventory = {
	"inventory", "the record of every host: enroll, list, report",
	inventory_cmds
};
