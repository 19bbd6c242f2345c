/*
 * Value parsers shared by the configuration, the command line, the CSV
 * import and the BIRD client.  Strict by design: a value is accepted only
 * when all of it was understood, so "10x" is an error and not 10.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"

#define ERR(...)	return err_set(err, ERR_INVAL, __VA_ARGS__)

/* Reads the leading decimal digits of s into *v; returns the first
 * character after them, or NULL on no digits or overflow. */
static const char *
scan_digits(const char *s, uint64_t *v)
{
	uint64_t	 n = 0;
	const char	*p = s;

	if (!isdigit((unsigned char)*p))
		return NULL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return NULL;
		n = n * 10 + d;
	}
	*v = n;
	return p;
}

enum err_code
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    struct err *err)
{
	const char	*end;
	uint64_t	 v;

	if (s == NULL || *s == '\0')
		ERR("empty number");
	if ((end = scan_digits(s, &v)) == NULL)
		ERR("'%s' is not a whole number", s);
	if (*end != '\0')
		ERR("'%s' is not a whole number", s);
	if (v < min || v > max)
		ERR("%s is out of range (%llu to %llu)", s,
		    (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return ERR_OK;
}

enum err_code
parse_duration_ms(const char *s, uint64_t *ms, struct err *err)
{
	const char	*end;
	uint64_t	 v, mult = 1;

	if (s == NULL || *s == '\0')
		ERR("empty duration");
	if ((end = scan_digits(s, &v)) == NULL)
		ERR("'%s' is not a duration (a number and ms, s, m or h)", s);
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else if (*end == '\0')
		ERR("'%s' needs a unit: ms, s, m or h", s);
	else
		ERR("'%s' has an unknown unit (use ms, s, m or h)", s);
	if (v > UINT64_MAX / mult / 1000)
		ERR("'%s' is too long a duration", s);
	*ms = v * mult;
	return ERR_OK;
}

enum err_code
parse_size(const char *s, uint64_t *bytes, struct err *err)
{
	const char	*end;
	uint64_t	 v, mult = 1;

	if (s == NULL || *s == '\0')
		ERR("empty size");
	if ((end = scan_digits(s, &v)) == NULL)
		ERR("'%s' is not a size (a number and K, M, G or T)", s);
	switch (*end) {
	case '\0':
		break;
	case 'K': case 'k':
		mult = 1ULL << 10; end++; break;
	case 'M':
		mult = 1ULL << 20; end++; break;
	case 'G':
		mult = 1ULL << 30; end++; break;
	case 'T':
		mult = 1ULL << 40; end++; break;
	default:
		ERR("'%s' has an unknown unit (use K, M, G or T)", s);
	}
	if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
		end += strlen(end);
	if (*end != '\0')
		ERR("'%s' is not a size (a number and K, M, G or T)", s);
	if (v > UINT64_MAX / mult)
		ERR("'%s' is too large", s);
	*bytes = v * mult;
	return ERR_OK;
}

enum err_code
parse_bool(const char *s, int *out, struct err *err)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return ERR_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return ERR_OK;
		}
	}
	ERR("'%s' is not yes or no", s);
}

enum err_code
parse_ip(const char *s, int *family, uint8_t addr[16], struct err *err)
{
	memset(addr, 0, 16);
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, addr) != 1)
			ERR("'%s' is not an IPv6 address", s);
		*family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, addr) != 1)
			ERR("'%s' is not an IPv4 address", s);
		*family = AF_INET;
	}
	return ERR_OK;
}

