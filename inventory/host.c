/*
 * One host at a time: what provision reads and records during a run
 * (find, begin, step events, fail, active, image), and the operator's
 * transitions (set-state, remove).  Each call that writes is one
 * transaction that re-reads the host's state inside it, its row locked
 * (db_host_id), so two castiron processes never act on a stale state; a
 * transaction the database refuses for a serialization failure or a
 * deadlock is run again (the _tx functions, and their loops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inv_int.h"
#include "lib/xmalloc.h"

#define HOST_COLS \
	"h.id, h.hostname, s.name, r.name, h.unit, h.serial, h.bmc, " \
	"h.address, h.role, h.image, h.disk, h.state, h.step, h.step_done, " \
	"h.created_at, h.updated_at, h.bmc_driver, h.prefixlen, h.gateway, " \
	"h.owner_host, h.owner_pid, h.owner_start"
#define HOST_FROM \
	" FROM hosts h JOIN sites s ON s.id = h.site_id" \
	" LEFT JOIN racks r ON r.id = h.rack_id"

static void
host_fill(struct db_stmt *st, struct inv_host *h)
{
	int	 s;

	memset(h, 0, sizeof(*h));
	h->id = db_col_int64(st, 0);
	db_col_copy(st, 1, h->hostname, sizeof(h->hostname));
	db_col_copy(st, 2, h->site, sizeof(h->site));
	db_col_copy(st, 3, h->rack, sizeof(h->rack));
	h->unit = (unsigned)db_col_int64(st, 4);
	db_col_copy(st, 5, h->serial, sizeof(h->serial));
	db_col_copy(st, 6, h->bmc, sizeof(h->bmc));
	db_col_copy(st, 7, h->address, sizeof(h->address));
	db_col_copy(st, 8, h->role, sizeof(h->role));
	db_col_copy(st, 9, h->image, sizeof(h->image));
	db_col_copy(st, 10, h->disk, sizeof(h->disk));
	h->state = host_state_parse(db_col_text(st, 11));
	s = prov_step_parse(db_col_text(st, 12));
	h->step = s < 0 ? STEP_NONE : s;
	s = prov_step_parse(db_col_text(st, 13));
	h->step_done = s < 0 ? STEP_NONE : s;
	db_col_copy(st, 14, h->created_at, sizeof(h->created_at));
	db_col_copy(st, 15, h->updated_at, sizeof(h->updated_at));
	db_col_copy(st, 16, h->bmc_driver, sizeof(h->bmc_driver));
	h->prefixlen = (unsigned)db_col_int64(st, 17);
	db_col_copy(st, 18, h->gateway, sizeof(h->gateway));
	db_col_copy(st, 19, h->owner.host, sizeof(h->owner.host));
	h->owner.pid = db_col_int64(st, 20);
	db_col_copy(st, 21, h->owner.start, sizeof(h->owner.start));
}

static int
host_macs(struct inv *inv, struct inv_host *h, struct err *err)
{
	static const char	*sql = "SELECT mac FROM nics WHERE host_id = ? "
	    "AND enrolled = 1 ORDER BY seq";
	struct db_stmt		*st;
	int			 rc;

	if (db_stmt(inv, sql, &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, h->id);
	h->nmacs = 0;
	while ((rc = db_step(st)) == 1 && h->nmacs < INV_MAXMACS)
		db_col_copy(st, 0, h->macs[h->nmacs++], 18);
	db_reset(st);
	if (rc == -1)
		return db_fail(inv, "nics", err);
	return ERR_OK;
}

/* Fills *h; inside a write transaction, the host's row stays locked. */
static int
host_find(struct inv *inv, const char *hostname, struct inv_host *h,
    struct err *err)
{
	struct db_stmt	*st;
	char		*sql;
	int		 rc;

	sql = xsprintf("SELECT " HOST_COLS HOST_FROM " WHERE h.hostname = ?%s",
	    inv->in_tx > DB_TX_READ + 1 ? inv->be->lock_host : "");
	rc = db_prepare(inv, sql, &st, err);
	free(sql);
	if (rc != ERR_OK)
		return ERR_FAIL;
	db_bind_text(st, 1, hostname);
	rc = db_step(st);
	if (rc == 1)
		host_fill(st, h);
	else if (rc == -1)
		db_fail(inv, "host", err);
	db_finalize(st);
	if (rc == 0) {
		return err_set(err, ERR_NOENT, "%s: no such host in the "
		    "inventory", hostname);
	}
	if (rc == -1)
		return ERR_FAIL;
	return host_macs(inv, h, err);
}

