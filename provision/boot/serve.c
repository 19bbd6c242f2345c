/*
 * castiron boot serve: the boot service, on libmicrohttpd.
 *
 *   GET  /boot.ipxe          the script dnsmasq's DHCP points iPXE at: it
 *                            chains to the per-MAC script below
 *   GET  /ipxe/MAC           a host being provisioned (armed by provision,
 *                            boot.h): the deploy environment with its
 *                            one-time token; any other known host: exit,
 *                            so an installed server whose firmware tries
 *                            the network first boots its disk; an unknown
 *                            MAC: the enlistment environment
 *   GET  /deploy/vmlinuz, /deploy/initrd.img   from [boot] deploy_dir
 *   GET  /images/NAME        a verified image of the cache, as stored
 *                            (Range; sent with sendfile): what
 *                            castiron-writer --pull fetches, logged with
 *                            the host that checked in from its address
 *   POST /checkin            the deploy environment's check-in: token,
 *                            MACs, the host key it generated (the reply
 *                            carries root's keys); or, in enlistment
 *                            mode, MACs, serial and inspection: recorded
 *                            as a discovered machine, or attached to the
 *                            host with its serial (inventory/discover.c)
 *
 * With [boot] interface set it also writes dnsmasq's configuration and
 * keeps its hosts file in step with the inventory (dnsmasq.c).
 *
 * Anything else is 404; bad input (a hostile MAC, token or name, a Range
 * beyond the end) a 4xx, logged with the client, nothing served.  Every
 * request is logged with the host it belongs to.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "images/fetch.h"
#include "inventory/inventory.h"
#include "lib/config.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshkey.h"
#include "lib/xmalloc.h"
#include "provision/boot/boot.h"
#include "provision/inspect.h"

#define CHECKIN_MAX	(16u << 10)	/* a check-in's body */

/* One writer of dnsmasq's files at a time: the loop and an attachment. */
static pthread_mutex_t	dnsmasq_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * dnsmasq's hosts file brought in step with the inventory, and dnsmasq
 * told (SIGHUP) when it changed: every 2 s from the service's loop, and at
 * once when a check-in attached a machine to its host, so that the
 * machine's next DHCP request, however soon, gets the host's address.
 */
static void
dnsmasq_follow(const struct config *cfg)
{
	struct err	 e;
	int		 changed;

	if (cfg->boot.interface == NULL)
		return;
	pthread_mutex_lock(&dnsmasq_lock);
	if (boot_dnsmasq_write(cfg, &changed, &e) != ERR_OK)
		log_warnx("boot: dnsmasq: %s", e.msg);
	else if (changed)
		boot_dnsmasq_reload(cfg);
	pthread_mutex_unlock(&dnsmasq_lock);
}

struct srv {
	const struct config	*cfg;
	char			 base[300];	/* as hosts reach us */
};

struct req {
	char	*body;
	size_t	 len;
	int	 toolarge;
};

static void
client(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr		*sa;

	snprintf(buf, len, "?");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    buf, (socklen_t)len);
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type,
    const char *text, const char *host, const char *url, const char *why)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	char			 addr[64];

	client(c, addr, sizeof(addr));
	if (status >= 400)
		log_warnx("boot: %s %s: %u%s%s", addr, url, status,
		    why ? ": " : "", why ? why : "");
	else
		log_info("boot: %s %s: %u (%s)%s%s", addr, url, status,
		    host ? host : "-", why ? ": " : "", why ? why : "");
	r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
	    MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* "bytes=START-[END]": one range; 0 none, 1 set, -1 unsatisfiable. */
static int
parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	char		*end;
	uint64_t	 a, b;

	if (h == NULL)
		return 0;
	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return -1;
	h += 6;
	if (*h < '0' || *h > '9')
		return -1;
	errno = 0;
	a = strtoull(h, &end, 10);
	if (errno || *end != '-')
		return -1;
	h = end + 1;
	if (*h == '\0')
		b = size - 1;
	else {
		b = strtoull(h, &end, 10);
		if (errno || *end != '\0' || b < a)
			return -1;
		if (b >= size)
			b = size - 1;
	}
	if (a >= size)
		return -1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

