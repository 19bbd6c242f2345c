/*
 * The ipmi driver of the BMC interface (bmc.h), over Debian's libfreeipmi:
 * IPMI 2.0 over LAN (RMCP+), power through Chassis Control, one-time or
 * persistent boot devices through the System Boot Options, identity from
 * the BMC's FRU.
 *
 * Security first: before any session, the BMC is asked without a session
 * what it speaks (Get Channel Authentication Capabilities) and which RMCP+
 * cipher suites its channel offers (Get Channel Cipher Suites); castiron
 * then opens the strongest suite both ends have among those with both
 * integrity and confidentiality (17, 3, 8, 12, in that order), never one
 * without.  IPMI 1.5 (no RMCP+) is refused unless the site allows it, and
 * even then only with MD5 or MD2 authentication, never a password sent in
 * the clear.
 *
 * Every wait is bounded: name resolution and the first, sessionless
 * exchange by connect_timeout_ms, every later exchange (libfreeipmi's
 * session timeout, with retransmissions inside it) by io_timeout_ms, a
 * power change by power_timeout_ms.  libfreeipmi counts a session as dead
 * when nothing was received for its session timeout, so a handle idle for
 * longer than half of it opens a fresh session before its next command.
 *
 * The password goes to libfreeipmi and nowhere else; no message names it.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <freeipmi/freeipmi.h>

#include "provision/bmc/bmc.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define IPMI_PORT		623
#define IPMI_HOSTLEN		256	/* a name or an address, no port */
#define IPMI_ADDRLEN		(INET6_ADDRSTRLEN + 10)	/* "[v6]:port" */

#define CONNECT_TIMEOUT_MS	5000	/* when the target gives 0 */
#define IO_TIMEOUT_MS		5000
#define POWER_TIMEOUT_MS	120000

/* The privilege castiron asks for: enough for Chassis Control and the
 * System Boot Options, no more. */
#define IPMI_PRIV		IPMI_PRIVILEGE_LEVEL_OPERATOR
/* Open Session asks for that privilege, as ipmitool does, not for "the
 * highest the algorithms allow": a BMC that echoes the requested level
 * (ipmi_sim) or derives its keys from it (boards libfreeipmi's notes name
 * from Supermicro, Sun and Intel) fails the latter. */
#define IPMI_OPEN_FLAGS		IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE

/* Chassis Control values (IPMI 2.0, table 28-4). */
#define CHASSIS_POWER_DOWN	0x00
#define CHASSIS_POWER_UP	0x01
#define CHASSIS_POWER_CYCLE	0x02
#define CHASSIS_HARD_RESET	0x03
#define CHASSIS_SOFT_SHUTDOWN	0x05

/* Raw commands of the sessionless probe (netfn App). */
#define CMD_GET_CHANNEL_AUTH_CAPS	0x38
#define CMD_GET_CHANNEL_CIPHER_SUITES	0x54
#define CHANNEL_CURRENT			0x0e
#define CIPHER_LIST_MAX			64	/* list indices 0..63 */

/* Authentication type bits of Get Channel Authentication Capabilities. */
#define AUTHCAP_MD2		0x02
#define AUTHCAP_MD5		0x04
#define AUTHCAP_EXTENDED	0x80	/* byte 2 bit 7: v2.0 data follows */
#define AUTHCAP_EXT_IPMI20	0x02	/* extended byte: 2.0 connections */

/* The suites castiron accepts, best first: each has integrity and
 * AES-CBC-128 confidentiality (libfreeipmi has none of the RC4 ones). */
static const uint8_t cipher_pref[] = { 17, 3, 8, 12 };
#define NCIPHER		(sizeof(cipher_pref) / sizeof(cipher_pref[0]))

#define IPMI15		0xff	/* the chosen "suite" of an IPMI 1.5 session */

struct ipmi {
	ipmi_ctx_t	 ctx;
	char		 addr[IPMI_ADDRLEN];	/* what libfreeipmi is given */
	uint8_t		 suite;			/* the chosen suite or IPMI15 */
	uint8_t		 authtype;		/* IPMI 1.5 only */
	unsigned	 connect_ms, io_ms, power_ms;
	uint64_t	 last_ms;		/* the last exchange that worked */
};

static pthread_once_t	ipmi_once = PTHREAD_ONCE_INIT;

/* An answer came: the session is alive. */
static void
ipmi_seen(struct bmc *b)
{
	((struct ipmi *)b->priv)->last_ms = mono_ms();
}

/* libfreeipmi initialises libgcrypt on the first RMCP+ open; doing it
 * once here keeps parallel opens (provision's workers) from racing. */
static void
ipmi_init_once(void)
{
	(void)ipmi_rmcpplus_init();
}

/*
 * Address.  The inventory's bmc is ADDR, NAME, ADDR:PORT, NAME:PORT,
 * [IPV6]:PORT or a bare IPv6 address; an https:// URL belongs to Redfish.
 */
static enum err_code
ipmi_addr_parse(const char *s, char *host, size_t hostlen, uint16_t *port,
    struct err *e)
{
	const char	*c1;
	uint8_t		 a[16];
	int		 fam;

