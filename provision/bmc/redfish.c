/*
 * The Redfish driver of the BMC interface (bmc.h), on libcurl and jansson.
 *
 * A BMC is met as it really is: the System is found from the service root
 * by following links (never a guessed /Systems/1); a session is opened
 * (POST to the Sessions collection, X-Auth-Token) and always deleted by
 * close, with HTTP Basic only when the BMC offers no sessions; the reset
 * type comes from the System's AllowableValues; a boot override is a
 * PATCH with If-Match from the resource's ETag, sent to the
 * @Redfish.Settings object when the System has one, and its quirks are
 * handled (a weak ETag refused as If-Match: strong, then none; 428 without
 * If-Match: with it); power changes are polled until PowerState reaches
 * the target.  Transient failures (5xx, a refused connection) are retried
 * a bounded number of times with backoff; a POST only when the BMC cannot
 * have acted on it.  TLS is verified unless the site said tls_verify = no,
 * and then a warning says so on every use.  libcurl's verbose output is
 * never turned on, so the password and the token never reach a log.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/bmc/bmc.h"
#include "provision/bmc/redfish_int.h"

#define RF_ATTEMPTS	4		/* for a transient failure */
#define RF_BACKOFF_MS	250		/* doubled each attempt */
#define RF_POLL_MS	500		/* PowerState polling */
#define RF_409_TRIES	5		/* "On" refused while settling */

struct rf {
	CURL		*curl;
	char		 base[300];		/* https://authority */
	char		 token[512];		/* X-Auth-Token, "" for Basic */
	char		 session[RF_MAXLINK];	/* to DELETE at close */
	char		 system[RF_MAXLINK];
	char		 sessions[RF_MAXLINK];
	int		 basic;
};

struct rf_reply {
	long	 status;
	char	*body;
	size_t	 len;
	int	 toolarge;
	char	 etag[128];
	char	 token[512];
	char	 location[RF_MAXLINK];
};

static void
reply_free(struct rf_reply *r)
{
	free(r->body);
	explicit_bzero(r->token, sizeof(r->token));
	memset(r, 0, sizeof(*r));
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct rf_reply	*r = arg;
	size_t		 len = sz * n;

	if (r->len + len > RF_MAXBODY) {
		r->toolarge = 1;
		return 0;
	}
	r->body = xreallocarray(r->body, 1, r->len + len + 1);
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* Copies a header's value, trimmed, when its name matches. */
static int
header_value(const char *line, size_t len, const char *name, char *out,
    size_t outlen)
{
	size_t	 nl = strlen(name), k;

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		len--;
	if (len >= outlen)
		return 0;
	for (k = 0; k < len; k++)
		if (!isprint((unsigned char)line[k]))
			return 0;
	memcpy(out, line, len);
	out[len] = '\0';
	return 1;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct rf_reply	*r = arg;
	size_t		 len = sz * n;

	if (!header_value(p, len, "ETag", r->etag, sizeof(r->etag)) &&
	    !header_value(p, len, "X-Auth-Token", r->token, sizeof(r->token)))
		header_value(p, len, "Location", r->location,
		    sizeof(r->location));
	return len;
}

static int
on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return *(const int *)arg ? bmc_interrupted : 0;
}

static int
transient(const char *method, CURLcode cc, long status)
{
	int	post = strcmp(method, "POST") == 0;

	if (cc == CURLE_COULDNT_CONNECT)
		return 1;		/* nothing reached the BMC */
	if (cc != CURLE_OK)
		return !post && (cc == CURLE_OPERATION_TIMEDOUT ||
		    cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
		    cc == CURLE_GOT_NOTHING);
	if (status == 503)
		return 1;		/* the BMC says it did not act */
	return !post && (status == 500 || status == 502 || status == 504);
}

/*
 * One request, retried while the failure is transient.  path is a path on
 * the BMC; body NULL for none; if_match NULL for none.  A reply of any
 * HTTP status is ERR_OK here (the caller judges the status); ERR_FAIL is
 * for no reply, ERR_TRUST for a certificate refused.
 */
