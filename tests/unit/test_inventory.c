/*
 * The inventory API that provision calls, against a real SQLite file in a
 * temporary directory, or against a real PostgreSQL when
 * CASTIRON_TEST_DATABASE names one (tests/integration/inventory_unit_pg.sh
 * starts it): a run begun, stepped, failed, resumed and finished; facts;
 * pinned host keys (fingerprints as ssh-keygen prints them); five
 * processes beginning a run on one host at once (one wins); and the
 * inventories inv_open must refuse without touching them.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "inventory/inventory.h"

#define KEY_B64	"AAAAC3NzaC1lZDI1NTE5AAAAIJJ5hHOLWhzMiKwid4IR5j62xCFEuc4vRdgD6QXCqvzE"
#define KEY_FP	"SHA256:yp+3fql2nzim0Q1i7bozpy4Whq6liVegKQD0s6iVChw"

static char	dir[64], path[512], err[INV_ERRLEN];
static const char *pgurl;	/* CASTIRON_TEST_DATABASE */

/* Runs sql on the PostgreSQL under test, outside castiron. */
static void
pg_sql(const char *sql)
{
	PGconn		*c = PQconnectdb(pgurl);
	PGresult	*r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	assert_true(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK);
	PQclear(r);
	PQfinish(c);
}

