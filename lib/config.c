/*
 * The configuration schema and its loader.  iniparser reads the file; a
 * small scan of our own remembers on which line each section and key
 * stands, so that every error can name its place, and catches what
 * iniparser silently merges (a section or key given twice).  Each key is
 * described once in the tables below: its type, range and default.  A
 * value is parsed into a fresh struct config; cross-key rules run after
 * every key was read, so one pass reports every error at once.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iniparser.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

enum key_type {
	KT_STR,		/* any printable text */
	KT_NAME,	/* [A-Za-z0-9._-] */
	KT_PATH,	/* absolute path; need not exist */
	KT_FILE,	/* absolute path of a readable file */
	KT_SECRET,	/* KT_FILE, and not readable by group or others */
	KT_URL,		/* http, https or file */
	KT_UINT,
	KT_DURATION,	/* stored in ms */
	KT_SIZE,	/* stored in bytes */
	KT_BOOL,
	KT_ENUM,	/* stored as the index in choices */
	KT_PREFIXES,	/* comma-separated; stored as array and count */
	KT_SHA256,	/* stored in a char[65] */
	KT_HOSTPORT,
	KT_COMMUNITIES,	/* A:B, comma-separated; uint32 array and count */
	KT_LCOMMUNITIES,	/* A:B:C; three uint32 each, and the count */
	KT_DATABASE,	/* absolute path (SQLite) or postgresql:// URL */
};

struct key {
	const char		*name;
	enum key_type		 type;
	size_t			 off;	/* into struct config, or the element */
	size_t			 off_n;	/* KT_PREFIXES: the count */
	uint64_t		 min, max;
	const char		*def;	/* applied when the key is absent */
	const char *const	*choices;
	int			 required;
};

struct section {
	const char		*name;
	int			 named;		/* "image NAME", "service NAME" */
	const struct key	*keys;
};

static const char *const reboot_modes[] = { "ssh", "bmc", "none", "kexec", NULL };
static const char *const kexec_fallbacks[] = { "none", "bmc", "ssh", NULL };
static const char *const power_modes[] = { "none", "bmc", NULL };
static const char *const transport_modes[] = { "auto", "pull", "push", NULL };
static const char *const check_kinds[] = { "http", "tcp", "exec", NULL };
static const char *const bmc_drivers[] = { "redfish", "ipmi", NULL };
static const char *const boot_modes[] = { "keep", "uefi", "legacy", NULL };

#define C(f)	offsetof(struct config, f)
#define I(f)	offsetof(struct cfg_image, f)
#define S(f)	offsetof(struct cfg_service, f)
#define P(f)	offsetof(struct cfg_prefix, f)
#define R(f)	offsetof(struct cfg_role, f)
#define DAY	(24ULL * 3600 * 1000)

