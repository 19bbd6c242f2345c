/*
 * The inventory API that provision calls, against a real SQLite file in a
 * temporary directory, or against a real PostgreSQL when
 * CASTIRON_TEST_DATABASE names one (tests/integration/inventory_unit_pg.sh
 * starts it): a run begun, stepped, failed, resumed and finished, and
 * taken over from its owner; static addresses; facts and accelerators;
 * pinned host keys (fingerprints as ssh-keygen prints them); five
 * processes beginning a run on one host at once (one wins); the
 * inventories inv_open must refuse without touching them; and discovered
 * machines (check-in, attachment by serial, claim); and the locks a
 * process holds on the SQLite file while it opens another connection.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
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

static char	dir[64], path[512];
static struct err err;
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

/* The rows of sql, outside castiron, as "a|b|c\n" lines (NULL as ""). */
static char *
db_rows(const char *sql)
{
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&out, &len);
	int	 i, j;

	assert_non_null(f);
	if (pgurl) {
		PGconn		*c = PQconnectdb(pgurl);
		PGresult	*r;

		assert_int_equal(PQstatus(c), CONNECTION_OK);
		r = PQexec(c, sql);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		for (i = 0; i < PQntuples(r); i++)
			for (j = 0; j < PQnfields(r); j++)
				fprintf(f, "%s%c", PQgetvalue(r, i, j),
				    j + 1 < PQnfields(r) ? '|' : '\n');
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3		*db;
		sqlite3_stmt	*q;

		assert_int_equal(sqlite3_open_v2(path, &db,
		    SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL),
		    SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW)
			for (j = 0; j < sqlite3_column_count(q); j++) {
				const unsigned char *v = sqlite3_column_text(q, j);

				fprintf(f, "%s%c", v ? (const char *)v : "",
				    j + 1 < sqlite3_column_count(q) ? '|' : '\n');
			}
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	fclose(f);
	return out;
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

	assert_int_equal(inv_open(path, INV_OPEN_CREATE, NULL, &inv, &err),
	    ERR_OK);
	assert_int_equal(inv_enroll(inv, e, 2, "test", "unit", &errs), ERR_OK);
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
	assert_int_equal(inv_host_find(inv, "web1", &h, &err), ERR_OK);
	assert_string_equal(h.site, "ams1");
	assert_int_equal(h.unit, 3);
	assert_int_equal(h.nmacs, 2);
	assert_string_equal(h.macs[1], "aa:bb:cc:00:00:02");
	assert_int_equal(h.state, HS_ENROLLED);
	assert_int_equal(inv_host_find(inv, "nope", &h, &err), ERR_NOENT);

	/* steps outside a run are refused */
	assert_int_equal(inv_step_record(inv, "web1", "t", STEP_POWER,
	    INV_STEP_START, 0, 0, NULL, &err), ERR_WRONGSTATE);

	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, &err),
	    ERR_OK);
	assert_int_equal(step, STEP_POWER);
	for (s = STEP_POWER; s <= STEP_IMAGE; s++) {
		assert_int_equal(inv_step_record(inv, "web1", "t", s,
		    INV_STEP_START, 0, 0, NULL, &err), ERR_OK);
		assert_int_equal(inv_step_record(inv, "web1", "t", s,
		    INV_STEP_DONE, s == STEP_IMAGE ? 1 << 20 : 0, 1500, NULL,
		    &err), ERR_OK);
	}
	assert_int_equal(inv_step_record(inv, "web1", "t", STEP_CONFIGURE,
	    INV_STEP_START, 0, 0, NULL, &err), ERR_OK);
	assert_int_equal(inv_run_fail(inv, "web1", "t", STEP_CONFIGURE,
	    "ssh: connection refused", &err), ERR_OK);
	assert_int_equal(inv_host_find(inv, "web1", &h, &err), ERR_OK);
	assert_int_equal(h.state, HS_FAILED);
	assert_int_equal(h.step, STEP_CONFIGURE);
	assert_int_equal(h.step_done, STEP_IMAGE);
	assert_int_equal(inv_step_last_done(inv, "web1", &s, &err), ERR_OK);
	assert_int_equal(s, STEP_IMAGE);

	/* resumed after the verified image write */
	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, &err),
	    ERR_OK);
	assert_int_equal(step, STEP_CONFIGURE);
	assert_int_equal(inv_run_active(inv, "web1", "t", "verified", &err),
	    ERR_OK);
	assert_int_equal(inv_image_set(inv, "web1", "debian12", "t", &err),
	    ERR_OK);

	/* active needs --force, which starts from the beginning */
	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, &err),
	    ERR_WRONGSTATE);
	assert_non_null(strstr(err.msg, "--force"));
	assert_int_equal(inv_run_begin(inv, "web1", "t", 1, "reinstall", &step,
	    &err), ERR_OK);
	assert_int_equal(step, STEP_POWER);
	assert_int_equal(inv_step_last_done(inv, "web1", &s, &err), ERR_OK);
	assert_int_equal(s, STEP_NONE);

	/* removing a host mid-run is refused */
	assert_int_equal(inv_host_remove(inv, "web1", "t", &err),
	    ERR_WRONGSTATE);
	assert_int_equal(inv_host_set_state(inv, "web1", HS_FAILED, "t",
	    "run died", &err), ERR_OK);
	assert_int_equal(inv_host_set_state(inv, "web1", HS_ACTIVE, "t", "x",
	    &err), ERR_WRONGSTATE);
	assert_non_null(strstr(err.msg, "enrolled, maintenance, retired"));
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
	    &err), ERR_OK);
	assert_int_equal(inv_step_record(inv, "web2", "prov", STEP_IMAGE,
	    INV_STEP_DONE, 123456, 789, "sha256 verified", &err), ERR_OK);
	assert_int_equal(inv_events_open(inv, "web2", &ec, &err), ERR_OK);
	while (inv_events_next(ec, &e, &err) == 1) {
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
	assert_int_equal(inv_hosts_open(inv, &f, &hc, &err), ERR_OK);
	assert_int_equal(inv_hosts_next(hc, &h, &err), 1);
	assert_string_equal(prov_step_name(h->step_done), "image");
	assert_int_equal(inv_hosts_next(hc, &h, &err), 0);
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
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, &err), ERR_OK);
	assert_int_equal(inv_facts_get(inv, "web1", &g, &err), ERR_OK);
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
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "web2"));
	assert_int_equal(inv_facts_get(inv, "web1", &g, &err), ERR_OK);
	assert_int_equal(g.cpu_cores, 16);
	inv_facts_free(&g);

	assert_int_equal(inv_report_open(inv, "model", NULL, &rep, &err),
	    ERR_OK);
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	total += grp->hosts;
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	total += grp->hosts;
	assert_string_equal(grp->key, "Dell Inc. PowerEdge R6515");
	assert_int_equal(grp->disk_bytes, (480LL << 30) + (4LL << 40));
	assert_int_equal(grp->cpu_cores, 16);
	while (inv_report_next(rep, &grp, &err) == 1)
		total += grp->hosts;
	assert_int_equal(total, 2);
	inv_report_close(rep);
	inv_close(inv);
}