	*port = IPMI_PORT;
	if (s == NULL || *s == '\0')
		return err_set(e, ERR_INVAL, "no BMC address");
	if (strstr(s, "://") != NULL)
		return err_set(e, ERR_INVAL, "'%s' is a URL; the ipmi driver "
		    "takes ADDR, NAME, ADDR:PORT or [IPV6]:PORT", s);
	if (*s == '[') {
		const char	*rb = strchr(s, ']');
		size_t		 hl;

		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			return err_set(e, ERR_INVAL, "'%s' is not [IPV6] or "
			    "[IPV6]:PORT", s);
		if (rb[1] == ':' && parse_hostport(s, host, hostlen, port,
		    e) != ERR_OK)
			return ERR_INVAL;
		hl = (size_t)(rb - s - 1);
		if (hl == 0 || hl >= hostlen)
			return err_set(e, ERR_INVAL, "'%s' has an empty or "
			    "over-long address", s);
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, a) != 1)
			return err_set(e, ERR_INVAL, "'%s': '%s' is not an "
			    "IPv6 address", s, host);
		return ERR_OK;
	}
	c1 = strchr(s, ':');
	if (c1 != NULL && strchr(c1 + 1, ':') != NULL) {
		/* Two colons or more: a bare IPv6 address, or a mistake. */
		if (strlen(s) >= hostlen || inet_pton(AF_INET6, s, a) != 1)
			return err_set(e, ERR_INVAL, "'%s' is not an IPv6 "
			    "address; write one with a port as [ADDRESS]:PORT",
			    s);
		memcpy(host, s, strlen(s) + 1);
		return ERR_OK;
	}
	if (c1 != NULL) {
		if (parse_hostport(s, host, hostlen, port, e) != ERR_OK)
			return ERR_INVAL;
	} else {
		if (strlen(s) >= hostlen)
			return err_set(e, ERR_INVAL, "BMC address '%.40s...' "
			    "is too long", s);
		memcpy(host, s, strlen(s) + 1);
	}
	if (parse_ip(host, &fam, a, NULL) == ERR_OK)
		return fam == AF_INET ? ERR_OK : err_set(e, ERR_INVAL,
		    "'%s': write an IPv6 address with a port as "
		    "[ADDRESS]:PORT", s);
	if (valid_hostname(host, e) != ERR_OK) {
		err_prefix(e, "BMC address '%s'", s);
		return ERR_INVAL;
	}
	return ERR_OK;
}

static void
ipmi_addr_format(const struct sockaddr *sa, uint16_t port, char *out,
    size_t outlen)
{
	char	 ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, port);
	}
}

/*
 * A name is resolved here, within connect_timeout_ms, and libfreeipmi is
 * given the address: its own getaddrinfo() would wait as long as the
 * resolver likes.  A lookup still running at the deadline that cannot be
 * cancelled keeps its few bytes (the resolver thread writes into them).
 */
static enum err_code
ipmi_resolve(const char *host, uint16_t port, unsigned timeout_ms,
    char *out, size_t outlen, struct err *e)
{
	struct addrinfo		 hints, *res = NULL, *ai;
	struct gaicb		*g, *list[1];
	struct timespec		 ts;
	uint64_t		 deadline, now;
	enum err_code		 code = ERR_FAIL;
	int			 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
		ipmi_addr_format(res->ai_addr, port, out, outlen);
		freeaddrinfo(res);
		return ERR_OK;
	}

	g = xcalloc(1, sizeof(*g));
	g->ar_name = xstrdup(host);
	g->ar_request = xcalloc(1, sizeof(struct addrinfo));
	((struct addrinfo *)g->ar_request)->ai_socktype = SOCK_DGRAM;
	((struct addrinfo *)g->ar_request)->ai_flags = AI_ADDRCONFIG;
	list[0] = g;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		code = err_set(e, ERR_FAIL, "cannot resolve '%s': %s", host,
		    gai_strerror(rc));
		goto done;
	}
	deadline = mono_ms() + timeout_ms;
	while ((rc = gai_error(g)) == EAI_INPROGRESS &&
	    (now = mono_ms()) < deadline) {
		ts.tv_sec = (time_t)((deadline - now) / 1000);
		ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000L;
		(void)gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	if (rc == EAI_INPROGRESS) {
		code = err_set(e, ERR_TIMEOUT, "resolving '%s' took longer "
		    "than %u ms", host, timeout_ms);
		if (gai_cancel(g) != EAI_CANCELED)
			return code;	/* g stays the resolver's */
		goto done;
	}
	if (rc != 0) {
		code = err_set(e, ERR_FAIL, "cannot resolve '%s': %s", host,
		    gai_strerror(rc));
		goto done;
	}
	code = err_set(e, ERR_FAIL, "'%s' has no IPv4 or IPv6 address",
	    host);
	for (ai = g->ar_result; ai != NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
			ipmi_addr_format(ai->ai_addr, port, out, outlen);
			err_clear(e);
			code = ERR_OK;
			break;
		}
 done:
	if (g->ar_result != NULL)
		freeaddrinfo(g->ar_result);
	free((void *)g->ar_name);
	free((void *)g->ar_request);
	free(g);
	return code;
}

/* libfreeipmi's retransmission interval: a few tries within one exchange. */
static unsigned
ipmi_retransmit_ms(unsigned timeout_ms)
{
	unsigned	r = timeout_ms / 4;

	if (r > 1000)
		r = 1000;
	if (r < 50)
		r = 50;
	if (r >= timeout_ms)
		r = timeout_ms / 2;
	return r;
}

/*
 * Errors.  One line, naming what failed and why; the host and the BMC
 * are prefixed by bmc.c.
 */
static enum err_code
ipmi_fail(struct bmc *b, const char *what, fiid_obj_t rs, uint8_t netfn,
    struct err *e)
{
	struct ipmi	*p = b->priv;
	char		 cc[256];
	uint64_t	 v;
	int		 n = ipmi_ctx_errnum(p->ctx);

	if (bmc_interrupted)	/* a signal broke libfreeipmi's poll() */
		return err_set(e, ERR_FAIL, "%s: interrupted", what);
	switch (n) {
	case IPMI_ERR_SESSION_TIMEOUT:
	case IPMI_ERR_CONNECTION_TIMEOUT:
	case IPMI_ERR_MESSAGE_TIMEOUT:
		return err_set(e, ERR_TIMEOUT, "%s: no answer from the BMC "
		    "within %u ms", what, p->io_ms);
	case IPMI_ERR_PRIVILEGE_LEVEL_INSUFFICIENT:
		return err_set(e, ERR_AUTH, "%s: user '%s' lacks the "
		    "privilege for it", what, b->t.username ? b->t.username :
		    "");
	case IPMI_ERR_BAD_COMPLETION_CODE:
	case IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED:
	case IPMI_ERR_BMC_BUSY:
	case IPMI_ERR_IPMI_ERROR:
		if (rs != NULL && FIID_OBJ_GET(rs, "comp_code", &v) == 1 &&
		    ipmi_completion_code_strerror_cmd_r(rs, netfn, cc,
		    sizeof(cc)) == 0)
			return err_set(e, ERR_FAIL, "%s: the BMC refused it: "
			    "%s (completion code 0x%02x)", what, cc,
			    (unsigned)v);
		break;
	}
	return err_set(e, ERR_FAIL, "%s: %s", what, ipmi_ctx_errormsg(p->ctx));
}