static const struct key keys_castiron[] = {
	{ "site", KT_NAME, C(castiron.site) },
	{ "state_dir", KT_PATH, C(castiron.state_dir), .def = "/var/lib/castiron" },
	{ NULL }
};
static const struct key keys_inventory[] = {
	{ "database", KT_DATABASE, C(inventory.database) },
	{ "password_file", KT_SECRET, C(inventory.password_file) },
	{ NULL }
};
static const struct key keys_images[] = {
	{ "cache_dir", KT_PATH, C(images.cache_dir), .def = "/var/cache/castiron/images" },
	{ "ca_bundle", KT_FILE, C(images.ca_bundle) },
	{ "cache_max", KT_SIZE, C(images.cache_max), 0, 0, 1ULL << 50, "0" },
	{ "connect_timeout", KT_DURATION, C(images.connect_timeout_ms), 0, 100, DAY, "10s" },
	{ "low_speed_time", KT_DURATION, C(images.low_speed_time_ms), 0, 1000, DAY, "30s" },
	{ "retries", KT_UINT, C(images.retries), 0, 0, 100, "5" },
	{ "catalog_url", KT_URL, C(images.catalog_url) },
	{ "catalog_pubkey", KT_FILE, C(images.catalog_pubkey) },
	{ NULL }
};
static const struct key keys_image[] = {
	{ "url", KT_URL, I(url), .required = 1 },
	{ "sha256", KT_SHA256, I(sha256), .required = 1 },
	{ "bmap", KT_URL, I(bmap) },
	{ "bmap_sha256", KT_SHA256, I(bmap_sha256) },
	{ "min_disk", KT_SIZE, I(min_disk), 0, 0, 1ULL << 50, "0" },
	{ NULL }
};
static const struct key keys_provision[] = {
	{ "ssh_user", KT_NAME, C(provision.ssh_user), .def = "root" },
	{ "ssh_key", KT_SECRET, C(provision.ssh_key) },
	{ "ssh_port", KT_UINT, C(provision.ssh_port), 0, 1, 65535, "22" },
	{ "parallel", KT_UINT, C(provision.parallel), 0, 1, 1024, "16" },
	{ "image", KT_NAME, C(provision.image) },
	{ "disk", KT_STR, C(provision.disk), .def = "auto" },
	{ "reboot", KT_ENUM, C(provision.reboot), .def = "ssh", .choices = reboot_modes },
	{ "kexec_fallback", KT_ENUM, C(provision.kexec_fallback), .def = "none", .choices = kexec_fallbacks },
	{ "power", KT_ENUM, C(provision.power), .def = "none", .choices = power_modes },
	{ "image_transport", KT_ENUM, C(provision.image_transport), .def = "auto", .choices = transport_modes },
	{ "image_streams", KT_UINT, C(provision.image_streams), 0, 1, 16, "2" },
	{ "boot_timeout", KT_DURATION, C(provision.boot_timeout_ms), 0, 1000, DAY, "10m" },
	{ "authorized_keys", KT_FILE, C(provision.authorized_keys) },
	{ "deploy_host_key", KT_FILE, C(provision.deploy_host_key) },
	{ "connect_timeout", KT_DURATION, C(provision.connect_timeout_ms), 0, 100, DAY, "10s" },
	{ "io_timeout", KT_DURATION, C(provision.io_timeout_ms), 0, 100, DAY, "60s" },
	{ "reboot_timeout", KT_DURATION, C(provision.reboot_timeout_ms), 0, 1000, DAY, "10m" },
	{ "reboot_command", KT_STR, C(provision.reboot_command), .def = "reboot" },
	{ "writer", KT_PATH, C(provision.writer) },
	{ NULL }
};
static const struct key keys_bmc[] = {
	{ "driver", KT_ENUM, C(bmc.driver), .def = "redfish", .choices = bmc_drivers },
	{ "username", KT_STR, C(bmc.username) },
	{ "password_file", KT_SECRET, C(bmc.password_file) },
	{ "ca_bundle", KT_FILE, C(bmc.ca_bundle) },
	{ "password_dir", KT_PATH, C(bmc.password_dir) },
	{ "tls_verify", KT_BOOL, C(bmc.tls_verify), .def = "yes" },
	{ "allow_ipmi15", KT_BOOL, C(bmc.allow_ipmi15), .def = "no" },
	{ "boot_mode", KT_ENUM, C(bmc.boot_mode), .def = "keep", .choices = boot_modes },
	{ "connect_timeout", KT_DURATION, C(bmc.connect_timeout_ms), 0, 100, DAY, "10s" },
	{ "io_timeout", KT_DURATION, C(bmc.io_timeout_ms), 0, 100, DAY, "30s" },
	{ "power_timeout", KT_DURATION, C(bmc.power_timeout_ms), 0, 100, DAY, "2m" },
	{ NULL }
};
static const struct key keys_boot[] = {
	{ "listen", KT_HOSTPORT, C(boot.listen), .def = "127.0.0.1:8080" },
	{ "url", KT_URL, C(boot.url) },
	{ "deploy_dir", KT_PATH, C(boot.deploy_dir), .def = "/usr/lib/castiron/deploy" },
	{ "token_ttl", KT_DURATION, C(boot.token_ttl_ms), 0, 10000, DAY, "30m" },
	{ "cmdline", KT_STR, C(boot.cmdline), .def = "console=ttyS0 quiet" },
	{ "interface", KT_NAME, C(boot.interface) },
	{ "dhcp_range", KT_STR, C(boot.dhcp_range) },
	{ "dnsmasq_dir", KT_PATH, C(boot.dnsmasq_dir), .def = "/run/castiron/dnsmasq" },
	{ "dnsmasq_pidfile", KT_PATH, C(boot.dnsmasq_pidfile) },
	{ "router_advertisements", KT_BOOL, C(boot.router_advertisements), .def = "no" },
	{ NULL }
};
static const struct key keys_bgp[] = {
	{ "bird_socket", KT_PATH, C(bgp.bird_socket), .def = "/run/bird/bird.ctl" },
	{ "include_dir", KT_PATH, C(bgp.include_dir), .def = "/run/castiron/bird" },
	{ "allowed_prefixes", KT_PREFIXES, C(bgp.allowed_prefixes), C(bgp.nallowed_prefixes) },
	{ "drain_file", KT_PATH, C(bgp.drain_file), .def = "/var/lib/castiron/drain" },
	{ "metrics_file", KT_PATH, C(bgp.metrics_file) },
	{ "control_socket", KT_PATH, C(bgp.control_socket), .def = "/run/castiron/bgp.sock" },
	{ "withdraw_on_exit", KT_BOOL, C(bgp.withdraw_on_exit), .def = "yes" },
	{ "reconcile_interval", KT_DURATION, C(bgp.reconcile_ms), 0, 100, 5000, "5s" },
	{ "bird_timeout", KT_DURATION, C(bgp.bird_timeout_ms), 0, 10, 60000, "2s" },
	{ "drain_grace", KT_DURATION, C(bgp.drain_grace_ms), 0, 0, 3600000, "0s" },
	{ "drain_local_pref", KT_UINT, C(bgp.drain_local_pref), 0, 0, 4294967295U, "0" },
	{ "drain_prepend", KT_UINT, C(bgp.drain_prepend), 0, 0, 10, "0" },
	{ "drain_prepend_as", KT_UINT, C(bgp.drain_prepend_as), 0, 1, 4294967295U },
	{ NULL }
};
static const struct key keys_service[] = {
	{ "check", KT_ENUM, S(check), .choices = check_kinds, .required = 1 },
	{ "url", KT_URL, S(url) },
	{ "expect", KT_UINT, S(expect), 0, 100, 599, "200" },
	{ "body", KT_STR, S(body) },
	{ "address", KT_HOSTPORT, S(address) },
	{ "command", KT_STR, S(command) },
	{ "shell", KT_BOOL, S(shell), .def = "no" },
	{ "user", KT_NAME, S(user) },
	{ "interval", KT_DURATION, S(interval_ms), 0, 10, 3600000, "1s" },
	{ "fast_interval", KT_DURATION, S(fast_interval_ms), 0, 10, 3600000 },
	{ "timeout", KT_DURATION, S(timeout_ms), 0, 1, 3600000 },
	{ "rise", KT_UINT, S(rise), 0, 1, 100, "3" },
	{ "fall", KT_UINT, S(fall), 0, 1, 100, "2" },
	{ "prefixes", KT_PREFIXES, S(prefixes), S(nprefixes), .required = 1 },
	{ "communities", KT_COMMUNITIES, S(attrs.communities), S(attrs.ncommunities) },
	{ "large_communities", KT_LCOMMUNITIES, S(attrs.large_communities), S(attrs.nlarge_communities) },
	{ "med", KT_UINT, S(attrs.med), 0, 0, 4294967295U },
	{ "fail_open", KT_BOOL, S(fail_open), .def = "no" },
	{ "flap_limit", KT_UINT, S(flap_limit), 0, 0, 1000, "0" },
	{ "flap_window", KT_DURATION, S(flap_window_ms), 0, 1000, DAY, "1m" },
	{ "flap_hold", KT_DURATION, S(flap_hold_ms), 0, 1000, DAY, "5m" },
	{ NULL }
};

/* A prefix's own attributes, beside its services' (the same keys). */
static const struct key keys_prefix[] = {
	{ "communities", KT_COMMUNITIES, P(attrs.communities), P(attrs.ncommunities) },
	{ "large_communities", KT_LCOMMUNITIES, P(attrs.large_communities), P(attrs.nlarge_communities) },
	{ "med", KT_UINT, P(attrs.med), 0, 0, 4294967295U },
	{ NULL }
};

/* What a host of the role gets (provision/role.c). */
static const struct key keys_role[] = {
	{ "services", KT_FILE, R(services), .required = 1 },
	{ "allowed_prefixes", KT_PREFIXES, R(allowed_prefixes), R(nallowed_prefixes), .required = 1 },
	{ "local_as", KT_UINT, R(local_as), 0, 1, 4294967295U },
	{ "peer_as", KT_UINT, R(peer_as), 0, 1, 4294967295U },
	{ "peers", KT_STR, R(peers), .def = "gateway" },
	{ NULL }
};