/* What the database keeps of each site's hosts for the report
 * (site_sums), against the same added up from every host's facts, disks
 * and accelerators. */
static void
sums_agree(void)
{
	char	*kept, *added;

	kept = db_rows("SELECT site_id, cpu_cores, memory_mb, disk_bytes, "
	    "gpus FROM site_sums WHERE cpu_cores <> 0 OR memory_mb <> 0 OR "
	    "disk_bytes <> 0 OR gpus <> 0 ORDER BY site_id");
	added = db_rows("SELECT * FROM (SELECT h.site_id, "
	    "coalesce(sum(f.cpu_cores), 0) AS c, coalesce(sum(f.memory_mb), 0) "
	    "AS m, coalesce(sum((SELECT sum(size_bytes) FROM disks d WHERE "
	    "d.host_id = h.id)), 0) AS d, coalesce(sum((SELECT count(*) FROM "
	    "gpus g WHERE g.host_id = h.id)), 0) AS g FROM hosts h LEFT JOIN "
	    "facts f ON f.host_id = h.id GROUP BY h.site_id) x WHERE c <> 0 "
	    "OR m <> 0 OR d <> 0 OR g <> 0 ORDER BY 1");
	assert_string_equal(kept, added);
	free(kept);
	free(added);
}

/* The report by site stays true through every way the inventory
 * changes: enrollment, inspection (and inspection again, with other
 * disks and accelerators), a run's states, set-state, a host removed
 * with its facts, and an import refused whole. */
