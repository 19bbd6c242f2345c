/*
 * The inventory: castiron's record of every host, in one SQLite file (a
 * site's appliance) or in one PostgreSQL database (the fleet: many sites'
 * appliances writing at once).
 *
 * This header is the whole interface; all SQL lives behind it, in
 * the inventory/ sources.  The database is an opaque handle (struct inv).  Two
 * groups of calls:
 *
 *  - the provisioning API (find a host, begin a run, record steps, fail,
 *    finish, hardware facts, pinned SSH host keys, image), used by
 *    provision/;
 *  - the operator's commands (enroll, import, set-state, remove, migrate)
 *    and the reading of list, show and report through cursors of typed
 *    rows, used by cli/cmd_inventory.c, which renders them.
 *
 * Conventions (house style rule 7; docs/architecture.md, "Errors"):
 *  - every call returns an enum err_code (lib/err.h), ERR_OK being 0, and
 *    on failure fills the caller's struct err with one line that names
 *    the host, file, row or database at fault; nothing here prints, logs
 *    or exits;
 *  - ERR_FAIL means the operation failed (I/O, the database, a lost
 *    connection): exit 1; ERR_INVAL (bad input or an unusable database),
 *    ERR_NOENT (no such host, no key pinned), ERR_WRONGSTATE (not
 *    allowed from the host's state) mean nothing changed: exit 2;
 *  - every call that writes is one transaction that re-reads, and locks,
 *    what it decides on, so that concurrent castiron processes queue
 *    instead of failing and never act on a stale state; it either happens
 *    whole or not (a transaction the database refuses for a serialization
 *    failure or a deadlock is run again, a bounded number of times);
 *  - every transition and every step is an event (append-only, enforced
 *    by the database), with the time (RFC 3339 UTC), the actor, the site
 *    of the appliance that wrote it, the states, the step and the reason;
 *  - strings passed in are copied; structs filled for the caller are the
 *    caller's (fixed-size members, or freed with the matching _free);
 *  - a message that names the database never holds a password.
 *
 * The handle is not thread-safe: use one per thread (or per process).
 */
#ifndef CASTIRON_INVENTORY_H
#define CASTIRON_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "inventory/hoststate.h"
#include "lib/err.h"

#define INV_SCHEMA_VERSION	5	/* the schema version this build writes */

struct inv;	/* opaque */

/* ---------------------------------------------------------------------
 * Opening
 */

#define INV_OPEN_CREATE		0x1	/* create the inventory when missing */
#define INV_OPEN_READONLY	0x2	/* never write (no migration either) */

struct inv_options {
	/* PostgreSQL: the password, read from this owner-only file (else
	 * libpq's ~/.pgpass or PGPASSWORD); never from the URL. */
	const char	*password_file;
	/* The site of the appliance writing ([castiron] site): recorded in
	 * every event it writes.  NULL: none. */
	const char	*site;
};

/* Whether a [inventory] database value names PostgreSQL (postgresql:// or
 * postgres://) rather than an SQLite file (an absolute path). */
int	inv_is_postgresql(const char *database);

/*
 * Opens the inventory named by database: an SQLite file (WAL mode,
 * foreign keys on, a busy timeout of 60 s) or a PostgreSQL database (a
 * libpq URL, no password in it).  The schema is created in a new
 * inventory and migrated forward in an older one.  Refused with
 * ERR_INVAL, the database untouched: a file that is not an SQLite
 * database, a schema newer than INV_SCHEMA_VERSION, a missing file or an
 * empty PostgreSQL database without INV_OPEN_CREATE, a password in the
 * URL.  opt may be NULL.  On success *invp is the caller's (inv_close).
 */
enum err_code	inv_open(const char *database, int flags,
		    const struct inv_options *opt, struct inv **invp,
		    struct err *);
/* inv_open of the configured inventory: [inventory] database and
 * password_file, the writer's [castiron] site. */
struct config;
enum err_code	inv_open_config(const struct config *, int flags,
		    struct inv **invp, struct err *);
void	inv_close(struct inv *);	/* NULL is fine */
/* The database for messages: the path, or the URL without secrets. */
const char *inv_path(const struct inv *);
/* "sqlite" or "postgresql". */
const char *inv_backend(const struct inv *);

/* ---------------------------------------------------------------------
 * Hosts, as provision sees them
 */

#define INV_MAXMACS	16