enum err_code
inv_host_find(struct inv *inv, const char *hostname, struct inv_host *h,
    struct err *err)
{
	return host_find(inv, hostname, h, err);
}

static int
hosts_where(struct inv *inv, const char *where, const char *a,
    const char *b, struct inv_host **hosts, size_t *n, struct err *err)
{
	struct db_stmt	*st;
	char		*sql;
	size_t		 cap = 0, i;
	int		 rc;

	*hosts = NULL;
	*n = 0;
	sql = xsprintf("SELECT " HOST_COLS HOST_FROM " WHERE %s ORDER BY "
	    "r.name NULLS FIRST, h.unit NULLS FIRST, h.hostname", where);
	rc = db_prepare(inv, sql, &st, err);
	free(sql);
	if (rc != ERR_OK)
		return rc;
	if (a)
		db_bind_text(st, 1, a);
	if (b)
		db_bind_text(st, a ? 2 : 1, b);
	while ((rc = db_step(st)) == 1) {
		*hosts = db_grow(*hosts, *n, &cap, sizeof(**hosts));
		host_fill(st, &(*hosts)[(*n)++]);
	}
	if (rc == -1)
		db_fail(inv, "hosts", err);
	db_finalize(st);
	for (i = 0; rc == 0 && i < *n; i++)
		if (host_macs(inv, &(*hosts)[i], err) != ERR_OK)
			rc = -1;
	if (rc != 0) {
		free(*hosts);
		*hosts = NULL;
		*n = 0;
		return ERR_FAIL;
	}
	return ERR_OK;
}

enum err_code
inv_hosts_by_rack(struct inv *inv, const char *site, const char *rack,
    struct inv_host **hosts, size_t *n, struct err *err)
{
	if (site && *site)
		return hosts_where(inv, "s.name = ? AND r.name = ?", site, rack,
		    hosts, n, err);
	return hosts_where(inv, "r.name = ?", rack, NULL, hosts, n, err);
}

enum err_code
inv_hosts_by_site(struct inv *inv, const char *site, struct inv_host **hosts,
    size_t *n, struct err *err)
{
	if (site == NULL)	/* every host of every site */
		return hosts_where(inv, "1 = 1", NULL, NULL, hosts, n, err);
	return hosts_where(inv, "s.name = ?", site, NULL, hosts, n, err);
}

/* Runs an UPDATE of one host with up to three text values bound first and
 * the id last. */
static int
host_update(struct inv *inv, int64_t id, const char *set, const char *v1,
    const char *v2, const char *v3, struct err *err)
{
	const char	*v[3] = { v1, v2, v3 }, *p;
	struct db_stmt	*st;
	char		*sql, now[32];
	int		 rc, i = 1, nq = 0;

	sql = xsprintf("UPDATE hosts SET %s, updated_at = ? WHERE id = ?", set);
	rc = db_prepare(inv, sql, &st, err);
	free(sql);
	if (rc != ERR_OK)
		return rc;
	for (p = set; *p; p++)
		if (*p == '?' && nq < 3)
			db_bind_opt(st, i++, v[nq++]);
	db_now(now);
	db_bind_text(st, i++, now);
	db_bind_int64(st, i, id);
	rc = db_step(st);
	if (rc != 0)
		db_fail(inv, "update", err);
	db_finalize(st);
	return rc == 0 ? ERR_OK : ERR_FAIL;
}

/* What ends a run's ownership of a host (SET clause). */
#define OWNER_CLEAR	"owner_host = NULL, owner_pid = NULL, owner_start = NULL"

void
inv_run_owner(struct inv *inv, const struct inv_owner *o)
{
	inv->has_owner = o != NULL;
	if (o)
		inv->owner = *o;
	else
		memset(&inv->owner, 0, sizeof(inv->owner));
}

static int
owner_equal(const struct inv_owner *a, const struct inv_owner *b)
{
	return strcmp(a->host, b->host) == 0 && a->pid == b->pid &&
	    strcmp(a->start, b->start) == 0;
}

