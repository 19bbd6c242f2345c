/*
 * Parsers for the values operators type: numbers with ranges, durations,
 * sizes, booleans, IP prefixes and addresses, MACs, host names, digests.
 * Each returns ERR_OK, or ERR_INVAL with a one-line reason in the
 * caller's struct err (lib/err.h); none prints or exits.  Nothing here
 * uses atoi or sscanf.
 */
#ifndef CASTIRON_PARSE_H
#define CASTIRON_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct prefix {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	unsigned	len;
};

enum err_code	 parse_uint(const char *, uint64_t min, uint64_t max,
		    uint64_t *, struct err *);
enum err_code	 parse_duration_ms(const char *, uint64_t *ms,
		    struct err *);
enum err_code	 parse_size(const char *, uint64_t *bytes, struct err *);
enum err_code	 parse_bool(const char *, int *, struct err *);
enum err_code	 parse_prefix(const char *, struct prefix *, struct err *);
enum err_code	 parse_ip(const char *, int *family, uint8_t addr[16],
		    struct err *);
enum err_code	 parse_hostport(const char *, char *host, size_t hostlen,
		    uint16_t *port, struct err *);
enum err_code	 parse_mac(const char *, char out[18], struct err *);
enum err_code	 parse_sha256_hex(const char *, char out[65],
		    struct err *);

enum err_code	 valid_hostname(const char *, struct err *);
/* ADDR, NAME, either with :PORT ([IPV6]:PORT), or an https:// URL. */
enum err_code	 valid_bmc(const char *, struct err *);
enum err_code	 valid_name(const char *, struct err *);
/* A serial as a machine's firmware reports it (DMI's product_serial): at
 * most DMI_SERIAL_MAX bytes of printable ASCII, blanks inside allowed.
 * The message says what is wrong without repeating the value. */
#define DMI_SERIAL_MAX	64
enum err_code	 valid_dmi_serial(const char *, struct err *);

int	prefix_contains(const struct prefix *outer, const struct prefix *inner);
int	prefix_equal(const struct prefix *, const struct prefix *);
char	*prefix_str(const struct prefix *, char *buf, size_t len);

/* The secret a URL holds ("password": in its user info or a password=
 * parameter; "sslpassword"), or NULL when it holds none: a URL that is
 * to be shown in messages must hold none. */
const char	*url_secret(const char *url);

/* Duration formatting for messages: "1.5s", "250ms", "3m". */
char	*fmt_duration_ms(uint64_t ms, char *buf, size_t len);
/* Size formatting: "1.5 GiB". */
char	*fmt_size(uint64_t bytes, char *buf, size_t len);

#endif