/* The completion code of a failed command, or -1 when it has none. */
static int
ipmi_comp_code(fiid_obj_t rs)
{
	uint64_t	v;

	if (FIID_OBJ_GET(rs, "comp_code", &v) != 1)
		return -1;
	return (int)v;
}

/*
 * The sessionless probe: what the BMC speaks and offers, asked in IPMI
 * 1.5 packets without a session, as the specification allows for these
 * two commands.
 */
struct probe {
	int		ipmi20;		/* RMCP+ sessions supported */
	uint8_t		authtypes;	/* IPMI 1.5 authentication types */
	int		suites_known;	/* the cipher suite list was read */
	uint8_t		offered[CIPHER_LIST_MAX];	/* suite ids */
	size_t		noffered;
	int		acceptable[NCIPHER];	/* offered with integrity and
						 * confidentiality */
};

static int
ipmi_raw(struct bmc *b, ipmi_ctx_t c, const uint8_t *rq, unsigned rqlen,
    uint8_t *rs, unsigned rslen)
{
	int	n;

	b->requests++;
	n = ipmi_cmd_raw(c, IPMI_BMC_IPMB_LUN_BMC, IPMI_NET_FN_APP_RQ, rq,
	    rqlen, rs, rslen);
	/* rs: command, completion code, data. */
	if (n >= 2 && rs[1] != IPMI_COMP_CODE_COMMAND_SUCCESS)
		return -2;
	return n < 2 ? -1 : n;
}

/* Standard and OEM cipher suite records (IPMI 2.0, table 22-19): a start
 * byte, the suite id, (OEM: three IANA bytes,) then algorithm tags. */
static void
ipmi_parse_suites(const uint8_t *d, size_t len, struct probe *pr)
{
	size_t	i = 0, k;

	while (i < len) {
		int	 oem = d[i] == 0xc1;
		uint8_t	 id, auth = 0xff, integ = 0xff, conf = 0xff;
		uint8_t	 a, ig, cf;

		if (d[i] != 0xc0 && d[i] != 0xc1) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		id = d[i + 1];
		i += oem ? 5 : 2;
		for (; i < len && d[i] != 0xc0 && d[i] != 0xc1; i++) {
			switch (d[i] & 0xc0) {
			case 0x00: auth = d[i] & 0x3f; break;
			case 0x40: integ = d[i] & 0x3f; break;
			case 0x80: conf = d[i] & 0x3f; break;
			}
		}
		if (oem)
			continue;
		if (pr->noffered < CIPHER_LIST_MAX)
			pr->offered[pr->noffered++] = id;
		for (k = 0; k < NCIPHER; k++) {
			if (cipher_pref[k] != id)
				continue;
			/* The record must say what the id stands for. */
			if (ipmi_cipher_suite_id_to_algorithms(id, &a, &ig,
			    &cf) == 0 && a == auth && ig == integ && cf == conf)
				pr->acceptable[k] = 1;
		}
	}
}

static enum err_code
ipmi_probe(struct bmc *b, struct probe *pr, struct err *e)
{
	struct ipmi	*p = b->priv;
	ipmi_ctx_t	 c;
	uint8_t		 rq[4], rs[64], list[CIPHER_LIST_MAX * 16];
	size_t		 nlist = 0;
	unsigned	 i;
	enum err_code	 code;
	int		 n = -1;

	memset(pr, 0, sizeof(*pr));
	if ((c = ipmi_ctx_create()) == NULL)
		return err_set(e, ERR_FAIL, "ipmi_ctx_create failed");
	if (ipmi_ctx_open_outofband(c, p->addr, NULL, NULL,
	    IPMI_AUTHENTICATION_TYPE_NONE, IPMI_PRIVILEGE_LEVEL_USER,
	    p->connect_ms, ipmi_retransmit_ms(p->connect_ms), 0,
	    IPMI_FLAGS_NOSESSION) < 0) {
		code = err_set(e, ERR_FAIL, "cannot reach the BMC: %s",
		    ipmi_ctx_errormsg(c));
		goto fail;
	}

	rq[0] = CMD_GET_CHANNEL_AUTH_CAPS;
	rq[1] = 0x80 | CHANNEL_CURRENT;		/* ask for v2.0 data */
	rq[2] = IPMI_PRIV;
	n = ipmi_raw(b, c, rq, 3, rs, sizeof(rs));
	if (n == -2) {
		/* A 1.5-only BMC may refuse the v2.0 bit: ask again. */
		rq[1] = CHANNEL_CURRENT;
		n = ipmi_raw(b, c, rq, 3, rs, sizeof(rs));
	}
	if (n == -1 && (ipmi_ctx_errnum(c) == IPMI_ERR_MESSAGE_TIMEOUT ||
	    ipmi_ctx_errnum(c) == IPMI_ERR_SESSION_TIMEOUT)) {
		code = err_set(e, ERR_TIMEOUT, "no answer from the BMC on UDP "
		    "within %u ms", p->connect_ms);
		goto fail;
	}
	if (n < 6) {
		code = err_set(e, ERR_FAIL, "the BMC did not answer Get Channel "
		    "Authentication Capabilities%s%s", n == -1 ? ": " : "",
		    n == -1 ? ipmi_ctx_errormsg(c) : "");
		goto fail;
	}
	pr->authtypes = rs[3] & 0x3f;
	pr->ipmi20 = (rs[3] & AUTHCAP_EXTENDED) && (rs[5] & AUTHCAP_EXT_IPMI20);
	if (!pr->ipmi20)
		goto done;

	/* The cipher suite records, 16 bytes per list index. */
	for (i = 0; i < CIPHER_LIST_MAX; i++) {
		rq[0] = CMD_GET_CHANNEL_CIPHER_SUITES;
		rq[1] = CHANNEL_CURRENT;
		rq[2] = 0x00;			/* payload type IPMI */
		rq[3] = 0x80 | (uint8_t)i;	/* list by cipher suite */
		n = ipmi_raw(b, c, rq, 4, rs, sizeof(rs));
		if (n < 3)
			break;
		if (n - 3 > 16)
			n = 16 + 3;
		memcpy(list + nlist, rs + 3, (size_t)n - 3);
		nlist += (size_t)n - 3;
		if (n - 3 < 16)
			break;
	}
	if (i == 0 && n < 3) {
		/* No list (an old or quirky BMC): try the suites blind. */
		for (i = 0; i < NCIPHER; i++)
			pr->acceptable[i] = 1;
		goto done;
	}
	pr->suites_known = 1;
	ipmi_parse_suites(list, nlist, pr);
 done:
	ipmi_ctx_close(c);
	ipmi_ctx_destroy(c);
	return ERR_OK;
 fail:
	ipmi_ctx_destroy(c);
	return code;
}