/* The owner recorded on host id (inside the caller's transaction). */
static int
owner_get(struct inv *inv, int64_t id, struct inv_owner *o, struct err *err)
{
	struct db_stmt	*st;
	int		 rc;

	memset(o, 0, sizeof(*o));
	if (db_stmt(inv, "SELECT owner_host, owner_pid, owner_start FROM hosts "
	    "WHERE id = ?", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) == 1) {
		db_col_copy(st, 0, o->host, sizeof(o->host));
		o->pid = db_col_int64(st, 1);
		db_col_copy(st, 2, o->start, sizeof(o->start));
	}
	if (rc != 1)
		db_fail(inv, "owner", err);
	db_reset(st);
	return rc == 1 ? ERR_OK : ERR_FAIL;
}

static int
owner_set(struct inv *inv, int64_t id, const struct inv_owner *o, struct err
    *err)
{
	struct db_stmt	*st;
	int		 rc;

	if (db_stmt(inv, "UPDATE hosts SET owner_host = ?, owner_pid = ?, "
	    "owner_start = ? WHERE id = ?", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_opt(st, 1, o->host);
	db_bind_int64(st, 2, o->pid);
	db_bind_opt(st, 3, o->start);
	db_bind_int64(st, 4, id);
	if ((rc = db_step(st)) != 0)
		db_fail(inv, "owner", err);
	db_reset(st);
	return rc == 0 ? ERR_OK : ERR_FAIL;
}

static int
state_refused(enum hs_actor by, const char *hostname, int from, int to,
    int force, struct err *err)
{
	char	 legal[128];

	host_state_legal(by, from, force, legal, sizeof(legal));
	return err_set(err, ERR_WRONGSTATE, "%s: cannot go from %s to %s%s; "
	    "legal: %s", hostname, host_state_name(from), host_state_name(to),
	    by == HS_BY_PROVISION ? " by provision" : "", legal);
}

static int
run_begin_tx(struct inv *inv, const char *hostname, const char *actor,
    int force, const char *reason, int *resume_from, struct err *err)
{
	struct db_event	 ev;
	struct inv_host	 h;
	int		 rc, from;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = host_find(inv, hostname, &h, err)) != ERR_OK)
		goto fail;
	from = h.state;
	if (!host_state_allowed(HS_BY_PROVISION, from, HS_PROVISIONING,
	    force)) {
		rc = state_refused(HS_BY_PROVISION, hostname, from,
		    HS_PROVISIONING, force, err);
		if (from == HS_ACTIVE && err != NULL) {
			size_t	 len = strlen(err->msg);

			snprintf(err->msg + len, sizeof(err->msg) - len,
			    " (an active host needs --force)");
		}
		goto fail;
	}
	if (from == HS_FAILED && h.step_done != STEP_NONE)
		*resume_from = prov_step_resume(h.step_done);
	else {
		*resume_from = STEP_POWER;
		h.step_done = STEP_NONE;
	}
	if ((rc = host_update(inv, h.id, "state = 'provisioning', step = ?, "
	    "step_done = ?, " OWNER_CLEAR, prov_step_name(*resume_from),
	    prov_step_name(h.step_done), NULL, err)) != ERR_OK)
		goto fail;
	if (inv->has_owner && (rc = owner_set(inv, h.id, &inv->owner, err)) !=
	    ERR_OK)
		goto fail;
	db_event_init(&ev, h.id, hostname, actor);
	ev.from_state = host_state_name(from);
	ev.to_state = "provisioning";
	ev.step = prov_step_name(*resume_from);
	ev.reason = reason ? reason : (from == HS_FAILED &&
	    h.step_done != STEP_NONE ? "resumed" : "run started");
	return db_event_commit(inv, &ev, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_run_begin(struct inv *inv, const char *hostname, const char *actor,
    int force, const char *reason, int *resume_from, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, run_begin_tx(inv, hostname, actor, force, reason,
	    resume_from, err));
	return rc;
}

/* Begins a transaction and finds a host that must be provisioning, by
 * the handle's run when it has one. */
static int
begin_provisioning(struct inv *inv, const char *hostname, int64_t *id,
    struct err *err)
{
	struct inv_owner o;
	int		 rc, state;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, id, &state, err)) != ERR_OK) {
		db_rollback(inv);
		return rc;
	}
	if (state != HS_PROVISIONING) {
		err_set(err, ERR_WRONGSTATE, "%s: is %s, not provisioning",
		    hostname, host_state_name(state));
		db_rollback(inv);
		return ERR_WRONGSTATE;
	}
	if (inv->has_owner) {
		if ((rc = owner_get(inv, *id, &o, err)) != ERR_OK) {
			db_rollback(inv);
			return rc;
		}
		if (!owner_equal(&o, &inv->owner)) {
			err_set(err, ERR_WRONGSTATE, "%s: another run (pid "
			    "%lld on %s) has taken it over", hostname, (long
			    long)o.pid, o.host[0] ? o.host : "an unknown host");
			db_rollback(inv);
			return ERR_WRONGSTATE;
		}
	}
	return ERR_OK;
}