static void
t_totals(void **st)
{
	struct inv_disk		 d[3] = {
		{ "nvme0n1", 960197124096ULL, "M1", "D1", 0, 0 },
		{ "nvme1n1", 960197124096ULL, "M1", "D2", 0, 0 },
		{ "sda", 4ULL << 40, "HDD", "D3", 1, 0 },
	};
	struct inv_gpu		 gpu = { "0000:17:00.0", "0302", "NVIDIA",
	    "A100", 65536 };
	struct inv_enroll	 more[2] = {
		{ .hostname = "db1", .site = "fra1", .rack = "r7", .unit = "1" },
		{ .hostname = "db2", .site = "fra1", .rack = "r7", .unit = "2",
		  .macs = "aa:bb:cc:00:00:01" },	/* web1's: refused */
	};
	struct inv_errors	 errs = { 0 };
	struct inv_facts	 f = { 0 };
	struct inv_report	*rep;
	const struct inv_report_group *grp;
	struct inv		*inv = fresh();
	int			 step;

	(void)st;
	sums_agree();
	f.cpu_cores = 16;
	f.memory_mb = 131072;
	f.disks = d;
	f.ndisks = 2;
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, &err), ERR_OK);
	sums_agree();
	f.cpu_cores = 32;
	f.ndisks = 3;
	f.gpus = &gpu;
	f.ngpus = 1;
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, &err), ERR_OK);
	assert_int_equal(inv_facts_set(inv, "web2", "t", &f, &err), ERR_OK);
	sums_agree();
	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, &err),
	    ERR_OK);
	sums_agree();
	assert_int_equal(inv_run_fail(inv, "web1", "t", STEP_POWER, "x", &err),
	    ERR_OK);
	assert_int_equal(inv_run_begin(inv, "web1", "t", 0, NULL, &step, &err),
	    ERR_OK);
	assert_int_equal(inv_run_active(inv, "web1", "t", "done", &err),
	    ERR_OK);
	sums_agree();
	assert_int_equal(inv_host_set_state(inv, "web2", HS_MAINTENANCE, "t",
	    "x", &err), ERR_OK);
	sums_agree();
	assert_int_equal(inv_enroll(inv, more, 2, "t", "unit", &errs),
	    ERR_INVAL);
	inv_errors_clear(&errs);
	sums_agree();
	assert_int_equal(inv_enroll(inv, more, 1, "t", "unit", &errs), ERR_OK);
	assert_int_equal(inv_facts_set(inv, "db1", "t", &f, &err), ERR_OK);
	sums_agree();

	/* what the report reads from them */
	assert_int_equal(inv_report_open(inv, "site", NULL, &rep, &err),
	    ERR_OK);
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	assert_string_equal(grp->key, "ams1");
	assert_int_equal(grp->hosts, 2);
	assert_int_equal(grp->cpu_cores, 64);
	assert_int_equal(grp->disk_bytes, 2 * (2 * 960197124096LL +
	    (4LL << 40)));
	assert_int_equal(grp->gpus, 2);
	assert_int_equal(grp->states[HS_ACTIVE], 1);
	assert_int_equal(grp->states[HS_MAINTENANCE], 1);
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	assert_string_equal(grp->key, "fra1");
	assert_int_equal(grp->hosts, 1);
	assert_int_equal(inv_report_total(rep, &grp, &err), ERR_OK);
	assert_int_equal(grp->hosts, 3);
	assert_int_equal(grp->memory_mb, 3 * 131072);
	inv_report_close(rep);
	assert_int_equal(inv_report_open(inv, "state", "ams1", &rep, &err),
	    ERR_OK);
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	assert_string_equal(grp->key, "active");
	assert_int_equal(grp->hosts, 1);
	assert_int_equal(grp->cpu_cores, 32);
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	assert_string_equal(grp->key, "maintenance");
	assert_int_equal(inv_report_next(rep, &grp, &err), 0);
	inv_report_close(rep);

	/* removed with its facts, disks and accelerator: all of it gone */
	assert_int_equal(inv_host_remove(inv, "web2", "t", &err), ERR_OK);
	sums_agree();
	assert_int_equal(inv_report_open(inv, "site", "ams1", &rep, &err),
	    ERR_OK);
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	assert_int_equal(grp->hosts, 1);
	assert_int_equal(grp->gpus, 1);
	assert_int_equal(grp->states[HS_MAINTENANCE], 0);
	inv_report_close(rep);
	inv_close(inv);
}

/* ADDRESS/PREFIXLEN and a gateway: stored apart (the bare address is what
 * SSH uses), and every bad one named with its line. */