/*
 * The process that runs a provisioning run, recorded on every host it
 * moves to provisioning, so that a later run can tell a run that still
 * lives from one that died (Ctrl-C twice, a crash, kill -9).  start is
 * opaque here: provision writes the process's start time in clock ticks
 * since boot and the boot's id (a reused pid, or the same pid after a
 * reboot, is another process).
 */
struct inv_owner {
	char		 host[254];	/* the appliance's host name */
	int64_t		 pid;
	char		 start[64];
};

struct inv_host {
	int64_t		 id;
	char		 hostname[254];
	char		 site[65];
	char		 rack[65];	/* "" when not racked */
	unsigned	 unit;		/* 0 when unknown */
	char		 serial[65];	/* "" when unknown */
	char		 bmc[254];	/* BMC address (IP or name), "" when none */
	char		 bmc_driver[8];	/* "redfish", "ipmi", "" for the default */
	char		 address[64];	/* the host's address, "" when none */
	unsigned	 prefixlen;	/* its static prefix length, 0: none */
	char		 gateway[64];	/* its static gateway, "" when none */
	char		 role[65];
	char		 image[65];	/* image written (or to write), "" */
	char		 disk[256];	/* the host's own target disk, "" */
	char		 macs[INV_MAXMACS][18];	/* enrolled MACs, lower case */
	size_t		 nmacs;
	int		 state;		/* enum host_state */
	int		 step;		/* enum prov_step: current or failed */
	int		 step_done;	/* last step completed and verified */
	struct inv_owner owner;		/* of the run, while provisioning;
					   host "" when none is recorded */
	char		 created_at[32];	/* RFC 3339 UTC */
	char		 updated_at[32];
};

/* Fills *h.  ERR_NOENT when there is no such host. */
enum err_code	inv_host_find(struct inv *, const char *hostname,
		    struct inv_host *h, struct err *);

/* Hosts of a rack (site may be NULL when rack names are unique), or of a
 * site (rack NULL), ordered by rack and unit then hostname.  *hosts is
 * the caller's (free()); *n may be 0.  A NULL site for inv_hosts_by_site
 * is every host. */
enum err_code	inv_hosts_by_rack(struct inv *, const char *site,
		    const char *rack, struct inv_host **hosts, size_t *n,
		    struct err *);
enum err_code	inv_hosts_by_site(struct inv *, const char *site,
		    struct inv_host **hosts, size_t *n, struct err *);

/* ---------------------------------------------------------------------
 * A provisioning run.  actor names who acts ("provision:alice"); reason
 * is free text (NULL allowed).  All are transactions and events.
 */

/*
 * The run this handle acts for (copied; NULL: none, the default).
 * inv_run_begin records it as the host's owner; every later call of the
 * run on that host (step events, fail, active) is refused with
 * ERR_WRONGSTATE once the host has another owner (a later run took it over).
 */
void	inv_run_owner(struct inv *, const struct inv_owner *);

/*
 * Moves the host to `provisioning` when provision may (enrolled,
 * maintenance, failed; active only with force), records the handle's
 * owner (inv_run_owner), and returns in *resume_from the first step to
 * run: the step after the last completed one for a failed host (a
 * resumed run), STEP_POWER otherwise (a fresh run forgets earlier
 * completed steps).  ERR_WRONGSTATE when the state does not allow it (err
 * lists what would).
 */
enum err_code	inv_run_begin(struct inv *, const char *hostname,
		    const char *actor, int force, const char *reason,
		    int *resume_from, struct err *);

enum inv_step_event {
	INV_STEP_START,		/* the step began: host.step = step */
	INV_STEP_DONE,		/* the step completed and verified:
				   host.step_done = step */
	INV_STEP_NOTE,		/* progress or detail inside a step */
};

/* Records a step event with its byte count and duration (0 when not
 * meaningful).  The host must be provisioning (ERR_WRONGSTATE otherwise). */
enum err_code	inv_step_record(struct inv *, const char *hostname,
		    const char *actor, int step, enum inv_step_event,
		    uint64_t bytes, uint64_t duration_ms, const char *reason,
		    struct err *);

/*
 * A host left in provisioning by a run that is gone: provisioning ->
 * failed, keeping the step (so that inv_run_begin then resumes after the
 * last completed one), with reason in the event.  Only while the host's
 * recorded owner is still `gone` (ERR_WRONGSTATE otherwise: another run has
 * taken it, or it left provisioning).  Whether `gone` is gone is the
 * caller's judgement.
 */