static int
step_record_tx(struct inv *inv, const char *hostname, const char *actor,
    int step, enum inv_step_event kind, uint64_t bytes, uint64_t duration_ms,
    const char *reason, struct err *err)
{
	struct db_event	 ev;
	char		*text = NULL;
	int64_t		 id;
	int		 rc;

	if (prov_step_name(step) == NULL) {
		return err_set(err, ERR_INVAL, "%s: no such step %d", hostname,
		    step);
	}
	if ((rc = begin_provisioning(inv, hostname, &id, err)) != ERR_OK)
		return rc;
	if (kind == INV_STEP_START)
		rc = host_update(inv, id, "step = ?", prov_step_name(step),
		    NULL, NULL, err);
	else if (kind == INV_STEP_DONE)
		rc = host_update(inv, id, "step_done = ?", prov_step_name(step),
		    NULL, NULL, err);
	if (rc != ERR_OK)
		goto fail;
	if (kind == INV_STEP_NOTE)
		text = xstrdup(reason ? reason : "");
	else
		text = xsprintf("%s%s%s", kind == INV_STEP_START ? "started" :
		    "done", reason ? ": " : "", reason ? reason : "");
	db_event_init(&ev, id, hostname, actor);
	ev.step = prov_step_name(step);
	ev.reason = text;
	ev.bytes = (bytes || duration_ms) ? (int64_t)bytes : -1;
	ev.duration_ms = (bytes || duration_ms) ? (int64_t)duration_ms : -1;
	rc = db_event_commit(inv, &ev, err);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_step_record(struct inv *inv, const char *hostname, const char *actor,
    int step, enum inv_step_event kind, uint64_t bytes, uint64_t duration_ms,
    const char *reason, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, step_record_tx(inv, hostname, actor, step, kind,
	    bytes, duration_ms, reason, err));
	return rc;
}

static int
run_end(struct inv *inv, const char *hostname, const char *actor, int to,
    int step, const char *reason, struct err *err)
{
	struct db_event	 ev;
	int64_t		 id;
	int		 rc;

	if ((rc = begin_provisioning(inv, hostname, &id, err)) != ERR_OK)
		return rc;
	if (to == HS_FAILED)
		rc = host_update(inv, id, "state = 'failed', step = ?, "
		    OWNER_CLEAR, prov_step_name(step), NULL, NULL, err);
	else
		rc = host_update(inv, id, "state = 'active', step = NULL, "
		    OWNER_CLEAR, NULL, NULL, NULL, err);
	if (rc != ERR_OK)
		goto fail;
	db_event_init(&ev, id, hostname, actor);
	ev.from_state = "provisioning";
	ev.to_state = host_state_name(to);
	ev.step = prov_step_name(step);
	ev.reason = reason;
	return db_event_commit(inv, &ev, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_run_fail(struct inv *inv, const char *hostname, const char *actor,
    int step, const char *reason, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, run_end(inv, hostname, actor, HS_FAILED, step, reason,
	    err));
	return rc;
}

static int
run_takeover_tx(struct inv *inv, const char *hostname, const char *actor,
    const struct inv_owner *gone, const char *reason, struct err *err)
{
	struct db_event	 ev;
	struct inv_owner o;
	struct inv_host	 h;
	int		 rc;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = host_find(inv, hostname, &h, err)) != ERR_OK)
		goto fail;
	o = h.owner;
	if (h.state != HS_PROVISIONING) {
		rc = err_set(err, ERR_WRONGSTATE, "%s: is %s now, not "
		    "provisioning; not taken over", hostname,
		    host_state_name(h.state));
		goto fail;
	}
	if (!owner_equal(&o, gone)) {
		rc = err_set(err, ERR_WRONGSTATE, "%s: another run (pid %lld "
		    "on %s) has taken it over meanwhile", hostname, (long
		    long)o.pid, o.host[0] ? o.host : "an unknown host");
		goto fail;
	}
	if ((rc = host_update(inv, h.id, "state = 'failed', " OWNER_CLEAR,
	    NULL, NULL, NULL, err)) != ERR_OK)
		goto fail;
	db_event_init(&ev, h.id, hostname, actor);
	ev.from_state = "provisioning";
	ev.to_state = "failed";
	ev.step = prov_step_name(h.step);
	ev.reason = reason;
	return db_event_commit(inv, &ev, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_run_takeover(struct inv *inv, const char *hostname, const char *actor,
    const struct inv_owner *gone, const char *reason, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, run_takeover_tx(inv, hostname, actor, gone, reason,
	    err));
	return rc;
}