static void
t_static_address(void **st)
{
	struct inv_enroll	 good[2] = {
		{ .hostname = "s1", .site = "ams1", .address = "192.0.2.10/24",
		  .gateway = "192.0.2.1", .line = 2 },
		{ .hostname = "s2", .site = "ams1",
		  .address = "2001:DB8::0010/64", .gateway = "2001:db8::1",
		  .line = 3 },
	};
	struct inv_enroll	 badrows[] = {
		{ .hostname = "b1", .site = "ams1", .address = "192.0.2.11/33",
		  .line = 2 },
		{ .hostname = "b2", .site = "ams1", .address = "192.0.2.12/24",
		  .gateway = "198.51.100.1", .line = 3 },
		{ .hostname = "b3", .site = "ams1", .address = "192.0.2.13",
		  .gateway = "192.0.2.1", .line = 4 },
		{ .hostname = "b4", .site = "ams1", .address = "192.0.2.0/24",
		  .line = 5 },
		{ .hostname = "b5", .site = "ams1", .address = "192.0.2.15/24",
		  .gateway = "2001:db8::1", .line = 6 },
		{ .hostname = "b6", .site = "ams1", .address = "192.0.2.16/x",
		  .line = 7 },
		{ .hostname = "b7", .site = "ams1", .address = "192.0.2.17/24",
		  .gateway = "192.0.2.255", .line = 8 },
		{ .hostname = "b8", .site = "ams1", .gateway = "192.0.2.1",
		  .line = 9 },
		{ .hostname = "b9", .site = "ams1", .address = "192.0.2.19/0",
		  .line = 10 },
	};
	const char		*want[] = {
		"f.csv:2: address: 192.0.2.11/33: bad prefix length: 33 is out "
		    "of range (1 to 32)",
		"f.csv:3: gateway: 198.51.100.1 is outside the subnet of "
		    "192.0.2.12/24",
		"f.csv:4: gateway: 192.0.2.1 needs the address's prefix length",
		"f.csv:5: address: 192.0.2.0/24 is the network or the broadcast",
		"f.csv:6: gateway: 2001:db8::1 is outside the subnet",
		"f.csv:7: address: 192.0.2.16/x: bad prefix length",
		"f.csv:8: gateway: 192.0.2.255 is the host's own address or its "
		    "subnet's network or broadcast address",
		"f.csv:9: gateway: 192.0.2.1 given without an address",
		"f.csv:10: address: 192.0.2.19/0: bad prefix length",
	};
	struct inv_errors	 errs = { 0 };
	struct inv		*inv = fresh();
	struct inv_host		 h;
	size_t			 i, n = sizeof(badrows) / sizeof(badrows[0]);

	(void)st;
	assert_int_equal(inv_enroll(inv, good, 2, "f.csv", "unit", &errs),
	    ERR_OK);
	assert_int_equal(inv_host_find(inv, "s1", &h, &err), ERR_OK);
	assert_string_equal(h.address, "192.0.2.10");
	assert_int_equal(h.prefixlen, 24);
	assert_string_equal(h.gateway, "192.0.2.1");
	assert_int_equal(inv_host_find(inv, "s2", &h, &err), ERR_OK);
	assert_string_equal(h.address, "2001:db8::10");
	assert_int_equal(h.prefixlen, 64);
	assert_string_equal(h.gateway, "2001:db8::1");
	assert_int_equal(inv_host_find(inv, "web1", &h, &err), ERR_OK);
	assert_int_equal(h.prefixlen, 0);		/* DHCP */
	assert_string_equal(h.gateway, "");
	/* the bare address is what must be unique */
	good[0].hostname = "s3";
	good[0].address = "192.0.2.10/25";
	good[0].gateway = NULL;
	assert_int_equal(inv_enroll(inv, good, 1, "f.csv", "unit", &errs),
	    ERR_INVAL);
	assert_non_null(strstr(errs.msg[0], "address 192.0.2.10 already "
	    "belongs to s1"));
	inv_errors_clear(&errs);

	assert_int_equal(inv_enroll(inv, badrows, n, "f.csv", "unit", &errs),
	    ERR_INVAL);
	assert_int_equal(errs.n, n);
	for (i = 0; i < n; i++)
		assert_non_null(strstr(errs.msg[i], want[i]));
	inv_errors_clear(&errs);
	assert_int_equal(inv_host_find(inv, "b1", &h, &err), ERR_NOENT);
	inv_close(inv);
}

/* Accelerators: replaced whole with the facts, read back in order, and
 * counted per site and model by report --by gpu (and per group by every
 * other report). */
