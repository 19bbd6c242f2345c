/*
 * One interface to a server's BMC, one file per driver (redfish.c,
 * ipmi.c).  A caller opens a BMC for one host, asks for power state,
 * power actions, a boot device and the server's identity, and closes it;
 * close always releases what the BMC holds for us (a Redfish session, an
 * IPMI session), also after an error.  Every wait is bounded by the
 * target's timeouts.  Passwords are never copied into messages: an error
 * names the host and the BMC address, never a secret.
 */
#ifndef CASTIRON_BMC_H
#define CASTIRON_BMC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum bmc_power {
	BMC_POWER_UNKNOWN = 0,
	BMC_POWER_ON,
	BMC_POWER_OFF,
};

enum bmc_action {
	BMC_ON,			/* power on; nothing when already on */
	BMC_OFF,		/* hard power off */
	BMC_CYCLE,		/* restart when on, power on when off */
	BMC_SOFT_OFF,		/* ACPI shutdown, bounded wait, then hard off */
};

enum bmc_bootdev {
	BMC_BOOT_PXE,
	BMC_BOOT_DISK,
};

enum bmc_driver {
	BMC_REDFISH = 0,
	BMC_IPMI,
};

/* What a driver needs to reach one BMC.  Strings are borrowed. */
struct bmc_target {
	const char	*hostname;	/* for messages */
	const char	*address;	/* inventory's bmc: ADDR, NAME, [:PORT],
					 * or an https:// URL */
	enum bmc_driver	 driver;
	const char	*username;
	const char	*password;	/* never logged */
	const char	*ca_bundle;	/* NULL: the system's */
	int		 tls_verify;	/* 0 only by a site's explicit choice */
	int		 allow_ipmi15;	/* IPMI 1.5 (no RMCP+) allowed */
	int		 boot_mode;	/* 0 keep, 1 UEFI, 2 legacy */
	unsigned	 connect_timeout_ms;
	unsigned	 io_timeout_ms;
	unsigned	 power_timeout_ms;	/* a power change to complete */
};

#define BMC_MAXMACS	16

struct bmc_identity {
	char	serial[128];
	char	manufacturer[128];
	char	model[128];
	char	macs[BMC_MAXMACS][18];	/* lower case aa:bb:cc:dd:ee:ff */
	size_t	nmacs;
	int	macs_known;		/* the BMC told us its NICs */
};

struct bmc;

/* The operations each driver implements (redfish.c, ipmi.c). */
struct bmc_ops {
	const char	*name;
	enum err_code	(*open)(struct bmc *, struct err *);
	enum err_code	(*power_get)(struct bmc *, enum bmc_power *,
			    struct err *);
	/* Returns once the BMC reports the target state (or, for CYCLE,
	 * accepted the restart), within power_timeout_ms. */
	enum err_code	(*power_set)(struct bmc *, enum bmc_action,
			    struct err *);
	enum err_code	(*boot_set)(struct bmc *, enum bmc_bootdev,
			    int persistent, struct err *);
	enum err_code	(*identity)(struct bmc *, struct bmc_identity *,
			    struct err *);
	void		(*close)(struct bmc *);
};

struct bmc {
	const struct bmc_ops	*ops;
	struct bmc_target	 t;
	void			*priv;		/* the driver's */
	unsigned		 requests;	/* round trips made, for bench/ */
};

extern const struct bmc_ops bmc_redfish_ops;
extern const struct bmc_ops bmc_ipmi_ops;

/* Set from a SIGINT/SIGTERM handler: waits end early with "interrupted",
 * and close still releases the BMC's session. */
extern volatile sig_atomic_t bmc_interrupted;
/* Sleeps ms, ending early when bmc_interrupted is set (the drivers'
 * waits between polls and retries). */
void		 bmc_sleep_ms(uint64_t ms);

/*
 * Fills *t for one host from the configuration: its BMC address and
 * driver (the inventory's, else [bmc] driver), [bmc] username, and the
 * password of [bmc] password_dir/HOSTNAME when that file exists, else of
 * [bmc] password_file, read into pw (each file regular and owner-only;
 * messages name the file, never its content).  The caller wipes pw.
 */
struct config;
enum err_code	 bmc_target_init(struct bmc_target *, const struct config *,
		    const char *hostname, const char *bmc, const char *driver,
		    char *pw, size_t pwlen, struct err *);

/* bmc.c: dispatch.  bmc_open returns a handle or NULL with err set; the
 * caller always calls bmc_close on a handle it got. */
struct bmc	*bmc_open(const struct bmc_target *, struct err *);
enum err_code	 bmc_power_get(struct bmc *, enum bmc_power *, struct err *);
enum err_code	 bmc_power_set(struct bmc *, enum bmc_action, struct err *);
enum err_code	 bmc_boot_set(struct bmc *, enum bmc_bootdev, int persistent,
		    struct err *);
enum err_code	 bmc_identity(struct bmc *, struct bmc_identity *,
		    struct err *);
void		 bmc_close(struct bmc *);

const char	*bmc_power_name(enum bmc_power);
const char	*bmc_action_name(enum bmc_action);
const char	*bmc_bootdev_name(enum bmc_bootdev);
const char	*bmc_driver_name(enum bmc_driver);

#endif