enum err_code
parse_prefix(const char *s, struct prefix *p, struct err *err)
{
	char		 addr[INET6_ADDRSTRLEN + 1];
	const char	*slash;
	uint64_t	 len;
	unsigned	 maxlen, i;

	memset(p, 0, sizeof(*p));
	if ((slash = strchr(s, '/')) == NULL)
		ERR("'%s' is not a prefix (ADDRESS/LENGTH)", s);
	if ((size_t)(slash - s) >= sizeof(addr))
		ERR("'%s' is not a prefix", s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (parse_ip(addr, &p->family, p->addr, err) != ERR_OK) {
		err_prefix(err, "'%s' is not a prefix", s);
		return ERR_INVAL;
	}
	maxlen = p->family == AF_INET ? 32 : 128;
	if (parse_uint(slash + 1, 0, maxlen, &len, err) != ERR_OK) {
		err_prefix(err, "'%s' has a bad length", s);
		return ERR_INVAL;
	}
	p->len = (unsigned)len;
	for (i = p->len; i < maxlen; i++)
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			ERR("'%s' has host bits set beyond /%u", s, p->len);
	return ERR_OK;
}

int
prefix_contains(const struct prefix *outer, const struct prefix *inner)
{
	unsigned	 i;

	if (outer->family != inner->family || inner->len < outer->len)
		return 0;
	for (i = 0; i < outer->len; i++) {
		uint8_t m = 0x80 >> (i % 8);
		if ((outer->addr[i / 8] & m) != (inner->addr[i / 8] & m))
			return 0;
	}
	return 1;
}

int
prefix_equal(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	    memcmp(a->addr, b->addr, 16) == 0;
}

char *
prefix_str(const struct prefix *p, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

enum err_code
parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
    struct err *err)
{
	const char	*colon, *h = s;
	size_t		 hl;
	uint64_t	 v;

	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			ERR("'%s' is not [IPV6]:PORT", s);
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			ERR("'%s' is not HOST:PORT", s);
		if (strchr(s, ':') != colon)
			ERR("'%s': write an IPv6 address as [ADDRESS]:PORT", s);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen)
		ERR("'%s' has an empty or over-long host", s);
	if (parse_uint(colon + 1, 1, 65535, &v, err) != ERR_OK) {
		err_prefix(err, "'%s' has a bad port", s);
		return ERR_INVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return ERR_OK;
}

/*
 * A BMC as the inventory holds it: an address or a host name, either with
 * :PORT ([IPV6]:PORT), or an https:// URL of one (with an optional path).
 */
enum err_code
valid_bmc(const char *s, struct err *err)
{
	char		 host[300], auth[300];
	const char	*a = s;
	uint8_t		 addr[16];
	uint16_t	 port;
	size_t		 n;
	int		 fam;

	if (strncmp(s, "https://", 8) == 0)
		a = s + 8;
	else if (strstr(s, "://") != NULL)
		ERR("'%s': a BMC URL must be https://", s);
	n = strcspn(a, "/");
	if (n == 0 || n >= sizeof(auth))
		ERR("'%s' is not a BMC address", s);
	if (a != s && a[n] != '\0') {
		const char *p;
		for (p = a + n; *p; p++)
			if (*p <= ' ' || *p >= 0x7f || strchr("\"<>\\^`{|}", *p))
				ERR("'%s': the URL's path has a bad character", s);
	} else if (a[n] != '\0')
		ERR("'%s' is not a BMC address (no path without https://)", s);
	memcpy(auth, a, n);
	auth[n] = '\0';
	/* A bare IPv6 address, or [IPV6] without a port. */
	if (parse_ip(auth, &fam, addr, NULL) == ERR_OK)
		return ERR_OK;
	if (auth[0] == '[' && auth[n - 1] == ']') {
		auth[n - 1] = '\0';
		if (parse_ip(auth + 1, &fam, addr, NULL) == ERR_OK &&
		    fam == AF_INET6)
			return ERR_OK;
		ERR("'%s' is not a BMC address", s);
	}
	if (strchr(auth, ':') != NULL) {
		if (parse_hostport(auth, host, sizeof(host), &port,
		    err) != ERR_OK) {
			err_prefix(err, "bmc");
			return ERR_INVAL;
		}
	} else
		snprintf(host, sizeof(host), "%s", auth);
	if (parse_ip(host, &fam, addr, NULL) == ERR_OK ||
	    valid_hostname(host, NULL) == ERR_OK)
		return ERR_OK;
	ERR("'%s' is neither an address nor a host name (either with :PORT), "
	    "nor an https:// URL", s);
}

enum err_code
parse_mac(const char *s, char out[18], struct err *err)
{
	int	 i;
	char	 sep = 0;

	if (strlen(s) != 17)
		ERR("'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", s);
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':' && s[i] != '-')
				ERR("'%s' is not a MAC address", s);
			if (sep && s[i] != sep)
				ERR("'%s' mixes separators", s);
			sep = s[i];
			out[i] = ':';
		} else {
			if (!isxdigit((unsigned char)s[i]))
				ERR("'%s' is not a MAC address", s);
			out[i] = (char)tolower((unsigned char)s[i]);
		}
	}
	out[17] = '\0';
	return ERR_OK;
}