enum err_code	inv_run_takeover(struct inv *, const char *hostname,
		    const char *actor, const struct inv_owner *gone,
		    const char *reason, struct err *);

/* provisioning -> failed, keeping the step and the reason. */
enum err_code	inv_run_fail(struct inv *, const char *hostname,
		    const char *actor, int step, const char *reason,
		    struct err *);

/* provisioning -> active. */
enum err_code	inv_run_active(struct inv *, const char *hostname,
		    const char *actor, const char *reason, struct err *);

/* The last step completed and verified (STEP_NONE when none): a resumed
 * run starts after it. */
enum err_code	inv_step_last_done(struct inv *, const char *hostname,
		    int *step, struct err *);

/* The image written to (or chosen for) the host. */
enum err_code	inv_image_set(struct inv *, const char *hostname,
		    const char *image, const char *actor, struct err *);

/* The host with that MAC (enrolled or learned); ERR_NOENT when none. */
enum err_code	inv_host_by_mac(struct inv *, const char *mac,
		    struct inv_host *h, struct err *);

/* Records a MAC the host's BMC reports that the enrollment lacked, as an
 * enrolled NIC and an event; *learned is 0 when it was known already.
 * ERR_INVAL when another host has it (err names that host). */
enum err_code	inv_mac_learn(struct inv *, const char *hostname,
		    const char *actor, const char *mac, int *learned,
		    struct err *);

/* ---------------------------------------------------------------------
 * Hardware facts (found by inspection).
 */

struct inv_disk {
	char		name[64];	/* "sda", "nvme0n1" */
	uint64_t	size_bytes;
	char		model[128];
	char		serial[128];
	int		rotational;
	int		removable;
};

struct inv_nic {
	char		name[64];	/* "eno1" */
	char		mac[18];	/* aa:bb:cc:dd:ee:ff */
	uint64_t	speed_mbps;	/* 0 when unknown */
};

/* An accelerator: a PCI device of the display (0x03: VGA, 3D, ...) or
 * processing-accelerator (0x12) class. */
struct inv_gpu {
	char		pci_slot[16];	/* "0000:3b:00.0" */
	char		class[8];	/* class and subclass, hex: "0302" */
	char		vendor[128];	/* from pci.ids, else the hex id */
	char		model[128];	/* from pci.ids, else the hex id */
	int64_t		memory_mb;	/* -1 when /sys does not tell */
};

struct inv_facts {
	char		 cpu_model[128];
	unsigned	 cpu_cores;
	uint64_t	 memory_mb;
	char		 sys_vendor[128];
	char		 sys_product[128];
	char		 sys_serial[128];
	struct inv_disk	*disks;		/* owned by the struct */
	size_t		 ndisks;
	struct inv_nic	*nics;
	size_t		 nnics;
	struct inv_gpu	*gpus;		/* in PCI slot order */
	size_t		 ngpus;
};

/*
 * Replaces the host's facts, disks and accelerators with f, and records
 * its NICs: a NIC
 * whose MAC was enrolled gets its name and speed; a new MAC is added
 * (unless another host has it: ERR_INVAL).  Enrolled MACs that were not
 * found stay (provision decides whether that stops the host).  An event
 * records the inspection.  f is not taken.
 */
enum err_code	inv_facts_set(struct inv *, const char *hostname,
		    const char *actor, const struct inv_facts *f, struct err *);
/* Fills *f (zeroed first; ERR_NOENT for no host); free with
 * inv_facts_free.  A host never inspected gives empty facts. */
enum err_code	inv_facts_get(struct inv *, const char *hostname,
		    struct inv_facts *f, struct err *);
void	inv_facts_free(struct inv_facts *);	/* frees members, not f */

/* ---------------------------------------------------------------------
 * Pinned SSH host keys: one per host.
 */

struct inv_hostkey {
	char	type[32];		/* "ssh-ed25519" */
	char	key[4096];		/* base64 blob, as in known_hosts */
	char	fingerprint[64];	/* "SHA256:..." as ssh-keygen -l */
	char	pinned_at[32];
};

/* ERR_NOENT when the host has no pinned key (or does not exist; err
 * says which). */
enum err_code	inv_hostkey_get(struct inv *, const char *hostname,
		    struct inv_hostkey *k, struct err *);