static void
t_gpus(void **st)
{
	struct inv_gpu		 a100[3] = {
		{ "0000:17:00.0", "0302", "NVIDIA Corporation",
		  "GA100 [A100 SXM4 40GB]", 65536 },
		{ "0000:65:00.0", "0302", "NVIDIA Corporation",
		  "GA100 [A100 SXM4 40GB]", 65536 },
		{ "0000:03:00.0", "0300", "ASPEED Technology, Inc.",
		  "ASPEED Graphics Family", -1 },
	};
	struct inv_facts	 f = { 0 }, g;
	struct inv		*inv = fresh();
	struct inv_report	*rep;
	const struct inv_report_group *grp;
	const char		*keys[3] = { "(none)",
	    "ams1/ASPEED Technology, Inc. ASPEED Graphics Family",
	    "ams1/NVIDIA Corporation GA100 [A100 SXM4 40GB]" };
	int64_t			 hosts[3] = { 1, 1, 1 }, gpus[3] = { 0, 1, 2 };
	int			 i = 0;

	(void)st;
	f.cpu_cores = 8;
	f.gpus = a100;
	f.ngpus = 3;
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, &err), ERR_OK);
	assert_int_equal(inv_facts_get(inv, "web1", &g, &err), ERR_OK);
	assert_int_equal(g.ngpus, 3);
	assert_string_equal(g.gpus[1].pci_slot, "0000:65:00.0");
	assert_string_equal(g.gpus[1].model, "GA100 [A100 SXM4 40GB]");
	assert_int_equal(g.gpus[1].memory_mb, 65536);
	assert_int_equal(g.gpus[2].memory_mb, -1);
	inv_facts_free(&g);

	assert_int_equal(inv_report_open(inv, "gpu", NULL, &rep, &err), ERR_OK);
	while (inv_report_next(rep, &grp, &err) == 1) {
		assert_true(i < 3);
		assert_string_equal(grp->key, keys[i]);
		assert_int_equal(grp->hosts, hosts[i]);
		assert_int_equal(grp->gpus, gpus[i]);
		i++;
	}
	assert_int_equal(i, 3);
	/* web1 is in two groups; the total counts it once */
	assert_int_equal(inv_report_total(rep, &grp, &err), ERR_OK);
	assert_string_equal(grp->key, "total");
	assert_int_equal(grp->hosts, 2);
	assert_int_equal(grp->gpus, 3);
	assert_int_equal(grp->cpu_cores, 8);
	inv_report_close(rep);
	assert_int_equal(inv_report_open(inv, "site", NULL, &rep, &err),
	    ERR_OK);
	assert_int_equal(inv_report_next(rep, &grp, &err), 1);
	assert_int_equal(grp->hosts, 2);
	assert_int_equal(grp->gpus, 3);
	assert_int_equal(grp->cpu_cores, 8);
	/* the total of a report where each host is in one group: the sum,
	 * the groups not read yet included */
	assert_int_equal(inv_report_total(rep, &grp, &err), ERR_OK);
	assert_int_equal(grp->hosts, 2);
	assert_int_equal(grp->gpus, 3);
	inv_report_close(rep);

	/* inspected again without them: gone */
	f.ngpus = 0;
	assert_int_equal(inv_facts_set(inv, "web1", "t", &f, &err), ERR_OK);
	assert_int_equal(inv_facts_get(inv, "web1", &g, &err), ERR_OK);
	assert_int_equal(g.ngpus, 0);
	inv_facts_free(&g);
	inv_close(inv);
}

/* A run's owner: recorded by inv_run_begin, the run's later calls refused
 * once another run took the host over, a take-over only from the owner
 * the caller saw. */
