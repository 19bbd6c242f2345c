/*
 * The files provision and the boot service share in state_dir/boot/
 * (boot.h).  Each is a few "key=value" lines, written whole by
 * lib/atomicfile (mode 600) and read whole, so a reader never sees half a
 * file.  The token is compared in constant time.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "lib/config.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"
#include "provision/boot/boot.h"

#define BOOT_FILE_MAX	8192

/* Compares n bytes in a time that does not depend on where they differ. */
static int
same_secret(const char *a, const char *b, size_t n)
{
	volatile unsigned char	d = 0;
	size_t			i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

static char *
state_path(const struct config *cfg, const char *host, const char *ext)
{
	return xsprintf("%s/boot/%s.%s", cfg->castiron.state_dir, host, ext);
}

static enum err_code
state_dir(const struct config *cfg, struct err *e)
{
	char	*d = xsprintf("%s/boot", cfg->castiron.state_dir);

	if (mkdir(cfg->castiron.state_dir, 0755) == -1 && errno != EEXIST) {
		free(d);
		return err_errno(e, ERR_FAIL, "%s", cfg->castiron.state_dir);
	}
	if (mkdir(d, 0700) == -1 && errno != EEXIST) {
		err_errno(e, ERR_FAIL, "%s", d);
		free(d);
		return ERR_FAIL;
	}
	free(d);
	return ERR_OK;
}

/* The value of "key=" in a file's text, copied into out; 0 when found. */
static int
field(const char *text, const char *key, char *out, size_t len)
{
	size_t		 kl = strlen(key), n;
	const char	*p = text;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) != 0 || p[kl] != '=')
			continue;
		p += kl + 1;
		n = strcspn(p, "\n");
		if (n >= len)
			return -1;
		memcpy(out, p, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

static char *
read_state(const char *path)
{
	return file_read_small(path, BOOT_FILE_MAX, NULL, NULL);
}

static enum err_code
write_state(const char *path, const char *text, struct err *e)
{
	return file_replace(path, text, strlen(text), 0600, 1, e);
}

enum err_code
boot_arm(const struct config *cfg, const char *host, unsigned ttl,
    char token[BOOT_TOKEN_HEX + 1], struct err *e)
{
	unsigned char	 r[BOOT_TOKEN_HEX / 2];
	char		*path, *text;
	enum err_code	 rc;
	size_t		 i;

	if ((rc = state_dir(cfg, e)) != ERR_OK)
		return rc;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return err_errno(e, ERR_FAIL, "getrandom");
	for (i = 0; i < sizeof(r); i++)
		snprintf(token + 2 * i, 3, "%02x", r[i]);
	explicit_bzero(r, sizeof(r));
	path = state_path(cfg, host, "checkin");
	unlink(path);
	free(path);
	path = state_path(cfg, host, "used");
	unlink(path);
	free(path);
	text = xsprintf("host=%s\ntoken=%s\nexpires=%lld\nmode=deploy\n", host,
	    token, (long long)(time(NULL) + ttl));
	path = state_path(cfg, host, "boot");
	rc = write_state(path, text, e);
	explicit_bzero(text, strlen(text));
	free(text);
	free(path);
	return rc;
}

static void
checkin_parse(const char *text, struct boot_checkin *c)
{
	char	t[32] = "";

	memset(c, 0, sizeof(*c));
	field(text, "host", c->host, sizeof(c->host));
	field(text, "addr", c->addr, sizeof(c->addr));
	field(text, "macs", c->macs, sizeof(c->macs));
	field(text, "hostkey", c->hostkey, sizeof(c->hostkey));
	field(text, "fingerprint", c->fp, sizeof(c->fp));
	field(text, "time", t, sizeof(t));
	c->time = (time_t)strtoll(t, NULL, 10);
}

enum err_code
boot_checkin_read(const struct config *cfg, const char *host,
    struct boot_checkin *c, int *found, struct err *e)
{
	char	*path = state_path(cfg, host, "checkin"), *text;

	*found = 0;
	text = read_state(path);
	free(path);
	if (text == NULL)
		return ERR_OK;
	checkin_parse(text, c);
	free(text);
	if (strcmp(c->host, host) != 0 || *c->fp == '\0')
		return err_set(e, ERR_FAIL, "%s: its check-in file is damaged",
		    host);
	*found = 1;
	return ERR_OK;
}

void
boot_armed(const struct config *cfg, const char *host, time_t now,
    char token[BOOT_TOKEN_HEX + 1])
{
	char	*path = state_path(cfg, host, "boot"), *text, exp[32];

	token[0] = '\0';
	text = read_state(path);
	free(path);
	if (text == NULL)
		return;
	if (field(text, "expires", exp, sizeof(exp)) == 0 &&
	    strtoll(exp, NULL, 10) > (long long)now)
		field(text, "token", token, BOOT_TOKEN_HEX + 1);
	explicit_bzero(text, strlen(text));
	free(text);
}

/*
 * Calls fn with the text of each file HOST.ext of the state directory
 * until it returns non-zero, and returns that (0 when none did).  Each
 * text is wiped once fn has seen it (it may hold a token).
 */
static int
state_each(const struct config *cfg, const char *ext,
    int (*fn)(const char *text, void *arg), void *arg)
{
	char		*d = xsprintf("%s/boot", cfg->castiron.state_dir), *p;
	char		*text;
	struct dirent	*de;
	DIR		*dir;
	size_t		 n, el = strlen(ext);
	int		 rc = 0;

	if ((dir = opendir(d)) == NULL) {
		free(d);
		return 0;
	}
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= el + 1 ||
		    strcmp(de->d_name + n - el, ext) != 0 ||
		    de->d_name[n - el - 1] != '.')
			continue;
		p = xsprintf("%s/%s", d, de->d_name);
		text = read_state(p);
		free(p);
		if (text == NULL)
			continue;
		rc = fn(text, arg);
		explicit_bzero(text, strlen(text));
		free(text);
	}
	closedir(dir);
	free(d);
	return rc;
}