static void
ipmi_offered_str(const struct probe *pr, char *buf, size_t len)
{
	size_t	i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < pr->noffered && off + 5 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u",
		    i ? " " : "", pr->offered[i]);
	if (pr->noffered == 0)
		snprintf(buf, len, "none");
}

/* Sessions: one RMCP+ open with the given suite, or an IPMI 1.5 one.
 * Returns ERR_OK, or the code with e set; *next is set when another
 * suite may still work. */
static enum err_code
ipmi_session_open(struct bmc *b, uint8_t suite, int *next, struct err *e)
{
	struct ipmi	*p = b->priv;
	const char	*user = b->t.username ? b->t.username : "";
	enum err_code	 code;
	int		 rc, n;

	*next = 0;
	if ((p->ctx = ipmi_ctx_create()) == NULL)
		return err_set(e, ERR_FAIL, "ipmi_ctx_create failed");
	if (suite == IPMI15)
		rc = ipmi_ctx_open_outofband(p->ctx, p->addr, user,
		    b->t.password, p->authtype, IPMI_PRIV, p->io_ms,
		    ipmi_retransmit_ms(p->io_ms), 0, 0);
	else
		rc = ipmi_ctx_open_outofband_2_0(p->ctx, p->addr, user,
		    b->t.password, NULL, 0, IPMI_PRIV, suite, p->io_ms,
		    ipmi_retransmit_ms(p->io_ms), IPMI_OPEN_FLAGS, 0);
	/* Get Channel Authentication Capabilities, the session's setup
	 * (Open Session, RAKP 1 and 3, or Get Session Challenge and
	 * Activate Session) and Set Session Privilege Level. */
	b->requests += suite == IPMI15 ? 4 : 5;
	if (rc == 0) {
		p->suite = suite;
		ipmi_seen(b);
		return ERR_OK;
	}
	n = ipmi_ctx_errnum(p->ctx);
	switch (n) {
	case IPMI_ERR_USERNAME_INVALID:
	case IPMI_ERR_PASSWORD_INVALID:
	case IPMI_ERR_K_G_INVALID:
		code = err_set(e, ERR_AUTH, "the BMC refused user '%s' or its "
		    "password", user);
		break;
	case IPMI_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED:
		code = err_set(e, ERR_AUTH, "user '%s' may not act as operator on "
		    "this BMC%s", user, suite == IPMI15 ? "" :
		    " with this cipher suite");
		*next = 1;
		break;
	case IPMI_ERR_CIPHER_SUITE_ID_UNAVAILABLE:
	case IPMI_ERR_AUTHENTICATION_TYPE_UNAVAILABLE:
		code = err_set(e, ERR_TRUST, "the BMC refused cipher suite %u",
		    suite);
		*next = 1;
		break;
	case IPMI_ERR_IPMI_2_0_UNAVAILABLE:
		code = err_set(e, ERR_TRUST, "the BMC does not speak IPMI 2.0 "
		    "(RMCP+)");
		break;
	case IPMI_ERR_SESSION_TIMEOUT:
	case IPMI_ERR_CONNECTION_TIMEOUT:
		code = err_set(e, ERR_TIMEOUT, "opening a session: no answer from "
		    "the BMC within %u ms", p->io_ms);
		break;
	case IPMI_ERR_PARAMETERS:
		if (b->t.password != NULL && strlen(b->t.password) >
		    (suite == IPMI15 ? IPMI_1_5_MAX_PASSWORD_LENGTH :
		    IPMI_2_0_MAX_PASSWORD_LENGTH)) {
			code = err_set(e, ERR_INVAL, "the password is longer than "
			    "IPMI allows (%u bytes)", suite == IPMI15 ?
			    IPMI_1_5_MAX_PASSWORD_LENGTH :
			    IPMI_2_0_MAX_PASSWORD_LENGTH);
			break;
		}
		if (strlen(user) > IPMI_MAX_USER_NAME_LENGTH) {
			code = err_set(e, ERR_INVAL, "user name '%s' is longer than "
			    "IPMI allows (%u bytes)", user,
			    IPMI_MAX_USER_NAME_LENGTH);
			break;
		}
		/* FALLTHROUGH */
	default:
		code = err_set(e, ERR_FAIL, "opening a session: %s",
		    ipmi_ctx_errormsg(p->ctx));
		break;
	}
	ipmi_ctx_destroy(p->ctx);
	p->ctx = NULL;
	return code;
}