static void
t_owner(void **st)
{
	struct inv		*a = fresh(), *b;
	struct inv_owner	 oa = { "appl1", 4242, "1000@boot-a" };
	struct inv_owner	 ob = { "appl1", 4343, "2000@boot-a" };
	struct inv_owner	 other = { "appl1", 4242, "999@boot-a" };
	struct inv_host		 h;
	int			 step;

	(void)st;
	assert_int_equal(inv_open(path, 0, NULL, &b, &err), ERR_OK);
	inv_run_owner(a, &oa);
	inv_run_owner(b, &ob);
	assert_int_equal(inv_run_begin(a, "web1", "a", 0, NULL, &step, &err),
	    ERR_OK);
	assert_int_equal(inv_step_record(a, "web1", "a", STEP_POWER,
	    INV_STEP_DONE, 0, 0, NULL, &err), ERR_OK);
	assert_int_equal(inv_step_record(a, "web1", "a", STEP_BOOT,
	    INV_STEP_START, 0, 0, NULL, &err), ERR_OK);
	assert_int_equal(inv_host_find(b, "web1", &h, &err), ERR_OK);
	assert_string_equal(h.owner.host, "appl1");
	assert_int_equal(h.owner.pid, 4242);
	assert_string_equal(h.owner.start, "1000@boot-a");
	/* b's run may not act for a's, nor take it over from someone else */
	assert_int_equal(inv_step_record(b, "web1", "b", STEP_BOOT,
	    INV_STEP_NOTE, 0, 0, "x", &err), ERR_WRONGSTATE);
	assert_non_null(strstr(err.msg, "pid 4242 on appl1"));
	assert_int_equal(inv_run_begin(b, "web1", "b", 1, NULL, &step, &err),
	    ERR_WRONGSTATE);
	assert_int_equal(inv_run_takeover(b, "web1", "b", &other, "gone", &err),
	    ERR_WRONGSTATE);
	/* the take-over: failed at the step it was in, then resumed */
	assert_int_equal(inv_run_takeover(b, "web1", "b", &h.owner,
	    "pid 4242 on appl1 is gone", &err), ERR_OK);
	assert_int_equal(inv_host_find(b, "web1", &h, &err), ERR_OK);
	assert_int_equal(h.state, HS_FAILED);
	assert_int_equal(h.step, STEP_BOOT);
	assert_string_equal(h.owner.host, "");
	assert_int_equal(inv_run_begin(b, "web1", "b", 0, NULL, &step, &err),
	    ERR_OK);
	/* its last verified step was power, whose boot never came up: the
	 * host is powered and booted again */
	assert_int_equal(step, STEP_POWER);
	/* the old run's calls are refused now, the new one's go through */
	assert_int_equal(inv_step_record(a, "web1", "a", STEP_BOOT,
	    INV_STEP_DONE, 0, 0, NULL, &err), ERR_WRONGSTATE);
	assert_non_null(strstr(err.msg, "pid 4343 on appl1"));
	assert_int_equal(inv_run_fail(a, "web1", "a", STEP_BOOT, "x", &err),
	    ERR_WRONGSTATE);
	assert_int_equal(inv_step_record(b, "web1", "b", STEP_BOOT,
	    INV_STEP_DONE, 0, 0, NULL, &err), ERR_OK);
	assert_int_equal(inv_run_active(b, "web1", "b", "done", &err), ERR_OK);
	assert_int_equal(inv_host_find(b, "web1", &h, &err), ERR_OK);
	assert_string_equal(h.owner.host, "");		/* cleared at the end */
	/* a take-over of a host that is not provisioning */
	assert_int_equal(inv_run_takeover(b, "web1", "b", &h.owner, "x", &err),
	    ERR_WRONGSTATE);
	inv_close(a);
	inv_close(b);
}

static void
t_hostkey(void **st)
{
	struct inv		*inv = fresh();
	struct inv_hostkey	 k;
	char			 fp[64];

	(void)st;
	assert_int_equal(inv_hostkey_fingerprint(KEY_B64, fp, sizeof(fp), &err),
	    ERR_OK);
	assert_string_equal(fp, KEY_FP);
	assert_int_equal(inv_hostkey_get(inv, "web1", &k, &err), ERR_NOENT);
	assert_int_equal(inv_hostkey_set(inv, "web1", "t", "ssh-rsa", KEY_B64,
	    &err), ERR_INVAL);
	assert_int_equal(inv_hostkey_set(inv, "web1", "t", "ssh-ed25519",
	    "not base64!", &err), ERR_INVAL);
	assert_int_equal(inv_hostkey_set(inv, "web1", "t", "ssh-ed25519",
	    KEY_B64, &err), ERR_OK);
	assert_int_equal(inv_hostkey_get(inv, "web1", &k, &err), ERR_OK);
	assert_string_equal(k.type, "ssh-ed25519");
	assert_string_equal(k.key, KEY_B64);
	assert_string_equal(k.fingerprint, KEY_FP);
	assert_int_equal(inv_hostkey_forget(inv, "web1", "t", NULL, &err),
	    ERR_OK);
	assert_int_equal(inv_hostkey_get(inv, "web1", &k, &err), ERR_NOENT);
	assert_int_equal(inv_hostkey_forget(inv, "web1", "t", NULL, &err),
	    ERR_NOENT);
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
		assert_int_equal(inv_open(path, 0, NULL, &inv, &err),
		    ERR_INVAL);
		assert_non_null(strstr(err.msg, "no inventory in this "
		    "database"));
		/* newer schema */
		inv = fresh();
		inv_close(inv);
		pg_sql("UPDATE castiron_schema SET version = 99");
		assert_int_equal(inv_open(path, 0, NULL, &inv, &err),
		    ERR_INVAL);
		assert_non_null(strstr(err.msg, "newer"));
		/* a password in the URL, refused without repeating it */
		assert_int_equal(inv_open("postgresql://u:s3cret@/x", 0, NULL,
		    &inv, &err), ERR_INVAL);
		assert_null(strstr(err.msg, "s3cret"));
		return;
	}
	/* missing, without CREATE */
	assert_int_equal(inv_open(path, 0, NULL, &inv, &err), ERR_INVAL);
	assert_int_equal(access(path, F_OK), -1);
	/* not SQLite: refused, not modified */
	snprintf(junk, sizeof(junk), "%s/junk.db", dir);
	f = fopen(junk, "w");
	fputs("hostname,site\nweb1,ams1\n", f);
	fclose(f);
	assert_int_equal(inv_open(junk, INV_OPEN_CREATE, NULL, &inv, &err),
	    ERR_INVAL);
	assert_non_null(strstr(err.msg, "not an SQLite database"));
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
	assert_int_equal(inv_open(path, 0, NULL, &inv, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "newer"));
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
			struct err	 e2;
			int		 rc;

			if (inv_open(path, 0, NULL, &mine, &e2) != ERR_OK)
				_exit(9);
			rc = inv_run_begin(mine, "web2", "racer", 0, NULL,
			    &step, &e2);
			inv_close(mine);
			_exit(rc == ERR_OK ? 0 : rc == ERR_WRONGSTATE ? 1 : 8);
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
	assert_int_equal(inv_open(path, 0, NULL, &inv, &err), ERR_OK);
	assert_int_equal(inv_events_open(inv, "web2", &ec, &err), ERR_OK);
	while (inv_events_next(ec, &e, &err) == 1)
		if (e->to_state && strcmp(e->to_state, "provisioning") == 0)
			starts++;
	inv_events_close(ec);
	assert_int_equal(starts, 1);
	inv_close(inv);
}