static enum err_code
rf_call(struct bmc *b, const char *method, const char *path,
    const char *body, const char *if_match, struct rf_reply *out,
    struct err *e)
{
	struct rf		*rf = b->priv;
	struct curl_slist	*h = NULL;
	char			 url[sizeof(rf->base) + RF_MAXLINK], hb[700];
	CURLcode		 cc = CURLE_OK;
	int			 attempt, interruptible;
	uint64_t		 t0;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", rf->base, path);
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "OData-Version: 4.0");
	h = curl_slist_append(h, "Accept-Encoding: identity");
	h = curl_slist_append(h, "Expect:");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (if_match) {
		snprintf(hb, sizeof(hb), "If-Match: %s", if_match);
		h = curl_slist_append(h, hb);
	}
	if (*rf->token) {
		snprintf(hb, sizeof(hb), "X-Auth-Token: %s", rf->token);
		h = curl_slist_append(h, hb);
		explicit_bzero(hb, sizeof(hb));
	}
	/* The session's DELETE runs even after an interrupt. */
	interruptible = strcmp(method, "DELETE") != 0;

	curl_easy_reset(rf->curl);
	curl_easy_setopt(rf->curl, CURLOPT_URL, url);
	curl_easy_setopt(rf->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(rf->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(rf->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(rf->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(rf->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(rf->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)b->t.connect_timeout_ms);
	curl_easy_setopt(rf->curl, CURLOPT_TIMEOUT_MS, (long)b->t.io_timeout_ms);
	curl_easy_setopt(rf->curl, CURLOPT_SSL_VERIFYPEER, b->t.tls_verify ? 1L : 0L);
	curl_easy_setopt(rf->curl, CURLOPT_SSL_VERIFYHOST, b->t.tls_verify ? 2L : 0L);
	if (b->t.ca_bundle)
		curl_easy_setopt(rf->curl, CURLOPT_CAINFO, b->t.ca_bundle);
	curl_easy_setopt(rf->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(rf->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(rf->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(rf->curl, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(rf->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(rf->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(rf->curl, CURLOPT_XFERINFODATA, &interruptible);
	if (body) {
		curl_easy_setopt(rf->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(rf->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (rf->basic) {
		curl_easy_setopt(rf->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(rf->curl, CURLOPT_USERNAME, b->t.username);
		curl_easy_setopt(rf->curl, CURLOPT_PASSWORD, b->t.password);
	}

	for (attempt = 0; attempt < RF_ATTEMPTS; attempt++) {
		if (attempt > 0) {
			reply_free(out);
			bmc_sleep_ms((uint64_t)RF_BACKOFF_MS << (attempt - 1));
		}
		if (bmc_interrupted && interruptible)
			break;
		t0 = mono_ms();
		b->requests++;
		cc = curl_easy_perform(rf->curl);
		out->status = 0;
		curl_easy_getinfo(rf->curl, CURLINFO_RESPONSE_CODE, &out->status);
		log_debug("%s: bmc %s: %s %s: %ld (%llu ms)", b->t.hostname,
		    b->t.address, method, path, out->status,
		    (unsigned long long)(mono_ms() - t0));
		if (!transient(method, cc, out->status))
			break;
	}
	/* Forget the password curl holds for Basic, and the token in the
	 * header list. */
	curl_easy_setopt(rf->curl, CURLOPT_PASSWORD, "");
	for (struct curl_slist *l = h; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h);
	if (bmc_interrupted && interruptible && (cc != CURLE_OK ||
	    attempt == RF_ATTEMPTS || out->status == 0))
		return err_set(e, ERR_FAIL, "interrupted");
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
		return err_set(e, ERR_TRUST, "TLS certificate not trusted "
		    "(ca_bundle, or tls_verify = no for this site): %s",
		    curl_easy_strerror(cc));
	if (out->toolarge)
		return err_set(e, ERR_FAIL, "%s %s: reply larger than %u bytes",
		    method, path, RF_MAXBODY);
	if (cc != CURLE_OK)
		return err_set(e, ERR_FAIL, "%s %s: %s", method, path,
		    curl_easy_strerror(cc));
	return ERR_OK;
}

/* An HTTP status the caller did not expect, as one line. */
static enum err_code
rf_status_error(const char *method, const char *path, struct rf_reply *r,
    struct err *e)
{
	char	 msg[256] = "";
	json_t	*j;

	if (r->body && (j = rfj_parse(r->body, r->len, NULL)) != NULL) {
		rfj_message(j, msg, sizeof(msg));
		json_decref(j);
	}
	if (r->status == 401 || r->status == 403)
		return err_set(e, ERR_AUTH, "%s %s: HTTP %ld: credentials "
		    "refused", method, path, r->status);
	return err_set(e, ERR_FAIL, "%s %s: HTTP %ld%s%s", method, path,
	    r->status, *msg ? ": " : "", msg);
}

/* GET a resource that must answer 200 with a JSON object. */
static enum err_code
rf_get(struct bmc *b, const char *path, json_t **out, char *etag,
    size_t etaglen, struct err *e)
{
	struct rf_reply	 r;
	enum err_code	 rc;
	const char	*t;

	*out = NULL;
	if ((rc = rf_call(b, "GET", path, NULL, NULL, &r, e)) != ERR_OK)
		return rc;
	if (r.status != 200) {
		rc = rf_status_error("GET", path, &r, e);
		reply_free(&r);
		return rc;
	}
	if ((*out = rfj_parse(r.body, r.len, e)) == NULL) {
		reply_free(&r);
		return err_prefix(e, "GET %s", path);
	}
	if (etag) {
		t = *r.etag ? r.etag : rfj_etag(*out);
		snprintf(etag, etaglen, "%s", t ? t : "");
	}
	reply_free(&r);
	return ERR_OK;
}

/* The BMC's address as the base URL; only https. */
static enum err_code
rf_base(const char *addr, char *out, size_t len, struct err *e)
{
	const char	*p, *auth;
	size_t		 n;
	int		 colons = 0;

	if (strncasecmp(addr, "http://", 7) == 0)
		return err_set(e, ERR_INVAL, "plain http is refused; give the "
		    "BMC as an address or an https:// URL");
	auth = strncasecmp(addr, "https://", 8) == 0 ? addr + 8 : addr;
	n = strcspn(auth, "/");
	if (n == 0 || n >= len - 12)
		return err_set(e, ERR_INVAL, "'%s' is not a BMC address", addr);
	for (p = auth; p < auth + n; p++) {
		if (!isalnum((unsigned char)*p) && strchr(".-:[]_", *p) == NULL)
			return err_set(e, ERR_INVAL, "'%s' is not a BMC "
			    "address", addr);
		colons += *p == ':';
	}
	/* A bare IPv6 address gets its brackets. */
	if (colons > 1 && *auth != '[')
		snprintf(out, len, "https://[%.*s]", (int)n, auth);
	else
		snprintf(out, len, "https://%.*s", (int)n, auth);
	return ERR_OK;
}

/* A Location header as a path on this BMC. */
static const char *
location_path(struct rf *rf, const char *loc)
{
	size_t	n = strlen(rf->base);

	if (strncmp(loc, rf->base, n) == 0)
		loc += n;
	return rfj_path_ok(loc) ? loc : NULL;
}

/* s as the inside of a JSON string into out; the length it would take
 * (the caller checks it against len). */
static size_t
json_escape(char *out, size_t len, const char *s)
{
	size_t	 n = 0;
	char	 u[8];

	for (; s && *s; s++) {
		const char *w = NULL;
		unsigned char c = (unsigned char)*s;

		if (c == '"')
			w = "\\\"";
		else if (c == '\\')
			w = "\\\\";
		else if (c < 0x20) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			w = u;
		}
		if (w) {
			for (; *w; w++, n++)
				if (n + 1 < len)
					out[n] = *w;
		} else {
			if (n + 1 < len)
				out[n] = (char)c;
			n++;
		}
	}
	if (len > 0)
		out[n < len ? n : len - 1] = '\0';
	explicit_bzero(u, sizeof(u));
	return n;
}

static enum err_code
rf_login(struct bmc *b, struct err *e)
{
	struct rf	*rf = b->priv;
	struct rf_reply	 r;
	json_t		*rep = NULL;
	char		 body[2100], user[512], pass[1536];
	const char	*p = NULL;
	enum err_code	 rc;

	if (*rf->sessions == '\0') {
		rf->basic = 1;
		return ERR_OK;
	}
	/* The body is made here, not by jansson, so that no copy of the
	 * password outlives the request unwiped. */
	if (json_escape(user, sizeof(user), b->t.username) >= sizeof(user) ||
	    json_escape(pass, sizeof(pass), b->t.password) >= sizeof(pass)) {
		explicit_bzero(pass, sizeof(pass));
		return err_set(e, ERR_INVAL, "user name or password too long");
	}
	snprintf(body, sizeof(body), "{\"UserName\":\"%s\",\"Password\":"
	    "\"%s\"}", user, pass);
	explicit_bzero(pass, sizeof(pass));
	rc = rf_call(b, "POST", rf->sessions, body, NULL, &r, e);
	explicit_bzero(body, sizeof(body));
	if (rc != ERR_OK)
		return rc;
	if (r.status == 401 || r.status == 403) {
		long	status = r.status;

		reply_free(&r);
		return err_set(e, ERR_AUTH, "session refused: HTTP %ld: "
		    "credentials refused", status);
	}
	if ((r.status != 200 && r.status != 201) || *r.token == '\0') {
		/* No sessions to be had (a cap reached, none offered):
		 * HTTP Basic on every request instead. */
		log_debug("%s: bmc %s: no session (HTTP %ld): using Basic",
		    b->t.hostname, b->t.address, r.status);
		reply_free(&r);
		rf->basic = 1;
		return ERR_OK;
	}
	snprintf(rf->token, sizeof(rf->token), "%s", r.token);
	if (*r.location)
		p = location_path(rf, r.location);
	if (p == NULL && r.body && (rep = rfj_parse(r.body, r.len, NULL)))
		p = rfj_str(rep, "@odata.id");
	if (p && rfj_path_ok(p))
		snprintf(rf->session, sizeof(rf->session), "%s", p);
	else
		log_warnx("%s: bmc %s: the BMC did not say where its session "
		    "is; it cannot be closed and will expire by itself",
		    b->t.hostname, b->t.address);
	json_decref(rep);
	reply_free(&r);
	return ERR_OK;
}

static enum err_code
rf_open(struct bmc *b, struct err *e)
{
	struct rf	*rf;
	json_t		*root = NULL, *coll = NULL, *ss = NULL;
	const char	*p, *members[2];
	enum err_code	 rc;
	int		 n;

	rf = b->priv = xcalloc(1, sizeof(*rf));
	if ((rc = rf_base(b->t.address, rf->base, sizeof(rf->base), e)) !=
	    ERR_OK)
		return rc;
	if ((rf->curl = curl_easy_init()) == NULL)
		return err_set(e, ERR_FAIL, "cannot start libcurl");
	if (!b->t.tls_verify)
		log_warnx("%s: bmc %s: TLS is not verified (tls_verify = no)",
		    b->t.hostname, b->t.address);

	/* The service root answers without authentication. */
	if ((rc = rf_get(b, "/redfish/v1", &root, NULL, 0, e)) != ERR_OK)
		goto out;
	if ((p = rfj_link2(root, "Links", "Sessions")) != NULL)
		snprintf(rf->sessions, sizeof(rf->sessions), "%s", p);
	else if ((p = rfj_link(root, "SessionService")) != NULL) {
		rf->basic = 1;	/* reading SessionService needs auth */
		if (rf_get(b, p, &ss, NULL, 0, NULL) == ERR_OK &&
		    (p = rfj_link(ss, "Sessions")) != NULL)
			snprintf(rf->sessions, sizeof(rf->sessions), "%s", p);
		rf->basic = 0;
	}
	if ((rc = rf_login(b, e)) != ERR_OK)
		goto out;
	if ((p = rfj_link(root, "Systems")) == NULL) {
		rc = err_set(e, ERR_FAIL, "the service root links no Systems");
		goto out;
	}
	if ((rc = rf_get(b, p, &coll, NULL, 0, e)) != ERR_OK)
		goto out;
	n = rfj_members(coll, members, 2);
	if (n != 1) {
		rc = err_set(e, ERR_FAIL, n < 1 ? "the BMC lists no System" :
		    "the BMC lists several Systems; castiron drives a BMC "
		    "of one server");
		goto out;
	}
	snprintf(rf->system, sizeof(rf->system), "%s", members[0]);
out:
	json_decref(root);
	json_decref(coll);
	json_decref(ss);
	return rc;
}

static void
rf_close(struct bmc *b)
{
	struct rf	*rf = b->priv;
	struct rf_reply	 r;
	struct err	 e;

	if (rf == NULL)
		return;
	if (*rf->session) {
		if (rf_call(b, "DELETE", rf->session, NULL, NULL, &r, &e) !=
		    ERR_OK)
			log_warnx("%s: bmc %s: closing the session: %s",
			    b->t.hostname, b->t.address, e.msg);
		else if (r.status >= 300 && r.status != 404)
			log_warnx("%s: bmc %s: closing the session: HTTP %ld",
			    b->t.hostname, b->t.address, r.status);
		reply_free(&r);
	}
	explicit_bzero(rf->token, sizeof(rf->token));
	if (rf->curl)
		curl_easy_cleanup(rf->curl);
	free(rf);
	b->priv = NULL;
}

static enum err_code
rf_system(struct bmc *b, json_t **sys, char *etag, size_t etaglen,
    struct err *e)
{
	struct rf	*rf = b->priv;

	return rf_get(b, rf->system, sys, etag, etaglen, e);
}

static enum err_code
rf_power_get(struct bmc *b, enum bmc_power *p, struct err *e)
{
	json_t		*sys;
	enum err_code	 rc;

	if ((rc = rf_system(b, &sys, NULL, 0, e)) != ERR_OK)
		return rc;
	*p = rfj_power(sys);
	json_decref(sys);
	return ERR_OK;
}

/* The reset types the System allows; NULL when it does not say. */
static json_t *
allowed_resets(struct bmc *b, json_t *sys)
{
	json_t		*a, *info;
	const char	*p;

	if ((a = rfj_reset_allowed(sys)) != NULL)
		return json_incref(a);
	if ((p = rfj_action_info(sys)) == NULL ||
	    rf_get(b, p, &info, NULL, 0, NULL) != ERR_OK)
		return NULL;
	a = rfj_info_allowed(info, "ResetType");
	if (a)
		json_incref(a);
	json_decref(info);
	return a;
}

/* The first of the candidates the System allows. */
static const char *
pick_reset(json_t *allowed, const char *const *cand)
{
	for (; *cand; cand++)
		if (rfj_allows(allowed, *cand) != 0)
			return *cand;
	return NULL;
}

static enum err_code
rf_reset(struct bmc *b, const char *target, const char *type,
    struct err *e)
{
	struct rf_reply	 r = { 0 };
	char		 body[64];
	enum err_code	 rc;
	int		 i;

	snprintf(body, sizeof(body), "{\"ResetType\":\"%s\"}", type);
	for (i = 0; i < RF_409_TRIES; i++) {
		if (i > 0)
			bmc_sleep_ms(1000);
		/* No If-Match on an action. */
		if ((rc = rf_call(b, "POST", target, body, NULL, &r, e)) !=
		    ERR_OK)
			return err_prefix(e, "reset %s", type);
		if (r.status != 409 || strcmp(type, "On") != 0)
			break;
		log_debug("%s: bmc %s: reset On: 409, again", b->t.hostname,
		    b->t.address);
		reply_free(&r);
	}
	if (r.status < 200 || r.status >= 300) {
		rc = rf_status_error("POST", target, &r, e);
		reply_free(&r);
		return err_prefix(e, "reset %s", type);
	}
	reply_free(&r);
	return ERR_OK;
}

/* Polls PowerState until it is want, or until deadline (monotonic ms). */
static enum err_code
rf_wait_power(struct bmc *b, enum bmc_power want, uint64_t deadline,
    struct err *e)
{
	enum bmc_power	 p = BMC_POWER_UNKNOWN;
	enum err_code	 rc;

	for (;;) {
		if ((rc = rf_power_get(b, &p, e)) != ERR_OK)
			return rc;
		if (p == want)
			return ERR_OK;
		if (bmc_interrupted)
			return err_set(e, ERR_FAIL, "interrupted");
		if (mono_ms() + RF_POLL_MS > deadline)
			break;
		bmc_sleep_ms(RF_POLL_MS);
	}
	return err_set(e, ERR_TIMEOUT, "PowerState still %s, not %s, after "
	    "power_timeout (%u ms)", bmc_power_name(p), bmc_power_name(want),
	    b->t.power_timeout_ms);
}

static enum err_code
rf_power_set(struct bmc *b, enum bmc_action a, struct err *e)
{
	static const char *const on[] = { "On", "PushPowerButton", NULL };
	static const char *const off[] = { "ForceOff", NULL };
	static const char *const restart[] = { "ForceRestart", "PowerCycle",
	    NULL };
	static const char *const soft[] = { "GracefulShutdown", NULL };
	json_t		*sys, *allowed;
	const char	*target, *type;
	const char *const *cand;
	enum bmc_power	 now, want;
	enum err_code	 rc;
	uint64_t	 deadline = mono_ms() + b->t.power_timeout_ms;
	char		 tgt[RF_MAXLINK];

	if ((rc = rf_system(b, &sys, NULL, 0, e)) != ERR_OK)
		return rc;
	now = rfj_power(sys);
	if ((target = rfj_reset_target(sys)) == NULL) {
		json_decref(sys);
		return err_set(e, ERR_FAIL, "the System has no Reset action");
	}
	snprintf(tgt, sizeof(tgt), "%s", target);
	allowed = allowed_resets(b, sys);
	json_decref(sys);

	switch (a) {
	case BMC_ON:
		cand = on, want = BMC_POWER_ON;
		break;
	case BMC_OFF:
		cand = off, want = BMC_POWER_OFF;
		break;
	case BMC_CYCLE:
		cand = now == BMC_POWER_ON ? restart : on, want = BMC_POWER_ON;
		break;
	default:
		cand = soft, want = BMC_POWER_OFF;
		break;
	}
	if (now == want && a != BMC_CYCLE) {
		json_decref(allowed);
		return ERR_OK;
	}
	if ((type = pick_reset(allowed, cand)) == NULL) {
		json_decref(allowed);
		return err_set(e, ERR_FAIL, "the BMC allows no reset type for "
		    "%s (wanted %s)", bmc_action_name(a), cand[0]);
	}
	rc = rf_reset(b, tgt, type, e);
	if (rc == ERR_OK && a == BMC_SOFT_OFF) {
		/* Half the time for the OS to shut down, then hard off. */
		rc = rf_wait_power(b, BMC_POWER_OFF, mono_ms() +
		    b->t.power_timeout_ms / 2, e);
		if (rc == ERR_TIMEOUT && (type = pick_reset(allowed, off))) {
			err_clear(e);
			log_info("%s: bmc %s: no shutdown in %u ms: ForceOff",
			    b->t.hostname, b->t.address,
			    b->t.power_timeout_ms / 2);
			rc = rf_reset(b, tgt, type, e);
		}
	}
	json_decref(allowed);
	if (rc != ERR_OK)
		return rc;
	return rf_wait_power(b, want, deadline, e);
}

/*
 * PATCH with If-Match as BMCs need it: the ETag as given; a weak one
 * refused (412): its strong form, then none; 428 without one: GET the
 * ETag and send it.
 */
static enum err_code
rf_patch(struct bmc *b, const char *path, const char *body, const char *etag,
    json_t **res, struct err *e)
{
	struct rf_reply	 r = { 0 };
	json_t		*j;
	char		 tag[128], strong[128];
	const char	*try[3];
	enum err_code	 rc;
	size_t		 n = 0, i;

	snprintf(tag, sizeof(tag), "%s", etag ? etag : "");
	if (*tag) {
		try[n++] = tag;
		if (strncmp(tag, "W/", 2) == 0) {
			snprintf(strong, sizeof(strong), "%s", tag + 2);
			try[n++] = strong;
		}
	}
	try[n++] = NULL;
	for (i = 0; i < n; i++) {
		if ((rc = rf_call(b, "PATCH", path, body, try[i], &r, e)) !=
		    ERR_OK)
			return rc;
		if (r.status == 428 && try[i] == NULL && *tag == '\0') {
			reply_free(&r);
			if ((rc = rf_get(b, path, &j, tag, sizeof(tag), e)) !=
			    ERR_OK)
				return rc;
			json_decref(j);
			if (*tag == '\0')
				return err_set(e, ERR_FAIL, "PATCH %s: the BMC "
				    "requires If-Match but gives no ETag", path);
			return rf_patch(b, path, body, tag, res, e);
		}
		if (r.status != 412 || i + 1 == n)
			break;
		log_debug("%s: bmc %s: PATCH %s: If-Match %s refused",
		    b->t.hostname, b->t.address, path, try[i]);
		reply_free(&r);
	}
	if (r.status < 200 || r.status >= 300) {
		rc = rf_status_error("PATCH", path, &r, e);
		reply_free(&r);
		return rc;
	}
	/* Many BMCs answer with the resource as it now is. */
	if (res && r.status == 200 && r.body)
		*res = rfj_parse(r.body, r.len, NULL);
	reply_free(&r);
	return ERR_OK;
}

static enum err_code
rf_boot_set(struct bmc *b, enum bmc_bootdev d, int persistent,
    struct err *e)
{
	static const char *const modes[] = { NULL, "UEFI", "Legacy" };
	struct rfj_boot	 bt;
	json_t		*sys, *res = NULL, *boot, *req;
	const char	*target = d == BMC_BOOT_PXE ? "Pxe" : "Hdd";
	const char	*enabled = persistent ? "Continuous" : "Once";
	const char	*mode = b->t.boot_mode > 0 && b->t.boot_mode < 3 ?
			    modes[b->t.boot_mode] : NULL;
	const char	*settings;
	char		 etag[128], path[RF_MAXLINK], *body;
	enum err_code	 rc;

	if ((rc = rf_system(b, &sys, etag, sizeof(etag), e)) != ERR_OK)
		return rc;
	if (rfj_boot(sys, &bt) == -1) {
		json_decref(sys);
		return err_set(e, ERR_FAIL, "the System has no Boot object");
	}
	if (rfj_allows(bt.targets, target) == 0) {
		json_decref(sys);
		return err_set(e, ERR_FAIL, "the BMC does not allow boot "
		    "target %s", target);
	}
	if (mode && bt.mode && strcmp(bt.mode, mode) == 0)
		mode = NULL;		/* sent only when it differs */
	settings = rfj_settings(sys);
	snprintf(path, sizeof(path), "%s", settings ? settings :
	    ((struct rf *)b->priv)->system);
	json_decref(sys);
	if (settings && (rc = rf_get(b, path, &res, etag, sizeof(etag), e)) !=
	    ERR_OK)
		return err_prefix(e, "the System's @Redfish.Settings");
	json_decref(res);

	boot = json_pack("{s:s, s:s}", "BootSourceOverrideTarget", target,
	    "BootSourceOverrideEnabled", enabled);
	if (mode)
		json_object_set_new(boot, "BootSourceOverrideMode",
		    json_string(mode));
	req = json_pack("{s:o}", "Boot", boot);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	sys = NULL;
	rc = rf_patch(b, path, body, etag, &sys, e);
	free(body);
	if (rc != ERR_OK || settings) {
		json_decref(sys);
		return rc;	/* a Settings object applies at the reset */
	}
	/* Read it back (from the PATCH's reply when it carries the
	 * resource): an operator wants the override certain. */
	if (sys != NULL && rfj_boot(sys, &bt) == -1) {
		json_decref(sys);
		sys = NULL;
	}
	if (sys == NULL && (rc = rf_system(b, &sys, NULL, 0, e)) != ERR_OK)
		return rc;
	rfj_boot(sys, &bt);
	if (bt.target == NULL || strcmp(bt.target, target) != 0 ||
	    bt.enabled == NULL || strcmp(bt.enabled, enabled) != 0)
		rc = err_set(e, ERR_FAIL, "the BMC accepted the boot override "
		    "but reports %s/%s", bt.target ? bt.target : "none",
		    bt.enabled ? bt.enabled : "none");
	json_decref(sys);
	return rc;
}

static void
copy_field(char *dst, size_t len, const char *src)
{
	size_t	i, k = 0;

	for (i = 0; src && src[i] && k + 1 < len; i++)
		dst[k++] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[k] = '\0';
	while (k > 0 && dst[k - 1] == ' ')
		dst[--k] = '\0';
}

static enum err_code
rf_identity(struct bmc *b, struct bmc_identity *id, struct err *e)
{
	json_t		*sys, *coll = NULL, *nic;
	const char	*p, *m[BMC_MAXMACS];
	enum err_code	 rc;
	int		 n, i;

	if ((rc = rf_system(b, &sys, NULL, 0, e)) != ERR_OK)
		return rc;
	copy_field(id->serial, sizeof(id->serial), rfj_str(sys, "SerialNumber"));
	copy_field(id->manufacturer, sizeof(id->manufacturer),
	    rfj_str(sys, "Manufacturer"));
	copy_field(id->model, sizeof(id->model), rfj_str(sys, "Model"));
	if ((p = rfj_link(sys, "EthernetInterfaces")) == NULL ||
	    rf_get(b, p, &coll, NULL, 0, NULL) != ERR_OK) {
		json_decref(sys);
		return ERR_OK;
	}
	json_decref(sys);
	n = rfj_members(coll, m, BMC_MAXMACS);
	for (i = 0; i < n; i++) {
		if ((rc = rf_get(b, m[i], &nic, NULL, 0, e)) != ERR_OK)
			break;
		p = rfj_str(nic, "MACAddress");
		if (p == NULL)
			p = rfj_str(nic, "PermanentMACAddress");
		if (rfj_mac(p, id->macs[id->nmacs]) == 0)
			id->nmacs++;
		json_decref(nic);
	}
	id->macs_known = rc == ERR_OK && n >= 0;
	json_decref(coll);
	return rc;
}

const struct bmc_ops bmc_redfish_ops = {
	.name = "redfish",
	.open = rf_open,
	.power_get = rf_power_get,
	.power_set = rf_power_set,
	.boot_set = rf_boot_set,
	.identity = rf_identity,
	.close = rf_close,
};