/* Pins (or replaces) the key; the fingerprint is computed here; ERR_INVAL
 * for a type or base64 blob that is not an SSH public key.  An event. */
enum err_code	inv_hostkey_set(struct inv *, const char *hostname,
		    const char *actor, const char *type, const char *key_b64,
		    struct err *);
/* Drops the pinned key (ERR_NOENT when none).  An event. */
enum err_code	inv_hostkey_forget(struct inv *, const char *hostname,
		    const char *actor, const char *reason, struct err *);
/* The OpenSSH SHA256 fingerprint ("SHA256:" + unpadded base64 of the
 * digest of the decoded blob) of a base64 key blob. */
enum err_code	inv_hostkey_fingerprint(const char *key_b64, char *out,
		    size_t outlen, struct err *);

/* ---------------------------------------------------------------------
 * The operator's commands (cli/cmd_inventory.c)
 */

/* Errors of a validation: every bad row, one line each. */
struct inv_errors {
	char	**msg;
	size_t	  n;
	size_t	  total;	/* problems found; n <= total (capped list) */
};
void	inv_errors_clear(struct inv_errors *);

/* A host to enroll, from `inventory add` or one CSV row.  Empty strings
 * (or NULL) mean "not given"; macs is ';' or ','-separated; address is
 * ADDRESS or ADDRESS/PREFIXLEN (a static address), and a gateway needs
 * the prefix length and must lie in that subnet. */
struct inv_enroll {
	const char	*hostname, *site, *rack, *unit, *serial, *bmc, *macs,
			*address, *gateway, *role, *disk, *bmc_driver;
	int		 line;		/* CSV line, 0 for `add` */
};

/*
 * Validates every row (syntax, duplicates within rows[] and against the
 * database) and, when all are good, enrolls them all in one transaction,
 * each as an `enrolled` event; otherwise writes nothing and returns
 * ERR_INVAL with every problem in errs, each prefixed by "where" and the
 * row's line ("hosts.csv:7: ...").
 */
enum err_code	inv_enroll(struct inv *, const struct inv_enroll *rows,
		    size_t n, const char *where, const char *actor,
		    struct inv_errors *errs);

/*
 * Reads a CSV file (header hostname,site,rack,unit,serial,bmc,macs,
 * address,role, and optionally gateway and disk, in any order; RFC 4180
 * quoting) and enrolls every row, or none.  ERR_INVAL with every bad row
 * in errs.
 */
enum err_code	inv_import_csv(struct inv *, const char *path,
		    const char *actor, size_t *imported,
		    struct inv_errors *errs);

/* An operator's transition; ERR_WRONGSTATE lists the legal states in err. */
enum err_code	inv_host_set_state(struct inv *, const char *hostname,
		    int state, const char *actor, const char *reason,
		    struct err *);
/* Removes the host with its NICs, disks, facts and key; its events stay.
 * Refused (ERR_WRONGSTATE) while it is provisioning. */
enum err_code	inv_host_remove(struct inv *, const char *hostname,
		    const char *actor, struct err *);

/* ---------------------------------------------------------------------
 * Reading, for people and scripts (list, show, report): typed rows
 * through cursors, with no presentation; cli/ renders them.  A cursor
 * reads one snapshot of the database; open one at a time per handle.
 * Every _next returns 1 with *row filled, 0 at the end, or -1 with err
 * set (its code ERR_FAIL).  The row, and everything it points to, belongs to
 * the cursor and lasts until the next _next or _close.  _close takes
 * NULL.
 */

struct inv_filter {
	const char	*hostname;	/* only this host */
	const char	*site, *rack, *role;
	int		 state;		/* -1: any */
};

struct inv_host_nic {
	struct inv_nic	 nic;		/* name "" before inspection */
	int		 enrolled;	/* one of the host's enrolled MACs */
};

/* A host with its facts, disks, NICs, accelerators and pinned key.
 * Strings are NULL when not known. */
