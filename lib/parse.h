/*
 * Parsers for the values operators type: numbers with ranges, durations,
 * sizes, booleans, IP prefixes and addresses, MACs, host names, digests.
 * Each returns 0 or -1 and, on -1, a one-line reason in the caller's
 * buffer; none prints or exits.  Nothing here uses atoi or sscanf.
 */
#ifndef CASTIRON_PARSE_H
#define CASTIRON_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PARSE_ERRLEN	256

struct prefix {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	unsigned	len;
};

int	parse_uint(const char *, uint64_t min, uint64_t max, uint64_t *,
	    char *err, size_t errlen);
int	parse_duration_ms(const char *, uint64_t *ms, char *err, size_t errlen);
int	parse_size(const char *, uint64_t *bytes, char *err, size_t errlen);
int	parse_bool(const char *, int *, char *err, size_t errlen);
int	parse_prefix(const char *, struct prefix *, char *err, size_t errlen);
int	parse_ip(const char *, int *family, uint8_t addr[16], char *err,
	    size_t errlen);
int	parse_hostport(const char *, char *host, size_t hostlen, uint16_t *port,
	    char *err, size_t errlen);
int	parse_mac(const char *, char out[18], char *err, size_t errlen);
int	parse_sha256_hex(const char *, char out[65], char *err, size_t errlen);

int	valid_hostname(const char *, char *err, size_t errlen);
/* ADDR, NAME, either with :PORT ([IPV6]:PORT), or an https:// URL. */
int	valid_bmc(const char *, char *err, size_t errlen);
int	valid_name(const char *, char *err, size_t errlen);

int	prefix_contains(const struct prefix *outer, const struct prefix *inner);
int	prefix_equal(const struct prefix *, const struct prefix *);
char	*prefix_str(const struct prefix *, char *buf, size_t len);

/* Duration formatting for messages: "1.5s", "250ms", "3m". */
char	*fmt_duration_ms(uint64_t ms, char *buf, size_t len);
/* Size formatting: "1.5 GiB". */
char	*fmt_size(uint64_t bytes, char *buf, size_t len);

#endif