static const struct section sections[] = {
	{ "castiron", 0, keys_castiron },
	{ "inventory", 0, keys_inventory },
	{ "images", 0, keys_images },
	{ "image", 1, keys_image },
	{ "provision", 0, keys_provision },
	{ "bmc", 0, keys_bmc },
	{ "boot", 0, keys_boot },
	{ "bgp", 0, keys_bgp },
	{ "service", 1, keys_service },
	{ "prefix", 1, keys_prefix },	/* named by the prefix itself */
	{ "role", 1, keys_role },
	{ NULL }
};

/* Where each section and key stands in the file. */
struct place {
	char	*section;
	char	*key;		/* NULL for the section header */
	int	 line;
};

struct loader {
	const char	*path;		/* what is read */
	const char	*name;		/* what messages call it */
	const struct cfg_role *role;	/* loading a role's services file */
	FILE		*clean;		/* the file less its malformed lines */
	struct config	*cfg;
	struct cfg_errors *errs;
	struct place	*places;
	size_t		 nplaces;
	int		 failed;
};

/* Keeps a full message (ours now), sorted later by line. */
static void
push_err(struct loader *l, int line, char *full)
{
	l->errs->msg = xreallocarray(l->errs->msg, l->errs->n + 1, sizeof(char *));
	l->errs->line = xreallocarray(l->errs->line, l->errs->n + 1, sizeof(int));
	l->errs->msg[l->errs->n] = full;
	l->errs->line[l->errs->n++] = line;
	l->failed = 1;
}

static void __attribute__((format(printf, 5, 6)))
cerr(struct loader *l, int line, const char *sec, const char *key,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *full;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	if (line > 0 && sec && key)
		xasprintf(&full, "%s:%d: [%s] %s: %s", l->name, line, sec, key, msg);
	else if (line > 0 && sec)
		xasprintf(&full, "%s:%d: [%s]: %s", l->name, line, sec, msg);
	else if (sec && key)
		xasprintf(&full, "%s: [%s] %s: %s", l->name, sec, key, msg);
	else if (sec)
		xasprintf(&full, "%s: [%s]: %s", l->name, sec, msg);
	else if (line > 0)
		xasprintf(&full, "%s:%d: %s", l->name, line, msg);
	else
		xasprintf(&full, "%s: %s", l->name, msg);
	free(msg);
	push_err(l, line, full);
}