/* Discovered machines: a check-in recorded, seen again,
 * attached by serial (and not, when the host has another MAC), refused
 * for another host's MAC, and claimed by hand. */
static void
t_discovered(void **st)
{
	struct inv			*inv = fresh();
	struct inv_discovery		 d;
	struct inv_discovery_result	 r;
	struct inv_discovered		*cur;
	const struct inv_discovered_row	*row;
	struct inv_host			 h;
	size_t				 learned;

	(void)st;
	/* A new machine, then the same one again. */
	memset(&d, 0, sizeof(d));
	snprintf(d.macs[0], 18, "52:54:00:00:00:01");
	d.nmacs = 1;
	d.serial = "SN-NEW";
	d.address = "10.0.0.5";
	assert_int_equal(inv_discovered_checkin(inv, &d, "t", &r, &err),
	    ERR_OK);
	assert_int_equal(r.is_new, 1);
	assert_string_equal(r.attached, "");
	assert_int_equal(inv_discovered_checkin(inv, &d, "t", &r, &err),
	    ERR_OK);
	assert_int_equal(r.is_new, 0);
	assert_int_equal(inv_discovered_open(inv, NULL, &cur, &err), ERR_OK);
	assert_int_equal(inv_discovered_next(cur, &row, &err), 1);
	assert_string_equal(row->macs[0], "52:54:00:00:00:01");
	assert_string_equal(row->serial, "SN-NEW");
	assert_string_equal(row->address, "10.0.0.5");
	assert_int_equal(row->checkins, 2);
	assert_null(row->serial_host);
	assert_int_equal(inv_discovered_next(cur, &row, &err), 0);
	inv_discovered_close(cur);

	/* web1's serial and both its MACs, and one more: attached. */
	memset(&d, 0, sizeof(d));
	snprintf(d.macs[0], 18, "aa:bb:cc:00:00:02");
	snprintf(d.macs[1], 18, "aa:bb:cc:00:00:09");
	snprintf(d.macs[2], 18, "AA:BB:CC:00:00:01");
	d.nmacs = 3;
	d.serial = "SN1";
	assert_int_equal(inv_discovered_checkin(inv, &d, "t", &r, &err),
	    ERR_OK);
	assert_string_equal(r.attached, "web1");
	assert_int_equal(inv_host_find(inv, "web1", &h, &err), ERR_OK);
	assert_int_equal(h.nmacs, 3);
	assert_string_equal(h.macs[2], "aa:bb:cc:00:00:09");

	/* web1's serial without web1's MACs: recorded, with why. */
	d.nmacs = 1;
	snprintf(d.macs[0], 18, "52:54:00:00:00:0a");
	assert_int_equal(inv_discovered_checkin(inv, &d, "t", &r, &err),
	    ERR_OK);
	assert_string_equal(r.attached, "");
	assert_non_null(strstr(r.note, "web1 already has MAC"));

	/* web2's MAC with another serial: refused, nothing written. */
	snprintf(d.macs[0], 18, "52:54:00:00:00:0b");
	snprintf(d.macs[1], 18, "aa:bb:cc:00:00:03");
	d.nmacs = 2;
	d.serial = "SN-OTHER";
	assert_int_equal(inv_discovered_checkin(inv, &d, "t", &r, &err),
	    ERR_WRONGSTATE);
	assert_non_null(strstr(err.msg, "belongs to host web2"));
	assert_int_equal(inv_discovered_claim(inv, "52:54:00:00:00:0b",
	    "web2", "t", &learned, &err), ERR_NOENT);
	d.serial = "bad\x01";
	assert_int_equal(inv_discovered_checkin(inv, &d, "t", &r, &err),
	    ERR_INVAL);

	/* By hand: refused for web2 (another MAC), then for a bare host. */
	assert_int_equal(inv_discovered_claim(inv, "SN-NEW", "web2", "t",
	    &learned, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "web2 already has MAC "
	    "aa:bb:cc:00:00:03"));
	{
		struct inv_enroll	 e = { .hostname = "bare", .site = "ams1" };
		struct inv_errors	 errs = { 0 };

		assert_int_equal(inv_enroll(inv, &e, 1, "test", "unit", &errs),
		    ERR_OK);
	}
	assert_int_equal(inv_discovered_claim(inv, "52:54:00:00:00:01",
	    "bare", "t", &learned, &err), ERR_OK);
	assert_int_equal(learned, 1);
	assert_int_equal(inv_host_find(inv, "bare", &h, &err), ERR_OK);
	assert_string_equal(h.serial, "SN-NEW");
	assert_string_equal(h.macs[0], "52:54:00:00:00:01");
	assert_int_equal(inv_discovered_claim(inv, "SN-NEW", "bare", "t",
	    &learned, &err), ERR_NOENT);
	inv_close(inv);
}