struct token_find {
	const char	*token;
	char		*host;
	size_t		 hostlen;
	long long	*expires;
};

static int
token_match(const char *text, void *arg)
{
	struct token_find	*f = arg;
	char			 t[BOOT_TOKEN_HEX + 1], exp[32];

	if (field(text, "token", t, sizeof(t)) != 0 ||
	    strlen(t) != BOOT_TOKEN_HEX ||
	    !same_secret(t, f->token, BOOT_TOKEN_HEX) ||
	    field(text, "host", f->host, f->hostlen) != 0)
		return 0;
	*f->expires = field(text, "expires", exp, sizeof(exp)) == 0 ?
	    strtoll(exp, NULL, 10) : 0;
	return 1;
}

/* The host whose file ext holds token (constant-time compare). */
static int
find_token(const struct config *cfg, const char *ext, const char *token,
    char *host, size_t hostlen, long long *expires)
{
	struct token_find	 f = { token, host, hostlen, expires };

	return state_each(cfg, ext, token_match, &f);
}

static int
token_ok(const char *token)
{
	size_t	 i;

	for (i = 0; token[i]; i++)
		if (!((token[i] >= '0' && token[i] <= '9') ||
		    (token[i] >= 'a' && token[i] <= 'f')))
			return 0;
	return i == BOOT_TOKEN_HEX;
}

int
boot_token_host(const struct config *cfg, const char *token, char *host,
    size_t hostlen)
{
	long long	 expires = 0;

	return token_ok(token) && (find_token(cfg, "boot", token, host,
	    hostlen, &expires) || find_token(cfg, "used", token, host, hostlen,
	    &expires));
}

enum err_code
boot_checkin(const struct config *cfg, const char *token,
    const struct boot_checkin *in, char *host, size_t hostlen, int *replay,
    struct err *e)
{
	char		*from, *to, *text;
	long long	 expires = 0;
	enum err_code	 rc;

	*replay = 0;
	if (!token_ok(token))
		return err_set(e, ERR_INVAL, "a malformed token");
	if (!find_token(cfg, "boot", token, host, hostlen, &expires)) {
		if (find_token(cfg, "used", token, host, hostlen, &expires)) {
			*replay = 1;
			return err_set(e, ERR_AUTH, "%s: its one-time token was "
			    "presented again (already used by a check-in)",
			    host);
		}
		return err_set(e, ERR_AUTH, "an unknown token");
	}
	if (expires <= (long long)time(NULL))
		return err_set(e, ERR_AUTH, "%s: its token expired", host);
	/* Burn it first: of two check-ins racing, one renames. */
	from = state_path(cfg, host, "boot");
	to = state_path(cfg, host, "used");
	if (rename(from, to) == -1) {
		free(from);
		free(to);
		*replay = 1;
		return err_set(e, ERR_AUTH, "%s: its one-time token was "
		    "presented twice at once", host);
	}
	free(from);
	free(to);
	text = xsprintf("host=%s\naddr=%s\nmacs=%s\nhostkey=%s\n"
	    "fingerprint=%s\ntime=%lld\n", host, in->addr, in->macs, in->hostkey,
	    in->fp, (long long)time(NULL));
	to = state_path(cfg, host, "checkin");
	rc = write_state(to, text, e);
	free(to);
	free(text);
	return rc;
}