static int
setup(void **st)
{
	snprintf(dir, sizeof(dir), "/tmp/castiron-unit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/inv.db", dir);
	if (pgurl) {
		/* Every test starts from an empty database. */
		snprintf(path, sizeof(path), "%s", pgurl);
		pg_sql("SET client_min_messages = warning; "
		    "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
	}
	*st = NULL;
	return 0;
}

static int
teardown(void **st)
{
	char	 cmd[160];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct inv *
fresh(void)
{
	struct inv_enroll	 e[2] = {
		{ .hostname = "web1", .site = "ams1", .rack = "r1", .unit = "3",
		  .serial = "SN1", .macs = "aa:bb:cc:00:00:01;AA-BB-CC-00-00-02",
		  .address = "192.0.2.1" },
		{ .hostname = "web2", .site = "ams1", .rack = "r1", .unit = "4",
		  .macs = "aa:bb:cc:00:00:03" },
	};
	struct inv_errors	 errs = { 0 };
	struct inv		*inv;

	assert_int_equal(inv_open(path, INV_OPEN_CREATE, NULL, &inv, err,
	    sizeof(err)), INV_OK);
	assert_int_equal(inv_enroll(inv, e, 2, "test", "unit", &errs), INV_OK);
	assert_int_equal(errs.n, 0);
	return inv;
}

static void
t_run(void **st)
{
	struct inv	*inv = fresh();
	struct inv_host	 h;
	int		 step, s;

	(void)st;
	assert_int_equal(inv_host_find(inv, "web1", &h, err, sizeof(err)),
	    INV_OK);
	assert_string_equal(h.site, "ams1");
	assert_int_equal(h.unit, 3);
	assert_int_equal(h.nmacs, 2);
	assert_string_equal(h.macs[1], "aa:bb:cc:00:00:02");
	assert_int_equal(h.state, HS_ENROLLED);
	assert_int_equal(inv_host_find(inv, "nope", &h, err, sizeof(err)),
	    INV_ENOENT);

	/* steps outside a run are refused */
	assert_int_equal(inv_step_record(inv, "web1", "t", STEP_POWER,
	    INV_STEP_START, 0, 0, NULL, err, sizeof(err)), INV_ESTATE);

	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, err,
	    sizeof(err)), INV_OK);
	assert_int_equal(step, STEP_POWER);
	for (s = STEP_POWER; s <= STEP_IMAGE; s++) {
		assert_int_equal(inv_step_record(inv, "web1", "t", s,
		    INV_STEP_START, 0, 0, NULL, err, sizeof(err)), INV_OK);
		assert_int_equal(inv_step_record(inv, "web1", "t", s,
		    INV_STEP_DONE, s == STEP_IMAGE ? 1 << 20 : 0, 1500, NULL,
		    err, sizeof(err)), INV_OK);
	}
	assert_int_equal(inv_step_record(inv, "web1", "t", STEP_CONFIGURE,
	    INV_STEP_START, 0, 0, NULL, err, sizeof(err)), INV_OK);
	assert_int_equal(inv_run_fail(inv, "web1", "t", STEP_CONFIGURE,
	    "ssh: connection refused", err, sizeof(err)), INV_OK);
	assert_int_equal(inv_host_find(inv, "web1", &h, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(h.state, HS_FAILED);
	assert_int_equal(h.step, STEP_CONFIGURE);
	assert_int_equal(h.step_done, STEP_IMAGE);
	assert_int_equal(inv_step_last_done(inv, "web1", &s, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(s, STEP_IMAGE);

	/* resumed after the verified image write */
	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, err,
	    sizeof(err)), INV_OK);
	assert_int_equal(step, STEP_CONFIGURE);
	assert_int_equal(inv_run_active(inv, "web1", "t", "verified", err,
	    sizeof(err)), INV_OK);
	assert_int_equal(inv_image_set(inv, "web1", "debian12", "t", err,
	    sizeof(err)), INV_OK);

	/* active needs --force, which starts from the beginning */
	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, err,
	    sizeof(err)), INV_ESTATE);
	assert_non_null(strstr(err, "--force"));
	assert_int_equal(inv_run_begin(inv, "web1", "t", 1, "reinstall", &step,
	    err, sizeof(err)), INV_OK);
	assert_int_equal(step, STEP_POWER);
	assert_int_equal(inv_step_last_done(inv, "web1", &s, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(s, STEP_NONE);

	/* removing a host mid-run is refused */
	assert_int_equal(inv_host_remove(inv, "web1", "t", err, sizeof(err)),
	    INV_ESTATE);
	assert_int_equal(inv_host_set_state(inv, "web1", HS_FAILED, "t",
	    "run died", err, sizeof(err)), INV_OK);
	assert_int_equal(inv_host_set_state(inv, "web1", HS_ACTIVE, "t", "x",
	    err, sizeof(err)), INV_ESTATE);
	assert_non_null(strstr(err, "enrolled, maintenance, retired"));
	inv_close(inv);
}

static void
t_events(void **st)
{
	struct inv			*inv = fresh();
	struct inv_filter		 f = { .hostname = "web2", .state = -1 };
	struct inv_hosts		*hc;
	struct inv_events		*ec;
	const struct inv_host_row	*h;
	const struct inv_event_row	*e;
	int				 step, n = 0;

	(void)st;
	assert_int_equal(inv_run_begin(inv, "web2", "prov", 0, NULL, &step,
	    err, sizeof(err)), INV_OK);
	assert_int_equal(inv_step_record(inv, "web2", "prov", STEP_IMAGE,
	    INV_STEP_DONE, 123456, 789, "sha256 verified", err, sizeof(err)),
	    INV_OK);
	assert_int_equal(inv_events_open(inv, "web2", &ec, err, sizeof(err)),
	    INV_OK);
	while (inv_events_next(ec, &e, err, sizeof(err)) == 1) {
		if (n == 1)
			assert_string_equal(e->to_state, "provisioning");
		if (n == 2) {
			assert_int_equal(e->bytes, 123456);
			assert_int_equal(e->duration_ms, 789);
			assert_string_equal(e->reason, "done: sha256 verified");
		}
		n++;
	}
	inv_events_close(ec);
	assert_int_equal(n, 3);
	assert_int_equal(inv_hosts_open(inv, &f, &hc, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(inv_hosts_next(hc, &h, err, sizeof(err)), 1);
	assert_string_equal(prov_step_name(h->step_done), "image");
	assert_int_equal(inv_hosts_next(hc, &h, err, sizeof(err)), 0);
	inv_hosts_close(hc);
	inv_close(inv);
}

static void
t_facts(void **st)
{
	struct inv		*inv = fresh();
	struct inv_disk		 d[2] = {
		{ "sda", 480ULL << 30, "SSD 1", "D1", 0, 0 },
		{ "sdb", 4ULL << 40, "HDD 2", "D2", 1, 0 },
	};
	struct inv_nic		 n[2] = {
		{ "eno1", "aa:bb:cc:00:00:01", 25000 },
		{ "eno3", "aa:bb:cc:00:00:09", 1000 },
	};
	struct inv_nic		 taken = { "eno9", "aa:bb:cc:00:00:03", 0 };
	struct inv_facts	 f = { 0 }, g;
	struct inv_report	*rep;
	const struct inv_report_group *grp;
	int64_t			 total = 0;

	(void)st;
	snprintf(f.cpu_model, sizeof(f.cpu_model), "EPYC 7313P");
	f.cpu_cores = 16;
	f.memory_mb = 131072;
	snprintf(f.sys_vendor, sizeof(f.sys_vendor), "Dell Inc.");
	snprintf(f.sys_product, sizeof(f.sys_product), "PowerEdge R6515");
	f.disks = d;
	f.ndisks = 2;
	f.nics = n;
	f.nnics = 2;
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(inv_facts_get(inv, "web1", &g, err, sizeof(err)),
	    INV_OK);
	assert_string_equal(g.cpu_model, "EPYC 7313P");
	assert_int_equal(g.cpu_cores, 16);
	assert_int_equal(g.ndisks, 2);
	assert_int_equal(g.disks[1].size_bytes, 4ULL << 40);
	assert_int_equal(g.disks[1].rotational, 1);
	assert_int_equal(g.nnics, 3);	/* two enrolled + one found */
	assert_string_equal(g.nics[0].name, "eno1");
	assert_int_equal(g.nics[0].speed_mbps, 25000);
	inv_facts_free(&g);

	/* a MAC of another host is refused, and nothing changes */
	f.nics = &taken;
	f.nnics = 1;
	f.cpu_cores = 99;
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, err, sizeof(err)),
	    INV_EINVAL);
	assert_non_null(strstr(err, "web2"));
	assert_int_equal(inv_facts_get(inv, "web1", &g, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(g.cpu_cores, 16);
	inv_facts_free(&g);

	assert_int_equal(inv_report_open(inv, "model", NULL, &rep, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(inv_report_next(rep, &grp, err, sizeof(err)), 1);
	total += grp->hosts;
	assert_int_equal(inv_report_next(rep, &grp, err, sizeof(err)), 1);
	total += grp->hosts;
	assert_string_equal(grp->key, "Dell Inc. PowerEdge R6515");
	assert_int_equal(grp->disk_bytes, (480LL << 30) + (4LL << 40));
	assert_int_equal(grp->cpu_cores, 16);
	while (inv_report_next(rep, &grp, err, sizeof(err)) == 1)
		total += grp->hosts;
	assert_int_equal(total, 2);
	inv_report_close(rep);
	inv_close(inv);
}

static void
t_hostkey(void **st)
{
	struct inv		*inv = fresh();
	struct inv_hostkey	 k;
	char			 fp[64];

	(void)st;
	assert_int_equal(inv_hostkey_fingerprint(KEY_B64, fp, sizeof(fp), err,
	    sizeof(err)), INV_OK);
	assert_string_equal(fp, KEY_FP);
	assert_int_equal(inv_hostkey_get(inv, "web1", &k, err, sizeof(err)),
	    INV_ENOENT);
	assert_int_equal(inv_hostkey_set(inv, "web1", "t", "ssh-rsa", KEY_B64,
	    err, sizeof(err)), INV_EINVAL);
	assert_int_equal(inv_hostkey_set(inv, "web1", "t", "ssh-ed25519",
	    "not base64!", err, sizeof(err)), INV_EINVAL);
	assert_int_equal(inv_hostkey_set(inv, "web1", "t", "ssh-ed25519",
	    KEY_B64, err, sizeof(err)), INV_OK);
	assert_int_equal(inv_hostkey_get(inv, "web1", &k, err, sizeof(err)),
	    INV_OK);
	assert_string_equal(k.type, "ssh-ed25519");
	assert_string_equal(k.key, KEY_B64);
	assert_string_equal(k.fingerprint, KEY_FP);
	assert_int_equal(inv_hostkey_forget(inv, "web1", "t", NULL, err,
	    sizeof(err)), INV_OK);
	assert_int_equal(inv_hostkey_get(inv, "web1", &k, err, sizeof(err)),
	    INV_ENOENT);
	assert_int_equal(inv_hostkey_forget(inv, "web1", "t", NULL, err,
	    sizeof(err)), INV_ENOENT);
	inv_close(inv);
}

static void
t_refused(void **st)
{
	struct inv	*inv;
	sqlite3		*db;
	FILE		*f;
	char		 junk[128], back[256];
	size_t		 n;

	(void)st;
	if (pgurl) {
		/* an empty database, without CREATE: refused, still empty */
		assert_int_equal(inv_open(path, 0, NULL, &inv, err,
		    sizeof(err)), INV_EINVAL);
		assert_non_null(strstr(err, "no inventory in this database"));
		/* newer schema */
		inv = fresh();
		inv_close(inv);
		pg_sql("UPDATE castiron_schema SET version = 99");
		assert_int_equal(inv_open(path, 0, NULL, &inv, err,
		    sizeof(err)), INV_EINVAL);
		assert_non_null(strstr(err, "newer"));
		/* a password in the URL, refused without repeating it */
		assert_int_equal(inv_open("postgresql://u:s3cret@/x", 0, NULL,
		    &inv, err, sizeof(err)), INV_EINVAL);
		assert_null(strstr(err, "s3cret"));
		return;
	}
	/* missing, without CREATE */
	assert_int_equal(inv_open(path, 0, NULL, &inv, err, sizeof(err)),
	    INV_EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	/* not SQLite: refused, not modified */
	snprintf(junk, sizeof(junk), "%s/junk.db", dir);
	f = fopen(junk, "w");
	fputs("hostname,site\nweb1,ams1\n", f);
	fclose(f);
	assert_int_equal(inv_open(junk, INV_OPEN_CREATE, NULL, &inv, err,
	    sizeof(err)), INV_EINVAL);
	assert_non_null(strstr(err, "not an SQLite database"));
	f = fopen(junk, "r");
	n = fread(back, 1, sizeof(back), f);
	fclose(f);
	assert_int_equal(n, 24);
	assert_memory_equal(back, "hostname,site\nweb1,ams1\n", 24);
	/* newer schema */
	inv = fresh();
	inv_close(inv);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(inv_open(path, 0, NULL, &inv, err, sizeof(err)),
	    INV_EINVAL);
	assert_non_null(strstr(err, "newer"));
}

/* Five processes, each with its own handle, begin a run on one host at
 * once: exactly one moves it to provisioning, the others are refused by
 * the state machine (it is provisioning already), and the history holds
 * one transition. */
static void
t_race(void **st)
{
	struct inv		*inv = fresh();
	struct inv_events	*ec;
	const struct inv_event_row *e;
	pid_t			 pid[5];
	int			 i, status, won = 0, lost = 0, starts = 0, step;

	(void)st;
	inv_close(inv);
	for (i = 0; i < 5; i++) {
		if ((pid[i] = fork()) == 0) {
			struct inv	*mine;
			char		 e2[INV_ERRLEN];
			int		 rc;

			if (inv_open(path, 0, NULL, &mine, e2, sizeof(e2)) !=
			    INV_OK)
				_exit(9);
			rc = inv_run_begin(mine, "web2", "racer", 0, NULL, &step,
			    e2, sizeof(e2));
			inv_close(mine);
			_exit(rc == INV_OK ? 0 : rc == INV_ESTATE ? 1 : 8);
		}
		assert_true(pid[i] > 0);
	}
	for (i = 0; i < 5; i++) {
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			won++;
		else if (WEXITSTATUS(status) == 1)
			lost++;
	}
	assert_int_equal(won, 1);
	assert_int_equal(lost, 4);
	assert_int_equal(inv_open(path, 0, NULL, &inv, err, sizeof(err)),
	    INV_OK);
	assert_int_equal(inv_events_open(inv, "web2", &ec, err, sizeof(err)),
	    INV_OK);
	while (inv_events_next(ec, &e, err, sizeof(err)) == 1)
		if (e->to_state && strcmp(e->to_state, "provisioning") == 0)
			starts++;
	inv_events_close(ec);
	assert_int_equal(starts, 1);
	inv_close(inv);
}

int
main(void)
{
	const char		*db = getenv("CASTIRON_TEST_DATABASE");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_run, setup, teardown),
		cmocka_unit_test_setup_teardown(t_events, setup, teardown),
		cmocka_unit_test_setup_teardown(t_facts, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostkey, setup, teardown),
		cmocka_unit_test_setup_teardown(t_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(t_race, setup, teardown),
	};

	pgurl = db && *db ? db : NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