enum err_code
inv_run_active(struct inv *inv, const char *hostname, const char *actor,
    const char *reason, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, run_end(inv, hostname, actor, HS_ACTIVE, STEP_NONE,
	    reason, err));
	return rc;
}

enum err_code
inv_step_last_done(struct inv *inv, const char *hostname, int *step,
    struct err *err)
{
	struct inv_host	 h;
	int		 rc;

	if ((rc = inv_host_find(inv, hostname, &h, err)) != ERR_OK)
		return rc;
	*step = h.step_done;
	return ERR_OK;
}

static int
image_set_tx(struct inv *inv, const char *hostname, const char *image,
    const char *actor, struct err *err)
{
	struct db_event	 ev;
	char		*text;
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, NULL, err)) != ERR_OK)
		goto fail;
	if ((rc = host_update(inv, id, "image = ?", image, NULL, NULL, err)) !=
	    ERR_OK)
		goto fail;
	text = xsprintf("image set to %s", image && *image ? image : "none");
	db_event_init(&ev, id, hostname, actor);
	ev.reason = text;
	rc = db_event_commit(inv, &ev, err);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_image_set(struct inv *inv, const char *hostname, const char *image,
    const char *actor, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, image_set_tx(inv, hostname, image, actor, err));
	return rc;
}

static int
set_state_tx(struct inv *inv, const char *hostname, int to,
    const char *actor, const char *reason, struct err *err)
{
	struct db_event	 ev;
	int64_t		 id;
	int		 rc, from;

	if (host_state_name(to) == NULL) {
		return err_set(err, ERR_INVAL, "%s: no such state", hostname);
	}
	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, &from, err)) != ERR_OK)
		goto fail;
	if (!host_state_allowed(HS_BY_OPERATOR, from, to, 0)) {
		rc = state_refused(HS_BY_OPERATOR, hostname, from, to, 0, err);
		goto fail;
	}
	/* Back to enrolled starts over: completed steps are forgotten.  A
	 * failed host keeps the step it failed in. */
	if (to == HS_ENROLLED)
		rc = host_update(inv, id, "state = ?, step = NULL, "
		    "step_done = NULL, " OWNER_CLEAR, host_state_name(to), NULL,
		    NULL, err);
	else if (to == HS_FAILED)
		rc = host_update(inv, id, "state = ?, " OWNER_CLEAR,
		    host_state_name(to), NULL, NULL, err);
	else
		rc = host_update(inv, id, "state = ?, step = NULL, "
		    OWNER_CLEAR, host_state_name(to), NULL, NULL, err);
	if (rc != ERR_OK)
		goto fail;
	db_event_init(&ev, id, hostname, actor);
	ev.from_state = host_state_name(from);
	ev.to_state = host_state_name(to);
	ev.reason = reason;
	return db_event_commit(inv, &ev, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_host_set_state(struct inv *inv, const char *hostname, int to,
    const char *actor, const char *reason, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, set_state_tx(inv, hostname, to, actor, reason, err));
	return rc;
}

static int
remove_tx(struct inv *inv, const char *hostname, const char *actor,
    struct err *err)
{
	struct db_event	 ev;
	int64_t		 id;
	int		 rc, state;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, &state, err)) != ERR_OK)
		goto fail;
	if (state == HS_PROVISIONING) {
		rc = err_set(err, ERR_WRONGSTATE, "%s: is provisioning; set it "
		    "to failed first (inventory set-state %s failed --reason "
		    "...)", hostname, hostname);
		goto fail;
	}
	if ((rc = db_run_id(inv, "DELETE FROM hosts WHERE id = ?", id,
	    "remove", err)) != ERR_OK)
		goto fail;
	db_event_init(&ev, id, hostname, actor);
	ev.from_state = host_state_name(state);
	ev.reason = "removed from the inventory";
	return db_event_commit(inv, &ev, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_host_remove(struct inv *inv, const char *hostname, const char *actor,
    struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, remove_tx(inv, hostname, actor, err));
	return rc;
}