/*
 * Whether another process could take the write lock on the range of the
 * database file where SQLite's connections hold their read locks (the
 * unix VFS's SHARED range, just past the 1 GiB "pending byte"): what the
 * last connection of another process to close takes before it
 * checkpoints and deletes the WAL.  1 when it could, 0 when a read lock
 * of this process is in the way.
 */
static int
other_could_lock(void)
{
	struct flock	 fl;
	pid_t		 pid;
	int		 status, fd;

	if ((pid = fork()) == 0) {
		if ((fd = open(path, O_RDWR)) == -1)
			_exit(3);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = 0x40000000 + 2;
		fl.l_len = 510;
		if (fcntl(fd, F_GETLK, &fl) == -1)
			_exit(3);
		_exit(fl.l_type == F_UNLCK ? 1 : 0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) < 2);
	return WEXITSTATUS(status);
}

/*
 * A connection opened while another of this process is open must leave
 * the process's locks on the file as they were (docs/inventory.md,
 * "Opening"): a close() of a descriptor of its own would drop them all,
 * and another process could then delete the WAL under the first.
 */
static void
t_locks(void **st)
{
	struct inv	*a, *b;
	struct inv_host	 h;

	(void)st;
	if (pgurl)
		return;		/* SQLite's file locks only */
	a = fresh();
	assert_int_equal(other_could_lock(), 0);
	assert_int_equal(inv_open(path, 0, NULL, &b, &err),
	    ERR_OK);
	assert_int_equal(other_could_lock(), 0);
	inv_close(b);
	assert_int_equal(inv_open(path, INV_OPEN_READONLY, NULL, &b, &err),
	    ERR_OK);
	assert_int_equal(inv_host_find(b, "web1", &h, &err),
	    ERR_OK);
	assert_int_equal(other_could_lock(), 0);
	inv_close(b);
	assert_int_equal(other_could_lock(), 0);
	inv_close(a);
	assert_int_equal(other_could_lock(), 1);
}

int
main(void)
{
	const char		*db = getenv("CASTIRON_TEST_DATABASE");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_run, setup, teardown),
		cmocka_unit_test_setup_teardown(t_events, setup, teardown),
		cmocka_unit_test_setup_teardown(t_facts, setup, teardown),
		cmocka_unit_test_setup_teardown(t_totals, setup, teardown),
		cmocka_unit_test_setup_teardown(t_hostkey, setup, teardown),
		cmocka_unit_test_setup_teardown(t_static_address, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(t_gpus, setup, teardown),
		cmocka_unit_test_setup_teardown(t_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(t_race, setup, teardown),
		cmocka_unit_test_setup_teardown(t_discovered, setup, teardown),
		cmocka_unit_test_setup_teardown(t_locks, setup, teardown),
	};

	pgurl = db && *db ? db : NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