static void
ipmi_session_close(struct ipmi *p)
{
	if (p->ctx == NULL)
		return;
	ipmi_ctx_close(p->ctx);		/* Close Session, bounded by io_ms */
	ipmi_ctx_destroy(p->ctx);
	p->ctx = NULL;
}

static enum err_code
ipmi_connect(struct bmc *b, struct err *e)
{
	struct ipmi	*p = b->priv;
	struct probe	 pr;
	char		 offered[CIPHER_LIST_MAX * 4];
	enum err_code	 rc;
	size_t		 k;
	int		 next, tried = 0;

	if ((rc = ipmi_probe(b, &pr, e)) != ERR_OK)
		return rc;
	ipmi_offered_str(&pr, offered, sizeof(offered));
	if (pr.ipmi20) {
		for (k = 0; k < NCIPHER; k++) {
			if (!pr.acceptable[k])
				continue;
			tried++;
			rc = ipmi_session_open(b, cipher_pref[k], &next, e);
			if (rc == ERR_OK) {
				log_debug("%s: ipmi: RMCP+ cipher suite %u "
				    "(the BMC offers %s)", b->t.hostname,
				    cipher_pref[k], pr.suites_known ?
				    offered : "an unknown list");
				return ERR_OK;
			}
			if (!next)
				return rc;
		}
		if (tried > 0 && !b->t.allow_ipmi15)
			return rc;
		if (tried == 0 && !b->t.allow_ipmi15)
			return err_set(e, ERR_TRUST, "the BMC offers no RMCP+ "
			    "cipher suite with integrity and confidentiality "
			    "(it offers %s; castiron takes 17, 3, 8 or 12)",
			    offered);
	} else if (!b->t.allow_ipmi15)
		return err_set(e, ERR_TRUST, "the BMC speaks only IPMI 1.5 "
		    "(no RMCP+): refused unless the site allows IPMI 1.5");

	/* IPMI 1.5, allowed by the site: MD5 or MD2, never in the clear. */
	if (pr.authtypes & AUTHCAP_MD5)
		p->authtype = IPMI_AUTHENTICATION_TYPE_MD5;
	else if (pr.authtypes & AUTHCAP_MD2)
		p->authtype = IPMI_AUTHENTICATION_TYPE_MD2;
	else
		return err_set(e, ERR_TRUST, "the BMC offers IPMI 1.5 only "
		    "with a clear-text password or none: refused");
	if ((rc = ipmi_session_open(b, IPMI15, &next, e)) == ERR_OK)
		log_debug("%s: ipmi: IPMI 1.5 session (%s), allowed by the "
		    "site", b->t.hostname,
		    p->authtype == IPMI_AUTHENTICATION_TYPE_MD5 ? "MD5" : "MD2");
	return rc;
}

/* Before a command: a session idle for half of libfreeipmi's timeout is
 * replaced, since libfreeipmi would call it timed out unsent. */
static enum err_code
ipmi_ready(struct bmc *b, struct err *e)
{
	struct ipmi	*p = b->priv;

	if (p->ctx != NULL && mono_ms() - p->last_ms < p->io_ms / 2)
		return ERR_OK;
	ipmi_session_close(p);
	return ipmi_connect(b, e);
}

static enum err_code
ipmi_open(struct bmc *b, struct err *e)
{
	struct ipmi	*p;
	char		 host[IPMI_HOSTLEN];
	uint16_t	 port;
	enum err_code	 rc;

	pthread_once(&ipmi_once, ipmi_init_once);
	b->priv = p = xcalloc(1, sizeof(*p));
	p->connect_ms = b->t.connect_timeout_ms ? b->t.connect_timeout_ms :
	    CONNECT_TIMEOUT_MS;
	p->io_ms = b->t.io_timeout_ms ? b->t.io_timeout_ms : IO_TIMEOUT_MS;
	p->power_ms = b->t.power_timeout_ms ? b->t.power_timeout_ms :
	    POWER_TIMEOUT_MS;
	if (p->io_ms < 100)
		p->io_ms = 100;
	if (p->connect_ms < 100)
		p->connect_ms = 100;
	if ((rc = ipmi_addr_parse(b->t.address, host, sizeof(host), &port,
	    e)) != ERR_OK)
		return rc;
	if ((rc = ipmi_resolve(host, port, p->connect_ms, p->addr,
	    sizeof(p->addr), e)) != ERR_OK)
		return rc;
	return ipmi_connect(b, e);
}

static void
ipmi_close(struct bmc *b)
{
	struct ipmi	*p = b->priv;

	if (p == NULL)
		return;
	if (p->ctx != NULL)
		b->requests++;
	ipmi_session_close(p);
	free(p);
	b->priv = NULL;
}

/*
 * Power.
 */
static enum err_code
ipmi_power_read(struct bmc *b, enum bmc_power *pw, struct err *e)
{
	struct ipmi	*p;
	fiid_obj_t	 rs;
	uint64_t	 on;
	enum err_code	 rc = ERR_OK;

	if ((rc = ipmi_ready(b, e)) != ERR_OK)
		return rc;
	p = b->priv;
	rs = fiid_obj_create(tmpl_cmd_get_chassis_status_rs);
	if (rs == NULL)
		return err_set(e, ERR_FAIL, "out of memory");
	b->requests++;
	if (ipmi_cmd_get_chassis_status(p->ctx, rs) < 0)
		rc = ipmi_fail(b, "Get Chassis Status", rs,
		    IPMI_NET_FN_CHASSIS_RQ, e);
	else if (FIID_OBJ_GET(rs, "current_power_state.power_is_on",
	    &on) != 1)
		rc = err_set(e, ERR_FAIL, "Get Chassis Status: no power "
		    "state in the BMC's answer");
	else {
		ipmi_seen(b);
		*pw = on ? BMC_POWER_ON : BMC_POWER_OFF;
	}
	fiid_obj_destroy(rs);
	return rc;
}