static int
place_line(struct loader *l, const char *sec, const char *key)
{
	size_t	 i;

	for (i = 0; i < l->nplaces; i++)
		if (strcmp(l->places[i].section, sec) == 0 &&
		    ((key == NULL && l->places[i].key == NULL) ||
		    (key && l->places[i].key && strcmp(l->places[i].key, key) == 0)))
			return l->places[i].line;
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* A line iniparser can take: blank, comment, [section] or key = value. */
static int
line_ok(const char *line)
{
	const char	*s = line, *rb;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return 1;
	if (*s == '[') {
		if ((rb = strchr(s, ']')) == NULL)
			return 0;
		for (rb++; isspace((unsigned char)*rb); rb++)
			;
		return *rb == '\0' || *rb == ';' || *rb == '#';
	}
	return strchr(s, '=') != NULL && *s != '=';
}

/*
 * The line scan: records places, and reports what iniparser would accept
 * quietly or garble: lines that are neither section, key nor comment,
 * sections and keys given twice, keys before any section.
 */
static int
scan_places(struct loader *l)
{
	FILE	*f;
	char	*line = NULL, *sec = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 lineno = 0;

	if ((f = fopen(l->path, "r")) == NULL) {
		cerr(l, 0, NULL, NULL, "cannot read: %s", strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		char	*s, *eq, *key;
		int	 prev;

		lineno++;
		if ((size_t)n != strlen(line)) {
			cerr(l, lineno, NULL, NULL, "NUL byte in line");
			fputc('\n', l->clean);
			continue;
		}
		/* iniparser refuses a whole file for one bad line; it reads a
		 * copy whose bad lines are blank, so every error is found. */
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (line_ok(line) && (sec != NULL || !strchr(line, '=')))
			fputs(line, l->clean);
		fputc('\n', l->clean);
		s = trim(line);
		if (*s == '\0' || *s == ';' || *s == '#')
			continue;
		if (*s == '[') {
			char *rb = strchr(s, ']');
			if (rb == NULL || (*trim(rb + 1) != '\0' &&
			    *trim(rb + 1) != ';' && *trim(rb + 1) != '#')) {
				cerr(l, lineno, NULL, NULL,
				    "malformed section header: %.60s", s);
				continue;
			}
			*rb = '\0';
			free(sec);
			sec = xstrdup(trim(s + 1));
			lower(sec);
			if ((prev = place_line(l, sec, NULL)) != 0)
				cerr(l, lineno, sec, NULL,
				    "section given twice (first on line %d)", prev);
			key = NULL;
		} else {
			if ((eq = strchr(s, '=')) == NULL) {
				cerr(l, lineno, NULL, NULL,
				    "expected 'key = value': %.60s", s);
				continue;
			}
			if (sec == NULL) {
				cerr(l, lineno, NULL, NULL,
				    "key outside any [section]: %.60s", s);
				continue;
			}
			*eq = '\0';
			key = xstrdup(trim(s));
			lower(key);
			if (*key == '\0') {
				cerr(l, lineno, sec, NULL, "empty key name");
				free(key);
				continue;
			}
			if ((prev = place_line(l, sec, key)) != 0)
				cerr(l, lineno, sec, key,
				    "key given twice (first on line %d)", prev);
		}
		l->places = xreallocarray(l->places, l->nplaces + 1,
		    sizeof(*l->places));
		l->places[l->nplaces].section = xstrdup(sec);
		l->places[l->nplaces].key = key;
		l->places[l->nplaces].line = lineno;
		l->nplaces++;
	}
	if (ferror(f))
		cerr(l, 0, NULL, NULL, "read error: %s", strerror(errno));
	free(line);
	free(sec);
	fclose(f);
	return 0;
}

static enum err_code
check_path(const char *v, struct err *err)
{
	const char	*p;

	if (*v != '/')
		return err_set(err, ERR_INVAL, "'%s' is not an absolute path",
		    v);
	for (p = v; *p; p++)
		if (iscntrl((unsigned char)*p))
			return err_set(err, ERR_INVAL,
			    "path has a control character");
	return ERR_OK;
}

enum err_code
config_check_secret(const char *path, struct err *err)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		return err_errno(err, ERR_INVAL, "%s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, ERR_INVAL, "%s is not a regular file",
		    path);
	if (st.st_mode & 077)
		return err_set(err, ERR_INVAL, "%s holds a secret but is "
		    "readable by group or others (mode %03o; chmod 600 it)",
		    path, (unsigned)st.st_mode & 0777);
	if (access(path, R_OK) == -1)
		return err_errno(err, ERR_INVAL, "%s", path);
	return ERR_OK;
}

/*
 * A list, its items separated by commas or blanks, each of size bytes
 * as item parses it (into zeroed memory; arg is item's), none listed
 * twice: *out (NULL when empty; the caller frees it) and *nout.
 */
static enum err_code
parse_list(const char *v, size_t size, enum err_code (*item)(const char *,
    void *, const void *, struct err *), const void *arg, void **out,
    size_t *nout, struct err *err)
{
	char		*copy, *tok, *save = NULL;
	unsigned char	*list = NULL, *e;
	size_t		 n = 0, i;

	copy = xstrdup(v);
	for (tok = strtok_r(copy, ", \t", &save); tok;
	    tok = strtok_r(NULL, ", \t", &save)) {
		list = xreallocarray(list, n + 1, size);
		e = list + n * size;
		memset(e, 0, size);
		if (item(tok, e, arg, err) != ERR_OK)
			goto fail;
		for (i = 0; i < n; i++)
			if (memcmp(list + i * size, e, size) == 0) {
				err_set(err, ERR_INVAL, "%s is listed twice",
				    tok);
				goto fail;
			}
		n++;
	}
	free(copy);
	*out = list;
	*nout = n;
	return ERR_OK;
fail:
	free(copy);
	free(list);
	return ERR_INVAL;
}

static enum err_code
prefix_item(const char *tok, void *p, const void *arg, struct err *err)
{
	(void)arg;
	return parse_prefix(tok, p, err);
}

static enum err_code
parse_prefix_list(const char *v, struct prefix **out, size_t *nout,
    struct err *err)
{
	void	*list;

	if (parse_list(v, sizeof(**out), prefix_item, NULL, &list, nout,
	    err) != ERR_OK)
		return ERR_INVAL;
	if (*nout == 0)
		return err_set(err, ERR_INVAL, "no prefixes given");
	*out = list;
	return ERR_OK;
}

/*
 * A BGP community: "A:B" (each 0..65535) with *words 2, "A:B:C" (each
 * 0..4294967295) with *words 3.  Stored as uint32s: one, (A << 16) | B,
 * for a community, three for a large one.
 */
static enum err_code
community_item(const char *tok, void *out, const void *arg, struct err *err)
{
	int		 words = *(const int *)arg, k;
	uint64_t	 u, max = words == 2 ? 65535 : UINT32_MAX;
	uint32_t	 w[3];
	char		*t = xstrdup(tok), *part, *psave;

	for (k = 0, part = strtok_r(t, ":", &psave); part && k < 3;
	    part = strtok_r(NULL, ":", &psave), k++) {
		if (parse_uint(part, 0, max, &u, err) != ERR_OK) {
			err_prefix(err, "%s", tok);
			free(t);
			return ERR_INVAL;
		}
		w[k] = (uint32_t)u;
	}
	free(t);
	if (k != words || part != NULL ||
	    strchr(tok, ':') == tok || strstr(tok, "::") ||
	    tok[strlen(tok) - 1] == ':') {
		return err_set(err, ERR_INVAL, "'%s' is not %s", tok,
		    words == 2 ? "a community (A:B, each 0 to 65535)" :
		    "a large community (A:B:C)");
	}
	if (words == 2 && w[0] == 65535 && w[1] == 0) {
		return err_set(err, ERR_INVAL, "65535:0 is GRACEFUL_SHUTDOWN, "
		    "which castiron adds itself while draining");
	}
	if (words == 2)		/* one word: (A << 16) | B */
		w[0] = (w[0] << 16) | w[1];
	memcpy(out, w, (words == 2 ? 1 : 3) * sizeof(*w));
	return ERR_OK;
}

/* Communities (words 2) or large ones (words 3), comma-separated. */
static enum err_code
parse_community_list(const char *v, int words, uint32_t **out, size_t *nout,
    struct err *err)
{
	void	*list;

	if (parse_list(v, (words == 2 ? 1 : 3) * sizeof(**out),
	    community_item, &words, &list, nout, err) != ERR_OK)
		return ERR_INVAL;
	*out = list;
	return ERR_OK;
}

/* Parses one value into base + k->off; ERR_INVAL with err filled. */
static enum err_code
parse_value(const struct key *k, const char *v, void *base, struct err *err)
{
	char		*field = (char *)base + k->off;
	uint64_t	 u;
	int		 b, i;
	const char	*p;

	if (*v == '\0')
		return err_set(err, ERR_INVAL, "empty value");
	for (p = v; *p; p++)
		if (iscntrl((unsigned char)*p) && *p != '\t')
			return err_set(err, ERR_INVAL,
			    "value has a control character");
	switch (k->type) {
	case KT_STR:
		break;
	case KT_NAME:
		if (valid_name(v, err) != ERR_OK)
			return ERR_INVAL;
		break;
	case KT_PATH:
		if (check_path(v, err) != ERR_OK)
			return ERR_INVAL;
		break;
	case KT_DATABASE:
		if (strncmp(v, "postgresql://", 13) != 0 &&
		    strncmp(v, "postgres://", 11) != 0) {
			if (check_path(v, err) != ERR_OK)
				return err_set(err, ERR_INVAL, "'%s' is not an "
				    "absolute path (an SQLite file) nor a "
				    "postgresql:// URL", v);
			break;
		}
		/* The value is never repeated: it may hold a secret. */
		if ((p = url_secret(v)) != NULL)
			return err_set(err, ERR_INVAL, "the URL holds a %s: "
			    "refused (it would show in messages; use "
			    "password_file, ~/.pgpass or PGPASSWORD)", p);
		if (strpbrk(v, " \t") != NULL)
			return err_set(err, ERR_INVAL, "the URL has a space "
			    "(percent-encode it)");
		break;
	case KT_FILE:
		if (check_path(v, err) != ERR_OK)
			return ERR_INVAL;
		if (access(v, R_OK) == -1)
			return err_errno(err, ERR_INVAL, "%s", v);
		break;
	case KT_SECRET:
		if (check_path(v, err) != ERR_OK ||
		    config_check_secret(v, err) != ERR_OK)
			return ERR_INVAL;
		break;
	case KT_URL:
		if (strncmp(v, "http://", 7) != 0 &&
		    strncmp(v, "https://", 8) != 0 &&
		    strncmp(v, "file:///", 8) != 0) {
			return err_set(err, ERR_INVAL, "'%s' is not an "
			    "http://, https:// or file:/// URL", v);
		}
		if (strpbrk(v, " \t") != NULL || strlen(v) < 9)
			return err_set(err, ERR_INVAL, "'%s' is not a valid "
			    "URL", v);
		break;
	case KT_UINT:
		if (parse_uint(v, k->min, k->max, &u, err) != ERR_OK)
			return ERR_INVAL;
		*(uint64_t *)field = u;
		return ERR_OK;
	case KT_DURATION:
		if (parse_duration_ms(v, &u, err) != ERR_OK)
			return ERR_INVAL;
		if (u < k->min || u > k->max) {
			char a[32], c[32];
			return err_set(err, ERR_INVAL, "%s is out of range "
			    "(%s to %s)", v, fmt_duration_ms(k->min, a,
			    sizeof(a)), fmt_duration_ms(k->max, c, sizeof(c)));
		}
		*(uint64_t *)field = u;
		return ERR_OK;
	case KT_SIZE:
		if (parse_size(v, &u, err) != ERR_OK)
			return ERR_INVAL;
		if (u < k->min || u > k->max)
			return err_set(err, ERR_INVAL, "%s is out of range", v);
		*(uint64_t *)field = u;
		return ERR_OK;
	case KT_BOOL:
		if (parse_bool(v, &b, err) != ERR_OK)
			return ERR_INVAL;
		*(int *)field = b;
		return ERR_OK;
	case KT_ENUM:
		for (i = 0; k->choices[i]; i++)
			if (strcmp(v, k->choices[i]) == 0) {
				*(int *)field = i;
				return ERR_OK;
			}
		{
			char	 list[128] = "";
			for (i = 0; k->choices[i]; i++) {
				if (i)
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
				strncat(list, k->choices[i], sizeof(list) - strlen(list) - 1);
			}
			return err_set(err, ERR_INVAL, "'%s' is not one of: %s",
			    v, list);
		}
	case KT_PREFIXES:
		return parse_prefix_list(v, (struct prefix **)(void *)field,
		    (size_t *)(void *)((char *)base + k->off_n), err);
	case KT_SHA256:
		return parse_sha256_hex(v, field, err);
	case KT_COMMUNITIES:
	case KT_LCOMMUNITIES:
		return parse_community_list(v, k->type == KT_COMMUNITIES ? 2 : 3,
		    (uint32_t **)(void *)field,
		    (size_t *)(void *)((char *)base + k->off_n), err);
	case KT_HOSTPORT: {
		char	 host[256];
		uint16_t port;
		if (parse_hostport(v, host, sizeof(host), &port, err) != ERR_OK)
			return ERR_INVAL;
		break;
	}
	}
	*(char **)field = xstrdup(v);
	return ERR_OK;
}

static const struct section *
find_section(const char *name, const char **label)
{
	const struct section	*s;
	size_t			 n;

	*label = NULL;
	for (s = sections; s->name; s++) {
		n = strlen(s->name);
		if (!s->named && strcmp(name, s->name) == 0)
			return s;
		if (s->named && strncmp(name, s->name, n) == 0 &&
		    name[n] == ' ') {
			*label = name + n + 1;
			return s;
		}
	}
	return NULL;
}

static void
load_section(struct loader *l, dictionary *ini, const char *secname,
    const struct section *s, void *base)
{
	const struct key	*k;
	const char		**keys;
	int			 nkeys, i;
	char			 full[512];
	struct err		 err;

	/* Unknown keys first. */
	nkeys = iniparser_getsecnkeys(ini, secname);
	if (nkeys > 0) {
		keys = xcalloc((size_t)nkeys, sizeof(char *));
		iniparser_getseckeys(ini, secname, keys);
		for (i = 0; i < nkeys; i++) {
			const char *kn = keys[i] + strlen(secname) + 1;
			for (k = s->keys; k->name; k++)
				if (strcmp(k->name, kn) == 0)
					break;
			if (k->name == NULL)
				cerr(l, place_line(l, secname, kn), secname, kn,
				    "unknown key");
		}
		free(keys);
	}
	for (k = s->keys; k->name; k++) {
		const char *v;

		snprintf(full, sizeof(full), "%s:%s", secname, k->name);
		v = iniparser_getstring(ini, full, NULL);
		if (v == NULL) {
			if (k->required)
				cerr(l, place_line(l, secname, NULL), secname,
				    k->name, "required key is missing");
			else if (k->def && parse_value(k, k->def, base,
			    &err) != ERR_OK)
				fatalx("default of %s is invalid: %s", k->name,
				    err.msg);
			continue;
		}
		if (parse_value(k, v, base, &err) != ERR_OK)
			cerr(l, place_line(l, secname, k->name), secname,
			    k->name, "%s", err.msg);
	}
}

static int
service_has(const struct loader *l, const char *sec, const char *key)
{
	return place_line((struct loader *)l, sec, key) != 0;
}

/* Rules across keys and sections, once every key was read. */
static void
validate(struct loader *l)
{
	struct config	*c = l->cfg;
	size_t		 i, j, a;
	char		 sec[128], pb[64], d1[32], d2[32];

	if (c->inventory.database == NULL)
		xasprintf(&c->inventory.database, "%s/inventory.db",
		    c->castiron.state_dir);
	if (c->inventory.password_file && strncmp(c->inventory.database,
	    "postgres", 8) != 0)
		cerr(l, place_line(l, "inventory", "password_file"), "inventory",
		    "password_file", "applies to a postgresql:// database "
		    "only (the database is an SQLite file)");
	/* With a signed catalog the image may be one of its entries:
	 * images/catalog.c checks that once the catalog is loaded. */
	if (c->provision.image && c->nimage > 0 &&
	    c->images.catalog_url == NULL &&
	    config_image(c, c->provision.image) == NULL)
		cerr(l, place_line(l, "provision", "image"), "provision",
		    "image", "no [image %s] section", c->provision.image);
	if ((c->images.catalog_url == NULL) != (c->images.catalog_pubkey == NULL))
		cerr(l, place_line(l, "images", c->images.catalog_url ?
		    "catalog_url" : "catalog_pubkey"), "images",
		    c->images.catalog_url ? "catalog_pubkey" : "catalog_url",
		    "required with %s (a catalog is only trusted with its key)",
		    c->images.catalog_url ? "catalog_url" : "catalog_pubkey");
	/* A bmap decides which ranges are written and verified: one that
	 * comes over plain http must be pinned. */
	for (i = 0; i < c->nimage; i++) {
		struct cfg_image *im = &c->image[i];

		snprintf(sec, sizeof(sec), "image %s", im->name);
		if (im->bmap_sha256[0] != '\0' && im->bmap == NULL)
			cerr(l, place_line(l, sec, "bmap_sha256"), sec,
			    "bmap_sha256", "there is no bmap to check");
		if (im->bmap != NULL && im->bmap_sha256[0] == '\0' &&
		    strncmp(im->bmap, "http://", 7) == 0)
			cerr(l, place_line(l, sec, "bmap"), sec, "bmap_sha256",
			    "required when bmap is a plain http:// URL (the "
			    "bmap says which ranges are written and verified)");
	}
	if (c->provision.reboot >= REBOOT_SSH &&
	    c->provision.reboot < REBOOT_KEXEC &&
	    service_has(l, "provision", "kexec_fallback"))
		cerr(l, place_line(l, "provision", "kexec_fallback"), "provision",
		    "kexec_fallback", "applies to reboot = kexec only (reboot "
		    "is %s)", reboot_modes[c->provision.reboot]);
	if (c->provision.disk && strcmp(c->provision.disk, "auto") != 0 &&
	    strncmp(c->provision.disk, "/dev/", 5) != 0)
		cerr(l, place_line(l, "provision", "disk"), "provision", "disk",
		    "'%s' is neither 'auto' nor a /dev/ path", c->provision.disk);

	/* Unix socket paths must fit in sun_path (108 bytes with the NUL). */
	if (c->bgp.bird_socket && strlen(c->bgp.bird_socket) > 107)
		cerr(l, place_line(l, "bgp", "bird_socket"), "bgp",
		    "bird_socket", "longer than 107 bytes (a unix socket path)");
	if (c->bgp.control_socket && strlen(c->bgp.control_socket) > 107)
		cerr(l, place_line(l, "bgp", "control_socket"), "bgp",
		    "control_socket", "longer than 107 bytes (a unix socket path)");

	if (c->bgp.drain_prepend > 0 && c->bgp.drain_prepend_as == 0)
		cerr(l, place_line(l, "bgp", "drain_prepend"), "bgp",
		    "drain_prepend_as", "required with drain_prepend (the AS "
		    "number to prepend)");

	for (i = 0; i < c->nservice; i++) {
		struct cfg_service	*s = &c->service[i];
		static const char *const per_kind[][5] = {
			[CHECK_HTTP] = { "url", "expect", "body", NULL },
			[CHECK_TCP] = { "address", NULL },
			[CHECK_EXEC] = { "command", "shell", "user", NULL },
		};
		static const char *const needs[] = {
			[CHECK_HTTP] = "url", [CHECK_TCP] = "address",
			[CHECK_EXEC] = "command",
		};
		static const char *const kind_keys[] = {
			"url", "expect", "body", "address", "command", "shell",
			"user", NULL
		};

		snprintf(sec, sizeof(sec), "service %s", s->name);
		s->attrs.has_med = service_has(l, sec, "med");
		if (s->check < 0 || s->check > CHECK_EXEC)
			continue;	/* already reported */
		if (!service_has(l, sec, needs[s->check]))
			cerr(l, s->line, sec, needs[s->check],
			    "check = %s needs this key", check_kinds[s->check]);
		for (j = 0; kind_keys[j]; j++) {
			int ok = 0;
			for (a = 0; per_kind[s->check][a]; a++)
				if (strcmp(per_kind[s->check][a], kind_keys[j]) == 0)
					ok = 1;
			if (!ok && service_has(l, sec, kind_keys[j]))
				cerr(l, place_line(l, sec, kind_keys[j]), sec,
				    kind_keys[j], "does not apply to check = %s",
				    check_kinds[s->check]);
		}
		if (s->check == CHECK_HTTP && s->url &&
		    strncmp(s->url, "file:", 5) == 0)
			cerr(l, place_line(l, sec, "url"), sec, "url",
			    "an http check needs an http:// or https:// URL");
		/* Default timeout: half the shortest interval in use. */
		if (s->timeout_ms == 0) {
			uint64_t shortest = s->interval_ms;
			if (s->fast_interval_ms && s->fast_interval_ms < shortest)
				shortest = s->fast_interval_ms;
			s->timeout_ms = shortest / 2 ? shortest / 2 : 1;
		} else if (s->timeout_ms >= s->interval_ms)
			cerr(l, place_line(l, sec, "timeout"), sec, "timeout",
			    "%s is not shorter than interval %s",
			    fmt_duration_ms(s->timeout_ms, d1, sizeof(d1)),
			    fmt_duration_ms(s->interval_ms, d2, sizeof(d2)));
		if (s->fast_interval_ms == 0)
			s->fast_interval_ms = s->interval_ms;
		else if (s->fast_interval_ms > s->interval_ms ||
		    s->fast_interval_ms <= s->timeout_ms)
			cerr(l, place_line(l, sec, "fast_interval"), sec,
			    "fast_interval", "must be longer than timeout and "
			    "no longer than interval");
		for (j = 0; j < s->nprefixes; j++) {
			for (a = 0; a < c->bgp.nallowed_prefixes; a++)
				if (prefix_contains(&c->bgp.allowed_prefixes[a],
				    &s->prefixes[j]))
					break;
			if (a == c->bgp.nallowed_prefixes && l->role)
				cerr(l, place_line(l, sec, "prefixes"), sec,
				    "prefixes", "%s is outside allowed_prefixes "
				    "of [role %s]",
				    prefix_str(&s->prefixes[j], pb, sizeof(pb)),
				    l->role->name);
			else if (a == c->bgp.nallowed_prefixes)
				cerr(l, place_line(l, sec, "prefixes"), sec,
				    "prefixes", "%s is outside allowed_prefixes "
				    "in [bgp]%s",
				    prefix_str(&s->prefixes[j], pb, sizeof(pb)),
				    c->bgp.nallowed_prefixes ? "" : " (none set)");
		}
	}
}

/* A [prefix P] names a prefix some service announces: one that none
 * does is a mistake (a typo, or a service that lost it). */
static void
validate_prefixes(struct loader *l)
{
	struct config	*c = l->cfg;
	size_t		 i, j, k;
	char		 pb[64], sec[80];

	for (k = 0; k < c->nprefix; k++) {
		int found = 0;

		for (i = 0; i < c->nservice && !found; i++)
			for (j = 0; j < c->service[i].nprefixes; j++)
				if (prefix_equal(&c->service[i].prefixes[j],
				    &c->prefix[k].p))
					found = 1;
		if (found)
			continue;
		prefix_str(&c->prefix[k].p, pb, sizeof(pb));
		snprintf(sec, sizeof(sec), "prefix %s", pb);
		cerr(l, c->prefix[k].line, sec, NULL, "no [service NAME] lists "
		    "%s in its prefixes", pb);
	}
}

static struct config *load(const char *, const char *, const struct cfg_role *,
    struct cfg_errors *);

/* A role's peers: "gateway" (the host's, from the inventory) or
 * addresses, each once. */
static void
parse_peers(struct loader *l, struct cfg_role *r, const char *sec)
{
	char		*copy, *tok, *save = NULL;
	struct err	 err;
	uint8_t		 a[16];
	size_t		 i;
	int		 fam, line = place_line(l, sec, "peers");

	copy = xstrdup(r->peers);
	for (tok = strtok_r(copy, ", \t", &save); tok;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "gateway") != 0 &&
		    parse_ip(tok, &fam, a, &err) != ERR_OK) {
			cerr(l, line, sec, "peers", "'%s' is neither 'gateway' "
			    "nor an IP address", tok);
			continue;
		}
		for (i = 0; i < r->npeers; i++)
			if (strcmp(r->peer[i], tok) == 0)
				break;
		if (i < r->npeers) {
			cerr(l, line, sec, "peers", "%s is listed twice", tok);
			continue;
		}
		if (r->npeers == CFG_MAXPEERS) {
			cerr(l, line, sec, "peers", "more than %d peers",
			    CFG_MAXPEERS);
			break;
		}
		r->peer = xreallocarray(r->peer, r->npeers + 1, sizeof(char *));
		r->peer[r->npeers++] = xstrdup(tok);
	}
	free(copy);
	if (r->npeers == 0 && r->peers[strspn(r->peers, ", \t")] == '\0')
		cerr(l, line, sec, "peers", "no peers given");
}