enum err_code
parse_sha256_hex(const char *s, char out[65], struct err *err)
{
	int	 i;

	if (strlen(s) != 64)
		ERR("'%.80s' is not a sha256 digest (64 hex digits)", s);
	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)s[i]))
			ERR("'%.80s' is not a sha256 digest (64 hex digits)", s);
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[64] = '\0';
	return ERR_OK;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens.  This is also what keeps host names safe on a remote shell. */
enum err_code
valid_hostname(const char *s, struct err *err)
{
	size_t		 label = 0, n = strlen(s);
	const char	*p;

	if (n == 0)
		ERR("empty host name");
	if (n > 253)
		ERR("host name '%.40s...' is longer than 253 characters", s);
	for (p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				ERR("host name '%s' has an empty label or one "
				    "ending in '-'", s);
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			ERR("host name '%s' has a forbidden character '%c' "
			    "(letters, digits, '-' and '.' only)", s,
			    isprint((unsigned char)*p) ? *p : '?');
		if (*p == '-' && label == 0)
			ERR("host name '%s' has a label starting with '-'", s);
		if (++label > 63)
			ERR("host name '%s' has a label over 63 characters", s);
	}
	if (label == 0 || p[-1] == '-')
		ERR("host name '%s' ends with '.' or '-'", s);
	return ERR_OK;
}

enum err_code
valid_dmi_serial(const char *s, struct err *err)
{
	size_t	 i;

	for (i = 0; s[i]; i++) {
		if (i == DMI_SERIAL_MAX)
			ERR("a serial longer than %d bytes", DMI_SERIAL_MAX);
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			ERR("a serial with a byte outside printable ASCII "
			    "(0x%02x at %zu)", (unsigned char)s[i], i);
	}
	return ERR_OK;
}

/* Names of sites, racks, roles, images, services: [A-Za-z0-9._-], 1-64. */
enum err_code
valid_name(const char *s, struct err *err)
{
	const char	*p;

	if (*s == '\0')
		ERR("empty name");
	if (strlen(s) > 64)
		ERR("name '%.40s...' is longer than 64 characters", s);
	if (*s == '-' || *s == '.')
		ERR("name '%s' must start with a letter or digit", s);
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			ERR("name '%s' has a forbidden character '%c' "
			    "(letters, digits, '.', '_' and '-' only)", s,
			    isprint((unsigned char)*p) ? *p : '?');
	return ERR_OK;
}

char *
fmt_duration_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.3gs", ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)ms / 60000,
		    (unsigned long long)(ms / 1000) % 60);
	else
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)ms / 3600000,
		    (unsigned long long)(ms / 60000) % 60);
	return buf;
}

char *
fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double	 v = (double)bytes;
	int	 u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

/* Decodes %XX in s[0..n) into out (at most outlen - 1 bytes). */
static void
url_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	 i, o = 0;
	char	 xx[3] = { 0 };

	for (i = 0; i < n && o + 1 < outlen; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			memcpy(xx, s + i + 1, 2);
			out[o++] = (char)strtoul(xx, NULL, 16);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
}

const char *
url_secret(const char *url)
{
	const char	*p, *end, *at, *q;
	char		 key[64];
	size_t		 n;

	if ((p = strstr(url, "://")) == NULL)
		return NULL;
	p += 3;
	end = p + strcspn(p, "/?");
	/* userinfo: user[:password]@ */
	for (at = end; at > p && at[-1] != '@'; at--)
		;
	if (at > p && memchr(p, ':', (size_t)(at - 1 - p)) != NULL)
		return "password";
	if ((q = strchr(end, '?')) == NULL)
		return NULL;
	for (q++; *q; q += n + (q[n] == '&')) {
		n = strcspn(q, "&");
		url_decode(q, strcspn(q, "=&"), key, sizeof(key));
		if (strcmp(key, "password") == 0)
			return "password";
		if (strcmp(key, "sslpassword") == 0)
			return "sslpassword";
	}
	return NULL;
}