static enum err_code
ipmi_power_get(struct bmc *b, enum bmc_power *pw, struct err *e)
{
	*pw = BMC_POWER_UNKNOWN;
	return ipmi_power_read(b, pw, e);
}

/* Sends one Chassis Control; *cc gets the completion code of a refusal
 * (-1 when there is none) so a caller can fall back. */
static enum err_code
ipmi_chassis(struct bmc *b, uint8_t op, const char *what, int *cc,
    struct err *e)
{
	struct ipmi	*p;
	fiid_obj_t	 rs;
	enum err_code	 rc = ERR_OK;

	*cc = -1;
	if ((rc = ipmi_ready(b, e)) != ERR_OK)
		return rc;
	p = b->priv;
	if ((rs = fiid_obj_create(tmpl_cmd_chassis_control_rs)) == NULL)
		return err_set(e, ERR_FAIL, "out of memory");
	b->requests++;
	if (ipmi_cmd_chassis_control(p->ctx, op, rs) < 0) {
		*cc = ipmi_comp_code(rs);
		rc = ipmi_fail(b, what, rs, IPMI_NET_FN_CHASSIS_RQ, e);
	} else
		ipmi_seen(b);
	fiid_obj_destroy(rs);
	return rc;
}

/* Polls Get Chassis Status until the target state, for at most
 * timeout_ms (the last poll may end one io_timeout later). */
static enum err_code
ipmi_power_wait(struct bmc *b, enum bmc_power want, uint64_t timeout_ms,
    struct err *e)
{
	uint64_t	 start = mono_ms(), deadline = start + timeout_ms, now;
	uint64_t	 step = 100;
	enum bmc_power	 pw = BMC_POWER_UNKNOWN;
	enum err_code	 rc;

	for (;;) {
		if ((rc = ipmi_power_read(b, &pw, e)) != ERR_OK)
			return rc;
		if (pw == want)
			return ERR_OK;
		if (bmc_interrupted)
			return err_set(e, ERR_FAIL, "interrupted");
		if ((now = mono_ms()) >= deadline)
			break;
		bmc_sleep_ms(step < deadline - now ? step : deadline - now);
		if ((step = step * 3 / 2) > 1000)
			step = 1000;
	}
	return err_set(e, ERR_TIMEOUT, "the BMC still reports power %s "
	    "%llu ms after asking for %s", bmc_power_name(pw),
	    (unsigned long long)(mono_ms() - start), bmc_power_name(want));
}

/* A power change and its wait: on (CHASSIS_POWER_UP) or off. */
static enum err_code
ipmi_power_to(struct bmc *b, enum bmc_power want, struct err *e)
{
	struct ipmi	*p = b->priv;
	enum err_code	 rc;
	int		 cc;

	rc = want == BMC_POWER_ON ?
	    ipmi_chassis(b, CHASSIS_POWER_UP, "power on", &cc, e) :
	    ipmi_chassis(b, CHASSIS_POWER_DOWN, "power off", &cc, e);
	if (rc != ERR_OK)
		return rc;
	return ipmi_power_wait(b, want, p->power_ms, e);
}

static enum err_code
ipmi_power_set(struct bmc *b, enum bmc_action a, struct err *e)
{
	struct ipmi	*p = b->priv;
	enum bmc_power	 pw;
	enum err_code	 rc;
	int		 cc;

	if ((rc = ipmi_power_read(b, &pw, e)) != ERR_OK)
		return rc;
	switch (a) {
	case BMC_ON:
		return pw == BMC_POWER_ON ? ERR_OK :
		    ipmi_power_to(b, BMC_POWER_ON, e);
	case BMC_OFF:
		return pw == BMC_POWER_OFF ? ERR_OK :
		    ipmi_power_to(b, BMC_POWER_OFF, e);
	case BMC_CYCLE:
		if (pw == BMC_POWER_OFF)
			return ipmi_power_to(b, BMC_POWER_ON, e);
		rc = ipmi_chassis(b, CHASSIS_POWER_CYCLE, "power cycle", &cc,
		    e);
		/* A BMC without power cycle (0xcc, 0xc1) gets a hard reset. */
		if (rc == ERR_FAIL &&
		    (cc == IPMI_COMP_CODE_INVALID_DATA_FIELD_IN_REQUEST ||
		    cc == IPMI_COMP_CODE_INVALID_COMMAND)) {
			err_clear(e);
			rc = ipmi_chassis(b, CHASSIS_HARD_RESET, "hard reset",
			    &cc, e);
		}
		return rc;
	case BMC_SOFT_OFF:
		if (pw == BMC_POWER_OFF)
			return ERR_OK;
		rc = ipmi_chassis(b, CHASSIS_SOFT_SHUTDOWN, "soft shutdown",
		    &cc, e);
		if (rc == ERR_OK) {
			rc = ipmi_power_wait(b, BMC_POWER_OFF, p->power_ms, e);
			if (rc != ERR_TIMEOUT)
				return rc;
			log_debug("%s: ipmi: still on %u ms after a soft "
			    "shutdown: powering off", b->t.hostname,
			    p->power_ms);
		} else if (cc == -1)
			return rc;	/* no answer: nothing more to try */
		err_clear(e);		/* a hard off instead */
		return ipmi_power_to(b, BMC_POWER_OFF, e);
	}
	return err_set(e, ERR_INVAL, "unknown power action %d", (int)a);
}

/*
 * Boot device, as ipmitool's "chassis bootdev" sets it: set-in-progress,
 * the BIOS/POST boot-info acknowledge re-armed, the boot flags with their
 * valid bit (and persistent bit), commit-write, set-complete.  The BIOS
 * boot type is [bmc] boot_mode's (uefi, legacy); with "keep" the one the
 * BMC already has, so a UEFI server is not switched to legacy boot.  A
 * BMC clears the valid bit by itself when no restart follows within
 * about 60 s.
 */
