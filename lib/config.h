/*
 * castiron.ini: parsed with iniparser into a fresh struct config, validated
 * as a whole against the schema in config.c (every key typed and ranged,
 * unknown sections and keys rejected), every error kept with its file, line,
 * section and key.  A caller swaps a new config in only when it loaded
 * without error (house style rule 12).
 */
#ifndef CASTIRON_CONFIG_H
#define CASTIRON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/parse.h"

#define CONFIG_DEFAULT_PATH	"/etc/castiron/castiron.ini"

enum check_kind { CHECK_HTTP, CHECK_TCP, CHECK_EXEC };
enum reboot_mode { REBOOT_SSH, REBOOT_BMC, REBOOT_NONE, REBOOT_KEXEC };
/* reboot = kexec when the deploy kernel refuses it (provision/step_kexec.c). */
enum kexec_fallback { KEXEC_FALLBACK_NONE, KEXEC_FALLBACK_BMC, KEXEC_FALLBACK_SSH };
enum power_mode { POWER_NONE, POWER_BMC };
/* auto: pull for hosts network-booted through the boot service (power =
 * bmc), push otherwise. */
enum image_transport { TRANSPORT_AUTO, TRANSPORT_PULL, TRANSPORT_PUSH };

struct cfg_image {
	char		*name;
	char		*url;
	char		 sha256[65];
	char		*bmap;		/* NULL when none */
	char		 bmap_sha256[65];	/* "" when not pinned */
	uint64_t	 min_disk;	/* bytes; 0 when not set */
	int		 line;		/* of the section header */
};

/* What an announcement carries, from a [service NAME] or a [prefix P]
 * (bgp/; docs/bgp.md). */
struct cfg_attrs {
	uint32_t	*communities;	/* (a << 16) | b */
	size_t		 ncommunities;
	uint32_t	*large_communities;	/* three words each */
	size_t		 nlarge_communities;
	uint64_t	 med;
	int		 has_med;
};

struct cfg_service {
	char		*name;
	int		 line;
	int		 check;		/* enum check_kind */
	char		*url;		/* http */
	uint64_t	 expect;	/* http status */
	char		*body;		/* http: substring, NULL if none */
	char		*address;	/* tcp: HOST:PORT */
	char		*command;	/* exec */
	int		 shell;		/* exec: run through /bin/sh -c */
	char		*user;		/* exec: run as this user */
	uint64_t	 interval_ms;
	uint64_t	 fast_interval_ms;	/* 0: same as interval */
	uint64_t	 timeout_ms;
	uint64_t	 rise;
	uint64_t	 fall;
	struct prefix	*prefixes;
	size_t		 nprefixes;
	struct cfg_attrs attrs;		/* its prefixes' */
	int		 fail_open;	/* a failure keeps the last announcer */
	uint64_t	 flap_limit;	/* 0: no flap damping */
	uint64_t	 flap_window_ms;
	uint64_t	 flap_hold_ms;
};

/* [prefix P]: what one prefix's announcement carries beside its
 * services' attributes. */
struct cfg_prefix {
	struct prefix	 p;
	int		 line;		/* of the section header */
	struct cfg_attrs attrs;
};

/*
 * [role NAME]: what the configure step writes into the installed system
 * of a host enrolled with that role (provision/role.c, docs/provision.md):
 * the host's castiron.ini (the role's services file and [bgp]
 * allowed_prefixes) and, with local_as, its BIRD configuration.
 */
#define CFG_MAXPEERS	16

struct cfg_role {
	char		*name;
	int		 line;		/* of the section header */
	char		*services;	/* the role's services file */
	struct prefix	*allowed_prefixes;
	size_t		 nallowed_prefixes;
	uint64_t	 local_as;	/* 0: no bird.conf is written */
	uint64_t	 peer_as;
	char		*peers;		/* as given */
	char		**peer;		/* each "gateway" or an address */
	size_t		 npeers;
	struct config	*svc;		/* the services file, as loaded */
};

struct config {
	char		*path;

	struct {
		char	*site;
		char	*state_dir;
	} castiron;

	struct {
		char	*database;	/* a path, or a postgresql:// URL */
		char	*password_file;	/* PostgreSQL's password */
	} inventory;

	struct {
		char		*cache_dir;
		char		*ca_bundle;
		uint64_t	 cache_max;	/* bytes; 0: unlimited */
		uint64_t	 connect_timeout_ms;
		uint64_t	 low_speed_time_ms;
		uint64_t	 retries;
		char		*catalog_url;	/* a signed catalog; NULL: none */
		char		*catalog_pubkey;	/* its signify key */
	} images;
	struct cfg_image	*image;
	size_t			 nimage;

