/*
 * Network boot (docs/netboot.md): what provision and the boot service
 * (`castiron boot serve`) share, and the iPXE scripts the service hands
 * out.  They meet in the state directory ([castiron] state_dir/boot/),
 * one set of files per host, each written atomically and owner-only:
 *
 *   HOST.boot     armed by provision before it powers a host for a
 *                 network boot: a one-time token (128 random bits, hex),
 *                 its expiry, the mode;
 *   HOST.checkin  written by the service when the deploy environment
 *                 checks in with that token: the host key it generated,
 *                 its address and MACs; the token is burnt (HOST.boot
 *                 renamed to HOST.used), so a second check-in with it is
 *                 refused and logged as an alarm;
 *   HOST.last     the last thing the service served the host.
 *
 * provision then accepts exactly the checked-in key for that boot.
 */
#ifndef CASTIRON_BOOT_H
#define CASTIRON_BOOT_H

#include <stddef.h>
#include <time.h>

#include "lib/err.h"
#include "lib/sshkey.h"

#define BOOT_TOKEN_HEX	32

struct config;

struct boot_checkin {
	char	host[254];
	char	addr[64];
	char	macs[512];		/* comma-separated, lower case */
	char	hostkey[800];		/* "ssh-ed25519 AAAA..." */
	char	fp[SSH_FP_LEN];
	time_t	time;
};

/* provision: arms a network boot of host (a fresh token, the previous
 * check-in removed), valid for ttl seconds. */
enum err_code	 boot_arm(const struct config *, const char *host,
		    unsigned ttl, char token[BOOT_TOKEN_HEX + 1], struct err *);
/* provision: the check-in of host's armed boot; *found 0 when none yet. */
enum err_code	 boot_checkin_read(const struct config *, const char *host,
		    struct boot_checkin *, int *found, struct err *);

/* service: host's armed, unexpired token ("" when none). */
void		 boot_armed(const struct config *, const char *host,
		    time_t now, char token[BOOT_TOKEN_HEX + 1]);
/* service: the host a token was armed for (used or not); 0 when none. */
int		 boot_token_host(const struct config *, const char *token,
		    char *host, size_t hostlen);
/* service: a check-in.  The token must be armed and unexpired for a
 * host that has one of macs; it is burnt and the check-in recorded.
 * ERR_AUTH for a token that is unknown, expired or used before (*replay
 * set for a used one), ERR_INVAL for bad input. */
enum err_code	 boot_checkin(const struct config *, const char *token,
		    const struct boot_checkin *in, char *host, size_t hostlen,
		    int *replay, struct err *);
/* service: the host whose deploy environment checked in from addr (the
 * latest, when several did); 0 when none. */
int		 boot_host_by_addr(const struct config *, const char *addr,
		    char *host, size_t hostlen);
/* service: records what host was last served. */
void		 boot_note_fetch(const struct config *, const char *host,
		    const char *what, unsigned status);

/* enlist.c: an enlistment check-in's serial and inspection (its MACs
 * are read with every check-in's).  ERR_INVAL, one line, for a serial
 * that is not a string of at most 64 bytes of printable ASCII, or an
 * inspection that is not a string provision's parser reads.  *en is the
 * caller's (boot_enlist_free). */
struct json_t;
struct inspect;
struct boot_enlist {
	char		 serial[65];	/* "" when none */
	struct inspect	*insp;		/* the parsed dump; NULL: none */
};
enum err_code	 boot_enlist_read(const struct json_t *, struct boot_enlist *,
		    struct err *);
void		 boot_enlist_free(struct boot_enlist *);

/* The state of each host the service knows (boot status). */
struct boot_status {
	char	host[254];
	char	state[16];		/* armed, expired, checked-in */
	time_t	expires;
	char	fp[SSH_FP_LEN];
	char	last[300];
};
enum err_code	 boot_status_list(const struct config *, struct boot_status
		    **, size_t *, struct err *);

/* The service's URL as hosts reach it: [boot] url, else http://listen;
 * no trailing '/'. */
void		 boot_base_url(const struct config *, char *buf, size_t len);

/* iPXE scripts; the caller frees them.  base is the service's URL. */
char		*boot_script_chain(const char *base);
char		*boot_script_deploy(const char *base, const char *host,
		    const char *token, const char *cmdline);
char		*boot_script_enlist(const char *base, const char *cmdline);
char		*boot_script_local(void);

/* dnsmasq.c: dnsmasq's castiron.conf and hosts file in [boot]
 * dnsmasq_dir from the configuration and the inventory, each replaced
 * only when it changes (*hosts_changed says whether the hosts file did);
 * and SIGHUP to dnsmasq ([boot] dnsmasq_pidfile) so it reads them. */
enum err_code	 boot_dnsmasq_write(const struct config *, int *hosts_changed,
		    struct err *);
void		 boot_dnsmasq_reload(const struct config *);

/* The service (serve.c): runs until SIGINT or SIGTERM; with [boot]
 * interface set it keeps dnsmasq's hosts file in step with the
 * inventory. */
enum err_code	 boot_serve(const struct config *, struct err *);

#endif