static enum err_code
ipmi_boot_progress(struct bmc *b, uint8_t state)
{
	struct ipmi	*p = b->priv;
	fiid_obj_t	 rs;
	int		 r;

	if ((rs = fiid_obj_create(tmpl_cmd_set_system_boot_options_rs)) == NULL)
		return ERR_FAIL;
	b->requests++;
	r = ipmi_cmd_set_system_boot_options_set_in_progress(p->ctx,
	    IPMI_SYSTEM_BOOT_OPTIONS_PARAMETER_VALID_UNLOCKED, state, rs);
	fiid_obj_destroy(rs);
	if (r == 0)
		ipmi_seen(b);
	return r == 0 ? ERR_OK : ERR_FAIL;
}

static enum err_code
ipmi_boot_set(struct bmc *b, enum bmc_bootdev d, int persistent,
    struct err *e)
{
	struct ipmi	*p;
	fiid_obj_t	 rs = NULL, gs = NULL;
	uint64_t	 efi = 0;
	uint8_t		 ack = IPMI_SYSTEM_BOOT_OPTION_BOOT_INFO_UNACKNOWLEDGE;
	uint8_t		 dev;
	enum err_code	 rc = ERR_OK;
	int		 progress, cc;

	dev = d == BMC_BOOT_PXE ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_PXE :
	    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_HARD_DRIVE;
	if ((rc = ipmi_ready(b, e)) != ERR_OK)
		return rc;
	p = b->priv;
	gs = fiid_obj_create(tmpl_cmd_get_system_boot_options_boot_flags_rs);
	rs = fiid_obj_create(tmpl_cmd_set_system_boot_options_rs);
	if (gs == NULL || rs == NULL) {
		rc = err_set(e, ERR_FAIL, "out of memory");
		goto out;
	}

	/* [bmc] boot_mode, else the BIOS boot type the BMC has now (a BMC
	 * that cannot say is taken as legacy). */
	if (b->t.boot_mode == 1 || b->t.boot_mode == 2)
		efi = b->t.boot_mode == 1;
	else {
		b->requests++;
		if (ipmi_cmd_get_system_boot_options_boot_flags(p->ctx, 0, 0,
		    gs) == 0) {
			ipmi_seen(b);
			if (FIID_OBJ_GET(gs, "bios_boot_type", &efi) != 1)
				efi = 0;
		}
	}

	progress = ipmi_boot_progress(b,
	    IPMI_SYSTEM_BOOT_OPTION_SET_IN_PROGRESS) == ERR_OK;

	b->requests++;
	if (ipmi_cmd_set_system_boot_options_boot_info_acknowledge(p->ctx,
	    IPMI_SYSTEM_BOOT_OPTIONS_PARAMETER_VALID_UNLOCKED, &ack, NULL,
	    NULL, NULL, NULL, rs) < 0) {
		/* "Parameter not supported" is no reason to stop. */
		cc = ipmi_comp_code(rs);
		if (cc != 0x80) {
			rc = ipmi_fail(b, "Set System Boot Options (boot info "
			    "acknowledge)", rs, IPMI_NET_FN_CHASSIS_RQ, e);
			goto complete;
		}
	} else
		ipmi_seen(b);

	b->requests++;
	if (ipmi_cmd_set_system_boot_options_boot_flags(p->ctx,
	    IPMI_SYSTEM_BOOT_OPTIONS_PARAMETER_VALID_UNLOCKED,
	    efi ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_EFI :
	    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_PC_COMPATIBLE,
	    persistent ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_PERSISTENTLY :
	    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_FOR_NEXT_BOOT,
	    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID,
	    0, 0, dev, 0, 0,
	    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_CONSOLE_REDIRECTION_DEFAULT,
	    0, 0, 0,
	    IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_FIRMWARE_BIOS_VERBOSITY_DEFAULT,
	    0, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAGS_SET_MUX_TO_RECOMENDED_AT_END_OF_POST,
	    0, 0, rs) < 0) {
		rc = ipmi_fail(b, "Set System Boot Options (boot flags)", rs,
		    IPMI_NET_FN_CHASSIS_RQ, e);
		goto complete;
	}
	ipmi_seen(b);
	if (progress)
		(void)ipmi_boot_progress(b, IPMI_SYSTEM_BOOT_OPTION_SET_COMMIT_WRITE);
 complete:
	if (progress)
		(void)ipmi_boot_progress(b, IPMI_SYSTEM_BOOT_OPTION_SET_COMPLETE);
 out:
	if (gs != NULL)
		fiid_obj_destroy(gs);
	if (rs != NULL)
		fiid_obj_destroy(rs);
	return rc;
}

/*
 * Identity: the FRU of the BMC (device 0), product area first, then the
 * board and chassis areas; the manufacturer from Get Device ID's IANA
 * number when the FRU has none.  IPMI has no standard command for the
 * server's own NICs (LAN parameter 5 is the BMC's MAC), so macs_known
 * stays 0.
 */