/* A file, whole or one range, by sendfile. */
static enum MHD_Result
send_file(struct MHD_Connection *c, const char *path, const char *host,
    const char *url)
{
	struct MHD_Response	*r;
	struct stat		 st;
	uint64_t		 off = 0, len;
	enum MHD_Result		 ret;
	char			 cr[96], addr[64];
	int			 fd, rg;

	client(c, addr, sizeof(addr));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (fd != -1)
			close(fd);
		return reply(c, 404, "text/plain", "not here\n", host, url,
		    "no such file");
	}
	len = (uint64_t)st.st_size;
	rg = parse_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_RANGE), (uint64_t)st.st_size, &off, &len);
	if (rg == -1) {
		close(fd);
		snprintf(cr, sizeof(cr), "bytes */%lld", (long long)st.st_size);
		r = MHD_create_response_from_buffer(0, (void *)(uintptr_t)"",
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		ret = MHD_queue_response(c, 416, r);
		MHD_destroy_response(r);
		log_warnx("boot: %s %s: 416 (%s): a range outside the file's "
		    "%lld bytes", addr, url, host ? host : "-",
		    (long long)st.st_size);
		return ret;
	}
	r = MHD_create_response_from_fd_at_offset64(len, fd, off);
	if (r == NULL) {
		close(fd);
		return reply(c, 500, "text/plain", "error\n", host, url,
		    "cannot make the response");
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/octet-stream");
	if (rg == 1) {
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%lld",
		    off, off + len - 1, (long long)st.st_size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	ret = MHD_queue_response(c, rg == 1 ? 206 : 200, r);
	MHD_destroy_response(r);
	log_info("boot: %s %s: %d (%s): %" PRIu64 " bytes from %" PRIu64,
	    addr, url, rg == 1 ? 206 : 200, host ? host : "-", len, off);
	return ret;
}

/* /ipxe/MAC: which script. */
static enum MHD_Result
serve_script(struct srv *s, struct MHD_Connection *c, const char *url,
    const char *macs)
{
	struct inv_host	 h;
	struct inv	*inv;
	char		 mac[18], tok[BOOT_TOKEN_HEX + 1], *text;
	char		 m[18];
	struct err	 e;
	enum MHD_Result	 ret;
	size_t		 i;
	int		 rc;

	/* iPXE's ${mac:hexhyp}: aa-bb-cc-dd-ee-ff. */
	if (strlen(macs) != 17)
		return reply(c, 400, "text/plain", "bad MAC\n", NULL, url,
		    "not a MAC");
	for (i = 0; i < 17; i++)
		m[i] = macs[i] == '-' ? ':' : macs[i];
	m[17] = '\0';
	if (parse_mac(m, mac, NULL) != ERR_OK)
		return reply(c, 400, "text/plain", "bad MAC\n", NULL, url,
		    "not a MAC");
	if (inv_open_config(s->cfg, INV_OPEN_READONLY, &inv, &e) != ERR_OK)
		return reply(c, 503, "text/plain", "inventory\n", NULL, url,
		    e.msg);
	rc = inv_host_by_mac(inv, mac, &h, &e);
	inv_close(inv);
	if (rc == ERR_NOENT) {
		text = boot_script_enlist(s->base, s->cfg->boot.cmdline);
		ret = reply(c, 200, "text/plain", text, NULL, url,
		    "unknown MAC: enlistment");
		free(text);
		return ret;
	}
	if (rc != ERR_OK)
		return reply(c, 503, "text/plain", "inventory\n", NULL, url,
		    e.msg);
	boot_armed(s->cfg, h.hostname, time(NULL), tok);
	if (*tok) {
		text = boot_script_deploy(s->base, h.hostname, tok,
		    s->cfg->boot.cmdline);
		explicit_bzero(tok, sizeof(tok));
		ret = reply(c, 200, "text/plain", text, h.hostname, url,
		    "the deploy environment");
		explicit_bzero(text, strlen(text));
	} else {
		text = boot_script_local();
		ret = reply(c, 200, "text/plain", text, h.hostname, url,
		    "not being provisioned: its own disk");
	}
	free(text);
	boot_note_fetch(s->cfg, h.hostname, url, 200);
	return ret;
}

static enum MHD_Result
serve_image(struct srv *s, struct MHD_Connection *c, const char *url,
    const char *name)
{
	const struct cfg_image	*img;
	const char		*rg;
	char			*path, addr[64], host[254];
	enum MHD_Result		 ret;
	int			 known;

	/* Whose deploy environment asks: the host that checked in from
	 * this address (a pull comes after the check-in). */
	client(c, addr, sizeof(addr));
	known = boot_host_by_addr(s->cfg, addr, host, sizeof(host));
	if (valid_name(name, NULL) != ERR_OK ||
	    (img = config_image(s->cfg, name)) == NULL)
		return reply(c, 404, "text/plain", "no such image\n", NULL, url,
		    "not an image of the configuration");
	if (!img_cached(s->cfg, img))
		return reply(c, 404, "text/plain", "not cached\n", NULL, url,
		    "not in the cache (castiron image fetch)");
	path = img_cache_path(s->cfg, img, ".img");
	ret = send_file(c, path, known ? host : NULL, url);
	free(path);
	/* boot status shows the pull begun (not each of its ranges). */
	rg = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_RANGE);
	if (known && (rg == NULL || strncmp(rg, "bytes=0-", 8) == 0))
		boot_note_fetch(s->cfg, host, url, 200);
	return ret;
}

/*
 * An enlistment check-in (docs/netboot.md): a machine with a MAC no host
 * has, booted into the enlistment environment, reports its MACs, serial
 * and inspection.  It is recorded as discovered, or attached to the
 * enrolled host with its serial (inventory/discover.c).  A serial that is
 * not printable ASCII or too long, or an inspection dump castiron cannot
 * read, is a 400; a MAC of a host that is not the serial's host a 409;
 * nothing is written then.  A 503 when the inventory cannot be written,
 * so that the machine tries again.
 */
static enum MHD_Result
serve_enlist(struct srv *s, struct MHD_Connection *c, const char *url,
    json_t *j, const struct inv_discovery *dv0, const char *addr)
{
	struct inv_discovery_result	 res;
	struct inv_discovery		 dv = *dv0;
	struct inv_facts		 facts = { 0 };
	struct boot_enlist		 en;
	struct inv			*inv;
	struct err			 er, e;
	const char			*serial;
	char				 macs[INV_MAXMACS * 20];
	size_t				 i, off = 0;
	int				 rc, have_facts = 0;

	for (i = 0; i < dv.nmacs; i++)
		off += (size_t)snprintf(macs + off, sizeof(macs) - off, "%s%s",
		    i ? "," : "", dv.macs[i]);
	if (boot_enlist_read(j, &en, &er) != ERR_OK)
		return reply(c, 400, "text/plain", "bad check-in\n", NULL, url,
		    er.msg);
	if (en.insp) {
		inspect_pci_names(en.insp, NULL);
		inspect_to_facts(en.insp, &facts);
		have_facts = 1;
	}
	boot_enlist_free(&en);
	serial = en.serial;
	dv.serial = serial;
	dv.address = addr;
	dv.facts = have_facts ? &facts : NULL;
	if ((rc = inv_open_config(s->cfg, 0, &inv, &e)) == ERR_OK) {
		rc = inv_discovered_checkin(inv, &dv, "boot", &res, &e);
		inv_close(inv);
	}
	if (have_facts)
		inv_facts_free(&facts);
	if (rc == ERR_WRONGSTATE || rc == ERR_INVAL)
		return reply(c, rc == ERR_WRONGSTATE ? 409 : 400, "text/plain",
		    "refused\n", NULL, url, e.msg);
	if (rc != ERR_OK)
		return reply(c, 503, "text/plain", "inventory\n", NULL, url,
		    e.msg);
	if (*res.attached) {
		log_info("boot: %s: the machine with serial %s (MACs %s) is "
		    "host %s: attached, its MACs learned", addr, serial, macs,
		    res.attached);
		dnsmasq_follow(s->cfg);
		boot_note_fetch(s->cfg, res.attached, "checkin (enlistment)",
		    202);
		return reply(c, 202, "text/plain", "attached\n", res.attached,
		    url, "enlistment: attached by its serial");
	}
	if (*res.note)
		log_warnx("boot: %s: %s", addr, res.note);
	log_info("boot: %s: %s machine (MACs %s, serial %s) recorded as "
	    "discovered", addr, res.is_new ? "a new" : "a known", macs,
	    *serial ? serial : "none");
	return reply(c, 202, "text/plain", "recorded\n", NULL, url,
	    "enlistment");
}

/* Root's keys for a deploy environment that checked in with its token:
 * [provision] authorized_keys, and castiron's own (ssh_key + ".pub"), one
 * "authorized_key=LINE" each (what /init reads); only lines that are
 * public keys, each once. */
static char *
reply_keys(const struct config *cfg)
{
	const char	*files[2];
	char		*text = xstrdup("ok\n"), *data, *line, *save, *t, *pub;
	char		 fp[SSH_FP_LEN];
	size_t		 i;

	pub = xsprintf("%s.pub", cfg->provision.ssh_key ?
	    cfg->provision.ssh_key : "");
	files[0] = cfg->provision.authorized_keys;
	files[1] = cfg->provision.ssh_key ? pub : NULL;
	for (i = 0; i < 2; i++) {
		if (files[i] == NULL || (data = file_read_small(files[i],
		    1 << 20, NULL, NULL)) == NULL)
			continue;
		for (line = strtok_r(data, "\r\n", &save); line;
		    line = strtok_r(NULL, "\r\n", &save)) {
			if (sshkey_fp_line(line, fp, NULL) != ERR_OK ||
			    strstr(text, line) != NULL)
				continue;
			t = xsprintf("%sauthorized_key=%s\n", text, line);
			free(text);
			text = t;
		}
		free(data);
	}
	free(pub);
	return text;
}

static enum MHD_Result
serve_checkin(struct srv *s, struct MHD_Connection *c, const char *url,
    struct req *q)
{
	struct boot_checkin	 in;
	struct inv_discovery	 dv;
	struct inv_host		 h;
	struct inv		*inv;
	json_error_t		 je;
	json_t			*j, *macs, *v;
	const char		*token, *key, *mode;
	char			 host[254], fp[SSH_FP_LEN];
	char			 mac[18], *text;
	struct err		 er, e;
	enum MHD_Result		 ret;
	size_t			 i, off = 0;
	int			 replay, mine = 0;

	if (q->toolarge)
		return reply(c, 413, "text/plain", "too large\n", NULL, url,
		    "a check-in over 16 KiB");
	if ((j = json_loadb(q->body ? q->body : "", q->len, 0, &je)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		return reply(c, 400, "text/plain", "bad check-in\n", NULL, url,
		    "not a JSON object");
	}
	mode = json_string_value(json_object_get(j, "mode"));
	token = json_string_value(json_object_get(j, "token"));
	key = json_string_value(json_object_get(j, "hostkey"));
	macs = json_object_get(j, "macs");
	memset(&in, 0, sizeof(in));
	memset(&dv, 0, sizeof(dv));
	client(c, in.addr, sizeof(in.addr));
	if (!json_is_array(macs) || json_array_size(macs) == 0 ||
	    json_array_size(macs) > INV_MAXMACS) {
		json_decref(j);
		return reply(c, 400, "text/plain", "bad check-in\n", NULL, url,
		    "no MACs");
	}
	json_array_foreach(macs, i, v) {
		if (!json_is_string(v) || parse_mac(json_string_value(v), mac,
		    NULL) != ERR_OK) {
			json_decref(j);
			return reply(c, 400, "text/plain", "bad check-in\n",
			    NULL, url, "a bad MAC");
		}
		off += (size_t)snprintf(in.macs + off, sizeof(in.macs) - off,
		    "%s%s", off ? "," : "", mac);
		memcpy(dv.macs[dv.nmacs++], mac, sizeof(mac));
	}
	if (mode && strcmp(mode, "enlist") == 0) {
		ret = serve_enlist(s, c, url, j, &dv, in.addr);
		json_decref(j);
		return ret;
	}
	if (token == NULL || key == NULL || strlen(key) >= sizeof(in.hostkey) ||
	    sshkey_fp_line(key, fp, NULL) != ERR_OK) {
		json_decref(j);
		return reply(c, 400, "text/plain", "bad check-in\n", NULL, url,
		    "no token, or no readable host key");
	}
	snprintf(in.hostkey, sizeof(in.hostkey), "%s", key);
	snprintf(in.fp, sizeof(in.fp), "%s", fp);
	/* The token's host must be the host of one of the MACs. */
	if (!boot_token_host(s->cfg, token, host, sizeof(host))) {
		json_decref(j);
		return reply(c, 403, "text/plain", "refused\n", NULL, url,
		    "an unknown token");
	}
	if (inv_open_config(s->cfg, INV_OPEN_READONLY, &inv, &e) != ERR_OK) {
		json_decref(j);
		return reply(c, 503, "text/plain", "inventory\n", host, url,
		    e.msg);
	}
	json_array_foreach(macs, i, v)
		if (inv_host_by_mac(inv, json_string_value(v), &h,
		    &e) == ERR_OK && strcmp(h.hostname, host) == 0)
			mine = 1;
	inv_close(inv);
	if (!mine) {
		json_decref(j);
		log_warnx("boot: ALARM: %s presented %s's token with MACs %s "
		    "that are not %s's", in.addr, host, in.macs, host);
		return reply(c, 403, "text/plain", "refused\n", host, url,
		    "the MACs are not the token's host's");
	}
	if (boot_checkin(s->cfg, token, &in, host, sizeof(host), &replay,
	    &er) != ERR_OK) {
		json_decref(j);
		if (replay)
			log_warnx("boot: ALARM: %s: %s", in.addr, er.msg);
		return reply(c, er.code == ERR_AUTH ? 403 : 400, "text/plain",
		    "refused\n", host, url, er.msg);
	}
	json_decref(j);
	boot_note_fetch(s->cfg, host, "checkin", 200);
	text = reply_keys(s->cfg);
	ret = reply(c, 200, "text/plain", text, host, url,
	    "checked in with host key");
	free(text);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *datalen, void **con_cls)
{
	struct srv	*s = cls;
	struct req	*q = *con_cls;
	char		*path;
	enum MHD_Result	 ret;

	(void)version;
	if (strcmp(method, "POST") == 0 && strcmp(url, "/checkin") == 0) {
		if (q == NULL) {
			*con_cls = xcalloc(1, sizeof(struct req));
			return MHD_YES;
		}
		if (*datalen > 0) {
			if (q->len + *datalen > CHECKIN_MAX)
				q->toolarge = 1;
			else {
				q->body = xreallocarray(q->body, 1, q->len +
				    *datalen + 1);
				memcpy(q->body + q->len, data, *datalen);
				q->len += *datalen;
				q->body[q->len] = '\0';
			}
			*datalen = 0;
			return MHD_YES;
		}
		return serve_checkin(s, c, url, q);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, 405, "text/plain", "no\n", NULL, url,
		    "method not allowed");
	if (strcmp(url, "/boot.ipxe") == 0) {
		path = boot_script_chain(s->base);
		ret = reply(c, 200, "text/plain", path, NULL, url, NULL);
		free(path);
		return ret;
	}
	if (strncmp(url, "/ipxe/", 6) == 0)
		return serve_script(s, c, url, url + 6);
	if (strcmp(url, "/deploy/vmlinuz") == 0 ||
	    strcmp(url, "/deploy/initrd.img") == 0) {
		path = xsprintf("%s/%s", s->cfg->boot.deploy_dir, url + 8);
		ret = send_file(c, path, NULL, url);
		free(path);
		return ret;
	}
	if (strncmp(url, "/images/", 8) == 0)
		return serve_image(s, c, url, url + 8);
	return reply(c, 404, "text/plain", "not here\n", NULL, url,
	    "no such path");
}

static void
done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode code)
{
	struct req	*q = *con_cls;

	(void)cls, (void)c, (void)code;
	if (q) {
		free(q->body);
		free(q);
		*con_cls = NULL;
	}
}

enum err_code
boot_serve(const struct config *cfg, struct err *e)
{
	struct sockaddr_storage	 ss;
	struct MHD_Daemon	*d;
	struct srv		 s;
	sigset_t		 set;
	char			 host[256];
	uint16_t		 port;
	int			 sig;
	const struct timespec	 tick = { 2, 0 };

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	if (parse_hostport(cfg->boot.listen, host, sizeof(host), &port,
	    e) != ERR_OK) {
		err_prefix(e, "%s: [boot] listen", cfg->path);
		return ERR_INVAL;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	} else
		return err_set(e, ERR_INVAL, "%s: [boot] listen: '%s' is not an "
		    "address", cfg->path, host);
	boot_base_url(cfg, s.base, sizeof(s.base));

	/* The daemon's threads inherit the mask: signals come here. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), port, NULL, NULL,
	    handle, &s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, 4u,
	    MHD_OPTION_CONNECTION_LIMIT, 512u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
	    MHD_OPTION_END);
	if (d == NULL)
		return err_errno(e, ERR_FAIL, "boot: cannot listen on %s",
		    cfg->boot.listen);
	log_info("boot: serving on %s as %s", cfg->boot.listen, s.base);
	sd_notify(0, "READY=1");
	/* dnsmasq's hosts follow the inventory: looked at every 2 s. */
	for (;;) {
		dnsmasq_follow(cfg);
		if ((sig = sigtimedwait(&set, NULL, &tick)) > 0)
			break;
	}
	log_info("boot: %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	MHD_stop_daemon(d);
	return ERR_OK;
}