/*
 * [role NAME]: its BGP keys together, its peers, and its services file
 * loaded as a host of the role will load it; that file's errors name
 * their own file and line, and sort at the role's services key.
 */
static void
validate_roles(struct loader *l)
{
	struct config	*c = l->cfg;
	size_t		 i, j;
	char		 sec[80];
	static const char *const bgp_keys[] = { "peer_as", "peers", NULL };

	for (i = 0; i < c->nrole; i++) {
		struct cfg_role		*r = &c->role[i];
		struct cfg_errors	 sub = { 0 };

		snprintf(sec, sizeof(sec), "role %s", r->name);
		if (r->local_as != 0 && r->peer_as == 0)
			cerr(l, r->line, sec, "peer_as", "required with "
			    "local_as (the AS of the host's BGP peers)");
		/* (A local_as given but refused is reported already.) */
		for (j = 0; place_line(l, sec, "local_as") == 0 && bgp_keys[j];
		    j++)
			if (place_line(l, sec, bgp_keys[j]) != 0)
				cerr(l, place_line(l, sec, bgp_keys[j]), sec,
				    bgp_keys[j], "applies with local_as only "
				    "(without it no BIRD configuration is "
				    "written)");
		if (r->peers)
			parse_peers(l, r, sec);
		if (r->services == NULL)
			continue;	/* already reported */
		r->svc = load(r->services, r->services, r, &sub);
		for (j = 0; j < sub.n; j++)
			push_err(l, place_line(l, sec, "services"), sub.msg[j]);
		free(sub.msg);
		free(sub.line);
	}
}