struct addr_find {
	const char	*addr;
	char		*host;
	size_t		 hostlen;
	long long	 best;		/* the latest check-in's time, -1 */
};

static int
addr_match(const char *text, void *arg)
{
	struct addr_find	*f = arg;
	char			 a[64], t[32];
	long long		 when;

	if (field(text, "addr", a, sizeof(a)) != 0 || strcmp(a, f->addr) != 0)
		return 0;
	when = field(text, "time", t, sizeof(t)) == 0 ? strtoll(t, NULL, 10) :
	    0;
	if (when > f->best && field(text, "host", f->host, f->hostlen) == 0)
		f->best = when;
	return 0;	/* every check-in is looked at */
}

int
boot_host_by_addr(const struct config *cfg, const char *addr, char *host,
    size_t hostlen)
{
	struct addr_find	 f = { addr, host, hostlen, -1 };

	state_each(cfg, "checkin", addr_match, &f);
	if (f.best < 0)
		*host = '\0';
	return f.best >= 0;
}

void
boot_note_fetch(const struct config *cfg, const char *host, const char *what,
    unsigned status)
{
	char		*path, *text;
	struct err	 e;

	if (state_dir(cfg, &e) != ERR_OK)
		return;
	path = state_path(cfg, host, "last");
	text = xsprintf("time=%lld\nlast=%s %u\n", (long long)time(NULL), what,
	    status);
	if (write_state(path, text, &e) != ERR_OK)
		log_warnx("boot: %s", e.msg);
	free(text);
	free(path);
}

enum err_code
boot_status_list(const struct config *cfg, struct boot_status **out,
    size_t *n, struct err *e)
{
	char		*d = xsprintf("%s/boot", cfg->castiron.state_dir), *p;
	char		*text, host[254], exp[32];
	struct boot_status *s = NULL, *b;
	struct dirent	*de;
	DIR		*dir;
	size_t		 len, cap = 0, i;
	const char	*ext;

	*out = NULL;
	*n = 0;
	if ((dir = opendir(d)) == NULL) {
		enum err_code rc = errno == ENOENT ? ERR_OK :
		    err_errno(e, ERR_FAIL, "%s", d);

		free(d);
		return rc;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || (ext = strrchr(de->d_name, '.')) ==
		    NULL)
			continue;
		len = (size_t)(ext - de->d_name);
		if (len == 0 || len >= sizeof(host))
			continue;
		memcpy(host, de->d_name, len);
		host[len] = '\0';
		for (b = NULL, i = 0; i < *n; i++)
			if (strcmp(s[i].host, host) == 0)
				b = &s[i];
		if (b == NULL) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 16;
				s = xreallocarray(s, cap, sizeof(*s));
			}
			b = &s[(*n)++];
			memset(b, 0, sizeof(*b));
			snprintf(b->host, sizeof(b->host), "%s", host);
		}
		p = xsprintf("%s/%s", d, de->d_name);
		text = read_state(p);
		free(p);
		if (text == NULL)
			continue;
		if (strcmp(ext, ".boot") == 0 && *b->state == '\0') {
			field(text, "expires", exp, sizeof(exp));
			b->expires = (time_t)strtoll(exp, NULL, 10);
			snprintf(b->state, sizeof(b->state), "%s",
			    b->expires > time(NULL) ? "armed" : "expired");
		} else if (strcmp(ext, ".checkin") == 0) {
			field(text, "fingerprint", b->fp, sizeof(b->fp));
			snprintf(b->state, sizeof(b->state), "checked-in");
		} else if (strcmp(ext, ".last") == 0) {
			field(text, "last", b->last, sizeof(b->last));
		}
		explicit_bzero(text, strlen(text));
		free(text);
	}
	closedir(dir);
	free(d);
	*out = s;
	return ERR_OK;
}