static void
ipmi_fru_str(ipmi_fru_ctx_t f, const ipmi_fru_field_t *fld, uint8_t lang,
    char *out, size_t outlen)
{
	char		 buf[IPMI_FRU_AREA_STRING_MAX + 1];
	unsigned	 len = IPMI_FRU_AREA_STRING_MAX;
	size_t		 i, j = 0, end;

	if (fld->type_length_field_length == 0)
		return;
	memset(buf, 0, sizeof(buf));
	if (ipmi_fru_type_length_field_to_string(f, fld->type_length_field,
	    fld->type_length_field_length, lang, buf, &len) < 0)
		return;
	if (len > IPMI_FRU_AREA_STRING_MAX)
		len = IPMI_FRU_AREA_STRING_MAX;
	for (i = 0; i < len && buf[i] == ' '; i++)
		;
	for (; i < len && buf[i] != '\0' && j + 1 < outlen; i++)
		out[j++] = (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?';
	end = j;
	while (end > 0 && out[end - 1] == ' ')
		end--;
	out[end] = '\0';
}

/* What one FRU area says. */
struct fru_area {
	char	manufacturer[128];
	char	model[128];
	char	serial[128];
};

enum { FRU_PRODUCT, FRU_BOARD, FRU_CHASSIS, FRU_NAREAS };

static void
ipmi_fru_read(struct bmc *b, struct fru_area *fa)
{
	struct ipmi	*p = b->priv;
	ipmi_fru_ctx_t	 f;
	uint8_t		*area;
	unsigned	 type, len;
	uint8_t		 lang, ctype;
	uint32_t	 mfg;
	ipmi_fru_field_t a1, a2, a3, a4, a5, a6, a7;

	if ((f = ipmi_fru_ctx_create(p->ctx)) == NULL)
		return;
	area = xmalloc(IPMI_FRU_AREA_SIZE_MAX + 1);
	b->requests++;
	if (ipmi_fru_open_device_id(f, 0) < 0)
		goto out;
	ipmi_seen(b);
	if (ipmi_fru_first(f) < 0)
		goto close;
	do {
		if (ipmi_fru_read_data_area(f, &type, &len, area,
		    IPMI_FRU_AREA_SIZE_MAX) < 0)
			continue;
		ipmi_seen(b);
		memset(&a1, 0, sizeof(a1));
		a2 = a3 = a4 = a5 = a6 = a7 = a1;
		switch (type) {
		case IPMI_FRU_AREA_TYPE_PRODUCT_INFO_AREA:
			if (ipmi_fru_product_info_area(f, area, len, &lang,
			    &a1, &a2, &a3, &a4, &a5, &a6, &a7, NULL, 0) < 0)
				break;
			ipmi_fru_str(f, &a1, lang,
			    fa[FRU_PRODUCT].manufacturer, 128);
			ipmi_fru_str(f, &a2, lang, fa[FRU_PRODUCT].model, 128);
			ipmi_fru_str(f, &a5, lang, fa[FRU_PRODUCT].serial, 128);
			break;
		case IPMI_FRU_AREA_TYPE_BOARD_INFO_AREA:
			if (ipmi_fru_board_info_area(f, area, len, &lang, &mfg,
			    &a1, &a2, &a3, &a4, &a5, NULL, 0) < 0)
				break;
			ipmi_fru_str(f, &a1, lang, fa[FRU_BOARD].manufacturer,
			    128);
			ipmi_fru_str(f, &a2, lang, fa[FRU_BOARD].model, 128);
			ipmi_fru_str(f, &a3, lang, fa[FRU_BOARD].serial, 128);
			break;
		case IPMI_FRU_AREA_TYPE_CHASSIS_INFO_AREA:
			if (ipmi_fru_chassis_info_area(f, area, len, &ctype,
			    &a1, &a2, NULL, 0) < 0)
				break;
			ipmi_fru_str(f, &a2,
			    IPMI_FRU_LANGUAGE_CODE_ENGLISH_LEGACY,
			    fa[FRU_CHASSIS].serial, 128);
			break;
		}
	} while (ipmi_fru_next(f) == 1);
 close:
	ipmi_fru_close_device_id(f);
 out:
	free(area);
	ipmi_fru_ctx_destroy(f);
}

/* The first area (product, board, chassis) that has the field. */
static void
ipmi_fru_pick(char *dst, size_t dstlen, const struct fru_area *fa,
    size_t field)
{
	int	 i;

	for (i = 0; i < FRU_NAREAS; i++) {
		const char *v = (const char *)&fa[i] + field;

		if (v[0] != '\0') {
			snprintf(dst, dstlen, "%.127s", v);
			return;
		}
	}
}

static enum err_code
ipmi_identity(struct bmc *b, struct bmc_identity *id, struct err *e)
{
	struct ipmi	*p;
	struct fru_area	 fa[FRU_NAREAS];
	fiid_obj_t	 rs;
	uint64_t	 v;
	enum err_code	 rc;

	memset(id, 0, sizeof(*id));
	if ((rc = ipmi_ready(b, e)) != ERR_OK)
		return rc;
	p = b->priv;
	memset(fa, 0, sizeof(fa));
	ipmi_fru_read(b, fa);
	ipmi_fru_pick(id->serial, sizeof(id->serial), fa,
	    offsetof(struct fru_area, serial));
	ipmi_fru_pick(id->manufacturer, sizeof(id->manufacturer), fa,
	    offsetof(struct fru_area, manufacturer));
	ipmi_fru_pick(id->model, sizeof(id->model), fa,
	    offsetof(struct fru_area, model));
	if (id->manufacturer[0] == '\0') {
		if ((rs = fiid_obj_create(tmpl_cmd_get_device_id_rs)) == NULL)
			return err_set(e, ERR_FAIL, "out of memory");
		b->requests++;
		if (ipmi_cmd_get_device_id(p->ctx, rs) < 0) {
			rc = ipmi_fail(b, "Get Device ID", rs,
			    IPMI_NET_FN_APP_RQ, e);
			fiid_obj_destroy(rs);
			return rc;
		}
		ipmi_seen(b);
		if (FIID_OBJ_GET(rs, "manufacturer_id.id", &v) == 1 &&
		    IPMI_IANA_ENTERPRISE_ID_VALID(v) &&
		    ipmi_iana_enterprise_numbers[v] != NULL)
			snprintf(id->manufacturer, sizeof(id->manufacturer),
			    "%s", ipmi_iana_enterprise_numbers[v]);
		fiid_obj_destroy(rs);
	}
	id->nmacs = 0;
	id->macs_known = 0;
	return ERR_OK;
}

const struct bmc_ops bmc_ipmi_ops = {
	.name = "ipmi",
	.open = ipmi_open,
	.power_get = ipmi_power_get,
	.power_set = ipmi_power_set,
	.boot_set = ipmi_boot_set,
	.identity = ipmi_identity,
	.close = ipmi_close,
};