/* Errors in file order (insertion sort: a handful, and stable). */
static void
sort_errors(struct cfg_errors *e)
{
	size_t	 i, j;

	for (i = 1; i < e->n; i++)
		for (j = i; j > 0 && e->line[j - 1] > e->line[j]; j--) {
			char	*m = e->msg[j];
			int	 n = e->line[j];
			e->msg[j] = e->msg[j - 1];
			e->line[j] = e->line[j - 1];
			e->msg[j - 1] = m;
			e->line[j - 1] = n;
		}
}

/* [prefix P]: the label is the prefix, in any form parse_prefix takes
 * (iniparser has lowered it); the same prefix twice is an error. */
static void
load_prefix(struct loader *l, dictionary *ini, const char *secname,
    const char *label, const struct section *s)
{
	struct config		*c = l->cfg;
	const struct cfg_prefix	*first;
	struct cfg_prefix	*cp;
	struct prefix		 p;
	struct err		 err;
	char			 pb[64];
	int			 line = place_line(l, secname, NULL);

	if (parse_prefix(label, &p, &err) != ERR_OK) {
		cerr(l, line, secname, NULL, "%s", err.msg);
		return;
	}
	if ((first = config_prefix(c, &p)) != NULL) {
		cerr(l, line, secname, NULL, "%s is given twice (first on line "
		    "%d)", prefix_str(&p, pb, sizeof(pb)), first->line);
		return;
	}
	c->prefix = xreallocarray(c->prefix, c->nprefix + 1,
	    sizeof(*c->prefix));
	cp = &c->prefix[c->nprefix++];
	memset(cp, 0, sizeof(*cp));
	cp->p = p;
	cp->line = line;
	load_section(l, ini, secname, s, cp);
	cp->attrs.has_med = place_line(l, secname, "med") != 0;
}