struct inv_host_row {
	const char			*hostname, *site, *rack;
	unsigned			 unit;		/* 0 when unknown */
	const char			*serial, *bmc, *address, *role;
	const char			*bmc_driver;	/* NULL: [bmc] driver */
	unsigned			 prefixlen;	/* 0: not static */
	const char			*gateway;
	int				 state;		/* enum host_state */
	int				 step, step_done; /* enum prov_step */
	const char			*image, *disk;
	const char			*cpu_model;
	int64_t				 cpu_cores, memory_mb; /* -1: unknown */
	const char			*sys_vendor, *sys_product, *sys_serial;
	const struct inv_disk		*disks;		/* in name order */
	size_t				 ndisks;
	const struct inv_host_nic	*nics;		/* in enrollment order */
	size_t				 nnics;
	const struct inv_gpu		*gpus;		/* in PCI slot order */
	size_t				 ngpus;
	const char			*owner_host;	/* NULL: no run owns it */
	int64_t				 owner_pid;
	const char			*owner_start;
	const char			*key_type;	/* NULL: no key pinned */
	const char			*key, *key_fingerprint, *key_pinned_at;
	const char			*created_at, *updated_at;
};

/*
 * Every host matching f (NULL: all), in enrollment order (the order
 * `import` read them).  Streams: memory does not grow with the number of
 * hosts.
 */
struct inv_hosts;
enum err_code	inv_hosts_open(struct inv *, const struct inv_filter *f,
		    struct inv_hosts **curp, struct err *);
int	inv_hosts_next(struct inv_hosts *, const struct inv_host_row **row,
	    struct err *err);
void	inv_hosts_close(struct inv_hosts *);

/* A host's events, oldest first (the host need not exist any more). */
struct inv_event_row {
	const char	*time, *actor;
	const char	*site;			/* the writer's; NULL: unknown */
	const char	*from_state, *to_state;	/* NULL: no transition */
	const char	*step, *reason;		/* NULL when none */
	int64_t		 bytes, duration_ms;	/* -1: none */
};
struct inv_events;
enum err_code	inv_events_open(struct inv *, const char *hostname,
		    struct inv_events **curp, struct err *);
int	inv_events_next(struct inv_events *, const struct inv_event_row **row,
	    struct err *err);
void	inv_events_close(struct inv_events *);

/* report --by: "site", "rack", "state", "role", "model", "image",
 * "gpu". */
int	inv_report_valid_by(const char *by);
/* The hosts (of one site, or of all when site is NULL) grouped by one
 * key, groups sorted by key; a host without a value counts under
 * "(none)"; rack keys are SITE/RACK, model keys the system vendor and
 * product, gpu keys SITE/VENDOR MODEL of an accelerator (a host with two
 * models counts in both groups, and gpus is the number of that model).
 * ERR_INVAL for an unknown by. */
struct inv_report_group {
	const char	*key;
	int64_t		 hosts, cpu_cores, memory_mb, disk_bytes;
	int64_t		 gpus;		/* accelerators */
	int64_t		 states[HS_COUNT];	/* hosts in each state */
};
struct inv_report;
enum err_code	inv_report_open(struct inv *, const char *by,
		    const char *site, struct inv_report **curp, struct err *);
int	inv_report_next(struct inv_report *,
	    const struct inv_report_group **row, struct err *err);
/* Every host once, as one group keyed "total" (a host in two gpu groups
 * counts once here), read after the groups: the cursor yields no group
 * after it.  ERR_OK with *row filled. */
enum err_code	inv_report_total(struct inv_report *,
		    const struct inv_report_group **row, struct err *);
void	inv_report_close(struct inv_report *);

/* Every host in a rack (of one site, or of all when site is NULL), by
 * site, rack and unit (hosts of a rack without a unit first). */
struct inv_unit_row {
	const char	*site, *rack;
	unsigned	 unit;		/* 0 when unknown */
	const char	*hostname;
	int		 state;		/* enum host_state */
};
struct inv_units;
enum err_code	inv_units_open(struct inv *, const char *site,
		    struct inv_units **curp, struct err *);
int	inv_units_next(struct inv_units *, const struct inv_unit_row **row,
	    struct err *err);
void	inv_units_close(struct inv_units *);

/* ---------------------------------------------------------------------
 * Discovered machines (discover.c): machines that network-booted with
 * a MAC no host has, inspected themselves in the enlistment environment
 * and checked in with the boot service.  Each is known by its MACs; its
 * SMBIOS serial, when it matches an enrolled host's, attaches it to that
 * host (its MACs learned by the host), so a rack enrolled from a packing
 * list of serials needs nobody to type a MAC.
 *
 * Attaching a machine to host H (at check-in or by claim) is allowed only
 * when every MAC H has is one of the machine's and no other host has one
 * of them; it adds the machine's other MACs to H as enrolled MACs (an
 * event on H says which and how), gives H the machine's serial when H
 * had none, and removes the discovered row (its history stays, in the
 * discovered machines' own append-only events).
 */