	struct {
		char		*ssh_user;
		char		*ssh_key;
		uint64_t	 ssh_port;
		uint64_t	 parallel;
		char		*image;
		char		*disk;		/* "auto" or a device path */
		int		 reboot;	/* enum reboot_mode */
		int		 kexec_fallback;	/* enum kexec_fallback */
		int		 power;		/* enum power_mode */
		int		 image_transport;	/* enum image_transport */
		uint64_t	 image_streams;	/* sessions for a plain push */
		uint64_t	 boot_timeout_ms;	/* deploy env to answer */
		char		*authorized_keys;
		char		*deploy_host_key;
		uint64_t	 connect_timeout_ms;
		uint64_t	 io_timeout_ms;
		uint64_t	 reboot_timeout_ms;
		char		*reboot_command;	/* run on the host */
		char		*writer;	/* local castiron-writer */
	} provision;

	struct {
		int		 driver;	/* enum bmc_driver: redfish, ipmi */
		char		*username;
		char		*password_file;
		char		*password_dir;	/* one file per hostname; wins */
		char		*ca_bundle;
		int		 tls_verify;
		int		 allow_ipmi15;
		int		 boot_mode;	/* 0 keep, 1 uefi, 2 legacy */
		uint64_t	 connect_timeout_ms;
		uint64_t	 io_timeout_ms;
		uint64_t	 power_timeout_ms;
	} bmc;

	struct {
		char		*listen;	/* the boot service's HOST:PORT */
		char		*url;		/* as hosts reach it; NULL:
						   http://listen */
		char		*deploy_dir;	/* vmlinuz, initrd.img */
		uint64_t	 token_ttl_ms;	/* a boot's one-time token */
		char		*cmdline;	/* deploy kernel's arguments */
		char		*interface;	/* where dnsmasq answers */
		char		*dhcp_range;	/* dnsmasq's dhcp-range */
		char		*dnsmasq_dir;	/* its conf and hosts files */
		char		*dnsmasq_pidfile;	/* to SIGHUP it */
		int		 router_advertisements;	/* IPv6 RA on
						   the interface */
	} boot;

	struct {
		char		*bird_socket;
		char		*include_dir;
		struct prefix	*allowed_prefixes;
		size_t		 nallowed_prefixes;
		char		*drain_file;
		char		*metrics_file;
		char		*control_socket;
		int		 withdraw_on_exit;
		uint64_t	 reconcile_ms;
		uint64_t	 bird_timeout_ms;
		uint64_t	 drain_grace_ms;	/* 0: withdraw at once */
		uint64_t	 drain_local_pref;	/* 0: unchanged */
		uint64_t	 drain_prepend;		/* times drain_prepend_as */
		uint64_t	 drain_prepend_as;
	} bgp;
	struct cfg_service	*service;
	size_t			 nservice;
	struct cfg_prefix	*prefix;
	size_t			 nprefix;
	struct cfg_role		*role;
	size_t			 nrole;
};

/* Errors found while loading; each is one full line ready to print. */
struct cfg_errors {
	char	**msg;
	int	 *line;		/* sorts the messages by place */
	size_t	  n;
};

/*
 * Loads and validates path.  Returns the new config, or NULL when there was
 * any error; errors are appended to errs either way (warnings never).
 * The caller owns the result (config_free) and the errors (cfg_errors_clear).
 */
struct config	*config_load(const char *path, struct cfg_errors *errs);
/* The same, with messages naming the file name (path is only read). */
struct config	*config_load_as(const char *path, const char *name,
		    struct cfg_errors *errs);
/*
 * A role's services file, read from path and named name in messages:
 * [service NAME] and [prefix P] sections only, every prefix inside the
 * role's allowed_prefixes (which the result's [bgp] carries).
 */
struct config	*config_load_role(const char *path, const char *name,
		    const struct cfg_role *, struct cfg_errors *errs);
void		 config_free(struct config *);
void		 cfg_errors_clear(struct cfg_errors *);

const struct cfg_image	 *config_image(const struct config *, const char *name);
const struct cfg_service *config_service(const struct config *, const char *name);
/* The [prefix P] section of p, or NULL. */
const struct cfg_prefix	 *config_prefix(const struct config *,
			    const struct prefix *p);
const struct cfg_role	 *config_role(const struct config *, const char *name);
const char		 *check_kind_name(int);

/* ERR_OK when path is a regular file readable by its owner only (a
 * secret); else ERR_INVAL with err set. */
enum err_code	config_check_secret(const char *path, struct err *);

#endif