static int
ini_quiet(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

struct config *
config_load(const char *path, struct cfg_errors *errs)
{
	return load(path, path, NULL, errs);
}

struct config *
config_load_as(const char *path, const char *name, struct cfg_errors *errs)
{
	return load(path, name, NULL, errs);
}

struct config *
config_load_role(const char *path, const char *name,
    const struct cfg_role *role, struct cfg_errors *errs)
{
	return load(path, name, role, errs);
}

static struct config *
load(const char *path, const char *shown, const struct cfg_role *role,
    struct cfg_errors *errs)
{
	struct loader		 l = { .path = path, .name = shown, .role = role,
				    .errs = errs };
	struct config		*c;
	dictionary		*ini;
	const struct section	*s;
	int			 nsec, i;
	size_t			 j;
	char			 cleanpath[64];

	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	l.cfg = c;
	if ((l.clean = tmpfile()) == NULL)
		fatal("tmpfile");
	if (scan_places(&l) == -1) {
		fclose(l.clean);
		config_free(c);
		return NULL;
	}
	iniparser_set_error_callback(ini_quiet);
	fflush(l.clean);
	snprintf(cleanpath, sizeof(cleanpath), "/proc/self/fd/%d",
	    fileno(l.clean));
	ini = iniparser_load(cleanpath);
	fclose(l.clean);
	if (ini == NULL) {
		if (!l.failed)
			cerr(&l, 0, NULL, NULL, "cannot parse");
		goto out;
	}

	nsec = iniparser_getnsec(ini);
	for (i = 0; i < nsec; i++) {
		const char	*name = iniparser_getsecname(ini, i), *label;
		struct err	 err;

		s = find_section(name, &label);
		if (s == NULL) {
			cerr(&l, place_line(&l, name, NULL), name, NULL,
			    "unknown section");
			continue;
		}
		if (role && strcmp(s->name, "service") != 0 &&
		    strcmp(s->name, "prefix") != 0) {
			cerr(&l, place_line(&l, name, NULL), name, NULL,
			    "not in a role's services file, which holds "
			    "[service NAME] and [prefix P] sections only "
			    "(configure writes the rest from [role %s])",
			    role->name);
			continue;
		}
		if (strcmp(s->name, "prefix") == 0)
			continue;	/* below, from the scan */
		if (s->named && valid_name(label, &err) != ERR_OK) {
			cerr(&l, place_line(&l, name, NULL), name, NULL, "%s",
			    err.msg);
			continue;
		}
		if (strcmp(s->name, "image") == 0) {
			struct cfg_image *im;
			c->image = xreallocarray(c->image, c->nimage + 1,
			    sizeof(*c->image));
			im = &c->image[c->nimage++];
			memset(im, 0, sizeof(*im));
			im->name = xstrdup(label);
			im->line = place_line(&l, name, NULL);
			load_section(&l, ini, name, s, im);
		} else if (strcmp(s->name, "service") == 0) {
			struct cfg_service *sv;
			c->service = xreallocarray(c->service, c->nservice + 1,
			    sizeof(*c->service));
			sv = &c->service[c->nservice++];
			memset(sv, 0, sizeof(*sv));
			sv->name = xstrdup(label);
			sv->check = -1;
			sv->line = place_line(&l, name, NULL);
			load_section(&l, ini, name, s, sv);
		} else if (strcmp(s->name, "role") == 0) {
			struct cfg_role *r;
			c->role = xreallocarray(c->role, c->nrole + 1,
			    sizeof(*c->role));
			r = &c->role[c->nrole++];
			memset(r, 0, sizeof(*r));
			r->name = xstrdup(label);
			r->line = place_line(&l, name, NULL);
			load_section(&l, ini, name, s, r);
		}
	}
	/* [prefix P] from the scan, in file order: iniparser does not list
	 * a section whose name has a ':' (an IPv6 prefix) among its
	 * sections, though it reads its keys. */
	for (j = 0; j < l.nplaces; j++) {
		const char *label;

		if (l.places[j].key == NULL &&
		    (s = find_section(l.places[j].section, &label)) != NULL &&
		    strcmp(s->name, "prefix") == 0)
			load_prefix(&l, ini, l.places[j].section, label, s);
	}
	/* Single sections, present or not, so that defaults apply. */
	for (s = sections; s->name; s++)
		if (!s->named && !(role && place_line(&l, s->name, NULL)))
			load_section(&l, ini, s->name, s, c);
	iniparser_freedict(ini);
	if (role) {
		/* A host of the role gets the role's allowed_prefixes. */
		c->bgp.nallowed_prefixes = role->nallowed_prefixes;
		c->bgp.allowed_prefixes = xreallocarray(NULL,
		    role->nallowed_prefixes ? role->nallowed_prefixes : 1,
		    sizeof(struct prefix));
		memcpy(c->bgp.allowed_prefixes, role->allowed_prefixes,
		    role->nallowed_prefixes * sizeof(struct prefix));
	}
	validate(&l);
	validate_prefixes(&l);
	if (role == NULL)
		validate_roles(&l);
	else if (c->nservice == 0)
		cerr(&l, 0, NULL, NULL, "no [service NAME] section: a host of "
		    "role %s would announce nothing", role->name);
out:
	for (j = 0; j < l.nplaces; j++) {
		free(l.places[j].section);
		free(l.places[j].key);
	}
	free(l.places);
	sort_errors(errs);
	if (l.failed) {
		config_free(c);
		return NULL;
	}
	return c;
}

static void
free_keys(const struct key *keys, void *base)
{
	const struct key *k;

	for (k = keys; k->name; k++) {
		char *field = (char *)base + k->off;
		switch (k->type) {
		case KT_STR: case KT_NAME: case KT_PATH: case KT_FILE:
		case KT_SECRET: case KT_URL: case KT_HOSTPORT: case KT_DATABASE:
		case KT_PREFIXES: case KT_COMMUNITIES: case KT_LCOMMUNITIES:
			free(*(void **)field);
			*(void **)field = NULL;
			break;
		default:
			break;
		}
	}
}

void
config_free(struct config *c)
{
	const struct section	*s;
	size_t			 i;

	if (c == NULL)
		return;
	for (s = sections; s->name; s++)
		if (!s->named)
			free_keys(s->keys, c);
	for (i = 0; i < c->nimage; i++) {
		free_keys(keys_image, &c->image[i]);
		free(c->image[i].name);
	}
	for (i = 0; i < c->nservice; i++) {
		free_keys(keys_service, &c->service[i]);
		free(c->service[i].name);
	}
	for (i = 0; i < c->nprefix; i++)
		free_keys(keys_prefix, &c->prefix[i]);
	for (i = 0; i < c->nrole; i++) {
		struct cfg_role	*r = &c->role[i];
		size_t		 j;

		free_keys(keys_role, r);
		for (j = 0; j < r->npeers; j++)
			free(r->peer[j]);
		free(r->peer);
		free(r->name);
		config_free(r->svc);
	}
	free(c->role);
	free(c->image);
	free(c->service);
	free(c->prefix);
	free(c->path);
	free(c);
}

void
cfg_errors_clear(struct cfg_errors *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	free(e->line);
	e->msg = NULL;
	e->line = NULL;
	e->n = 0;
}

const struct cfg_image *
config_image(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nimage; i++)
		if (strcmp(c->image[i].name, name) == 0)
			return &c->image[i];
	return NULL;
}

const struct cfg_service *
config_service(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nservice; i++)
		if (strcmp(c->service[i].name, name) == 0)
			return &c->service[i];
	return NULL;
}

const struct cfg_role *
config_role(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nrole; i++)
		if (strcmp(c->role[i].name, name) == 0)
			return &c->role[i];
	return NULL;
}

const struct cfg_prefix *
config_prefix(const struct config *c, const struct prefix *p)
{
	size_t	 i;

	for (i = 0; i < c->nprefix; i++)
		if (prefix_equal(&c->prefix[i].p, p))
			return &c->prefix[i];
	return NULL;
}

const char *
check_kind_name(int k)
{
	return k >= CHECK_HTTP && k <= CHECK_EXEC ? check_kinds[k] : "?";
}