#define INV_SERIAL_MAX	64	/* a discovered machine's serial, bytes
				   (lib/parse.h: valid_dmi_serial) */

struct inv_discovery {
	char			 macs[INV_MAXMACS][18];	/* lower case */
	size_t			 nmacs;		/* 1 or more */
	const char		*serial;	/* NULL or "": none */
	const char		*address;	/* it checked in from; NULL */
	const struct inv_facts	*facts;		/* its inspection; NULL */
};

struct inv_discovery_result {
	int	 is_new;		/* seen for the first time */
	char	 attached[254];		/* the host it was attached to, "" */
	char	 note[640];		/* why a host with its serial did not
					   take it, "" */
};

/*
 * A check-in of the enlistment environment, one transaction: refused
 * with ERR_INVAL for a bad serial (valid_dmi_serial) or MAC, with
 * ERR_WRONGSTATE when one of the MACs is a host's and that host is not
 * the one whose serial the machine has (err names the host and the MAC);
 * else attached to the enrolled host with its serial when that host may
 * take it (above), or recorded (or updated: last seen, address, facts) as
 * discovered.  Text
 * facts are stored with every byte outside printable ASCII made '?'.
 * Every outcome is an event.
 */
enum err_code	inv_discovered_checkin(struct inv *,
		    const struct inv_discovery *, const char *actor,
		    struct inv_discovery_result *res, struct err *);

/*
 * Attaches by hand the discovered machine with MAC or serial key to
 * hostname (inventory claim), one transaction.  ERR_NOENT: no such
 * host, or no discovered machine has that MAC or serial; ERR_INVAL:
 * two machines have that serial (claim by MAC), the host has a MAC the
 * machine does not, another host has one of its MACs or its serial, or
 * the host's serial is another.  *macs_learned: how many MACs the host
 * gained.
 */
enum err_code	inv_discovered_claim(struct inv *, const char *key,
		    const char *hostname, const char *actor,
		    size_t *macs_learned, struct err *);

/* The discovered machines (of one site, or of all when site is NULL),
 * first seen first: every one, read at open (a few racks' worth).
 * Strings are NULL when not known; facts_json is the inspection's disks,
 * NICs and accelerators, {"disks": [...], "nics": [...], "gpus": [...]},
 * as a host object carries them. */
struct inv_discovered_row {
	char		 macs[INV_MAXMACS][18];
	size_t		 nmacs;
	const char	*serial, *site, *address;
	const char	*cpu_model;
	int64_t		 cpu_cores, memory_mb;		/* -1: unknown */
	const char	*sys_vendor, *sys_product;
	const char	*facts_json;
	const char	*note;
	int64_t		 checkins;
	const char	*first_seen, *last_seen;
	const char	*serial_host;	/* the host with its serial, NULL */
	const char	*mac_host;	/* a host that now has one of its
					   MACs (enrolled since), NULL */
};
struct inv_discovered;
enum err_code	inv_discovered_open(struct inv *, const char *site,
		    struct inv_discovered **curp, struct err *);
int	inv_discovered_next(struct inv_discovered *,
	    const struct inv_discovered_row **row, struct err *err);
void	inv_discovered_close(struct inv_discovered *);

/* ---------------------------------------------------------------------
 * Moving a site's inventory into the fleet's (inventory migrate)
 */

struct inv_migrate_result {
	size_t	hosts;		/* copied */
	size_t	hosts_there;	/* already in the target, the same host */
	size_t	events;		/* copied */
	size_t	events_there;	/* copied by an earlier run */
};

/*
 * Copies every host of from (with its NICs, disks, facts, GPUs and pinned
 * key) and every event into to, in one transaction of to.  A host that to
 * already holds (the same name, site, serial and enrollment time: an
 * earlier run) is left as it is, an event copied before is not copied
 * again, so a second run changes nothing.  Any conflict (a hostname,
 * serial, BMC, address, MAC or rack position that to holds for another
 * host) refuses the whole migration: ERR_INVAL with every conflict in
 * errs, by name.  from is not changed (beyond its own schema migration on
 * open).
 */
enum err_code	inv_migrate(struct inv *from, struct inv *to,
		    struct inv_migrate_result *res, struct inv_errors *errs);

#endif
