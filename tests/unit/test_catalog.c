/*
 * Unit tests for the signed catalog: images/signify.c against key and
 * signature files that signify-openbsd (Debian 12) wrote, including a
 * signature castiron must reproduce byte for byte (Ed25519 is
 * deterministic); and images/catalog_text.c with a good catalog, its own
 * output read back, every truncation and hostile variants that must fail
 * with one message naming the line, never crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "images/catalog.h"
#include "images/signify.h"
#include "lib/xmalloc.h"

/* signify-openbsd -G -n -c "castiron unit test key" -p t.pub -s t.sec */
static const char pub_file[] =
"untrusted comment: castiron unit test key public key\n"
"RWS6h350hYIzdaCqsOd5mo2AhRLr6jSAvYkBuarfFN6NWMcDJaBRzP4w\n";
static const char sec_file[] =
"untrusted comment: castiron unit test key secret key\n"
"RWRCSwAAAADdUb8IdWCA/ivcQ9c2BDBmlZw+1PBy0Vq6h350hYIzdbs4kphbqr12+BrhV07Nt/"
"5VlZWmbJMTHtb3fxLMI9eRoKqw53majYCFEuvqNIC9iQG5qt8U3o1YxwMloFHM/jA=\n";
/* signify-openbsd -S -e -s t.sec -m t.msg -x t.sig */
static const char msg[] =
"castiron-catalog 1\n"
"serial = 3\n"
"\n"
"[image x]\n"
"url = https://example.net/x.img\n"
"sha256 = 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\n"
"built_at = 2026-01-02T03:04:05Z\n";
static const char sig_hdr[] =
"untrusted comment: verify with t.pub\n"
"RWS6h350hYIzdSOIx2EoOtAZCc3FyIMiOQyR7CEMWBkieUCURjzZd/1Eawsvgrl1Zz23HzpBe0d"
"ISThRSVfHJnQAWArgKpxFcQs=\n";

static char *
signed_file(size_t *len)
{
	char	*s = xsprintf("%s%s", sig_hdr, msg);

	*len = strlen(s);
	return s;
}

static void
t_signify_interop(void **state)
{
	struct sig_pubkey	 pk, derived;
	struct sig_seckey	 sk;
	struct sig_sig		 sig;
	struct err		 e = { 0 };
	const char		*m;
	size_t			 len, mlen, olen;
	char			*f, *mine;

	(void)state;
	assert_int_equal(sig_pubkey_parse(pub_file, strlen(pub_file), "t.pub",
	    &pk, &e), ERR_OK);
	assert_int_equal(sig_seckey_parse(sec_file, strlen(sec_file), "t.sec",
	    &sk, &e), ERR_OK);
	sig_seckey_public(&sk, &derived);
	assert_memory_equal(&pk, &derived, sizeof(pk));
	f = signed_file(&len);
	assert_int_equal(sig_embedded_split(f, len, "t.sig", &sig, &m, &mlen,
	    &e), ERR_OK);
	assert_int_equal(mlen, strlen(msg));
	assert_memory_equal(m, msg, mlen);
	assert_int_equal(sig_verify(&pk, &sig, m, mlen, "t.sig", &e), ERR_OK);
	/* castiron signs exactly as signify does. */
	mine = sig_sign_embedded(&sk, "verify with t.pub", msg, strlen(msg),
	    &olen, &e);
	assert_non_null(mine);
	assert_int_equal(olen, len);
	assert_memory_equal(mine, f, len);
	free(mine);
	free(f);
}

static void
t_signify_refusals(void **state)
{
	struct sig_pubkey	 pk;
	struct sig_sig		 sig;
	struct err		 e = { 0 };
	const char		*m;
	size_t			 len, mlen, i;
	char			*f;

	(void)state;
	assert_int_equal(sig_pubkey_parse(pub_file, strlen(pub_file), "t.pub",
	    &pk, &e), ERR_OK);
	f = signed_file(&len);
	/* Every byte of the message flipped: a bad signature. */
	for (i = strlen(sig_hdr); i < len; i++) {
		f[i] ^= 0x01;
		assert_int_equal(sig_embedded_split(f, len, "t.sig", &sig, &m,
		    &mlen, &e), ERR_OK);
		assert_int_equal(sig_verify(&pk, &sig, m, mlen, "t.sig", &e),
		    ERR_TRUST);
		assert_non_null(strstr(e.msg, "bad signature"));
		f[i] ^= 0x01;
	}
	/* A message cut short. */
	assert_int_equal(sig_embedded_split(f, len - 1, "t.sig", &sig, &m,
	    &mlen, &e), ERR_OK);
	assert_int_equal(sig_verify(&pk, &sig, m, mlen, "t.sig", &e), ERR_TRUST);
	/* Another key number: named as another key, not as tampering. */
	assert_int_equal(sig_embedded_split(f, len, "t.sig", &sig, &m, &mlen,
	    &e), ERR_OK);
	sig.keynum[0] ^= 0x80;
	assert_int_equal(sig_verify(&pk, &sig, m, mlen, "t.sig", &e), ERR_TRUST);
	assert_non_null(strstr(e.msg, "another key"));
	/* Unsigned: the catalog alone. */
	assert_int_equal(sig_embedded_split(msg, strlen(msg), "c", &sig, &m,
	    &mlen, &e), ERR_TRUST);
	assert_non_null(strstr(e.msg, "not signed"));
	/* Every truncation inside the signature block fails cleanly. */
	for (i = 0; i < strlen(sig_hdr); i++)
		assert_int_equal(sig_embedded_split(f, i, "t.sig", &sig, &m,
		    &mlen, &e), ERR_TRUST);
	free(f);
}

static void
t_key_refusals(void **state)
{
	struct sig_pubkey	 pk;
	struct sig_seckey	 sk;
	struct err		 e = { 0 };
	char			 buf[512];
	size_t			 i, l = strlen(pub_file);

	(void)state;
	for (i = 0; i < l; i++)
		assert_int_equal(sig_pubkey_parse(pub_file, i, "t.pub", &pk,
		    &e), ERR_INVAL);
	/* Trailing data, a bad character, a secret key as public key. */
	snprintf(buf, sizeof(buf), "%sx\n", pub_file);
	assert_int_equal(sig_pubkey_parse(buf, strlen(buf), "t.pub", &pk, &e),
	    ERR_INVAL);
	snprintf(buf, sizeof(buf), "%s", pub_file);
	buf[strlen(buf) - 5] = '*';
	assert_int_equal(sig_pubkey_parse(buf, strlen(buf), "t.pub", &pk, &e),
	    ERR_INVAL);
	assert_non_null(strstr(e.msg, "line 2"));
	assert_int_equal(sig_pubkey_parse(sec_file, strlen(sec_file), "t.sec",
	    &pk, &e), ERR_INVAL);
	/* "RWRCSwAAAAD..." -> rounds 1 ("RWRCSwAAAAH"): an encrypted key. */
	snprintf(buf, sizeof(buf), "%s", sec_file);
	*strstr(buf, "RWRCSwAAAAD") = 'R';
	buf[strstr(buf, "RWRCSwAAAAD") - buf + 10] = 'H';
	assert_int_equal(sig_seckey_parse(buf, strlen(buf), "t.sec", &sk, &e),
	    ERR_INVAL);
	assert_non_null(strstr(e.msg, "encrypted"));
	/* A damaged secret key: the checksum says so. */
	snprintf(buf, sizeof(buf), "%s", sec_file);
	buf[strlen(buf) - 10] = buf[strlen(buf) - 10] == 'A' ? 'B' : 'A';
	assert_int_equal(sig_seckey_parse(buf, strlen(buf), "t.sec", &sk, &e),
	    ERR_INVAL);
	assert_non_null(strstr(e.msg, "t.sec"));
}

static const char good[] =
"castiron-catalog 1\n"
"# a comment\n"
"serial = 42\n"
"\n"
"[image debian12]\n"
"url = https://images.example.net/debian12.img.zst\n"
"sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
"bmap = https://images.example.net/debian12.bmap\n"
"bmap_sha256 = bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
"min_disk = 2147483648\n"
"built_at = 2026-12-01T12:00:00Z\n"
"\n"
"[image tiny]\n"
"url = file:///srv/tiny.raw\n"
"sha256 = cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
"built_at = 2026-12-01T12:00:01Z\n";

static void
t_parse_good_and_roundtrip(void **state)
{
	struct catalog		*c, *c2;
	struct cat_entry	*d;
	struct err		 e = { 0 };
	char			*text;
	size_t			 len, i;

	(void)state;
	c = catalog_parse(good, strlen(good), "cat", &e);
	assert_non_null(c);
	assert_int_equal(c->serial, 42);
	assert_int_equal(c->n, 2);
	d = catalog_find(c, "debian12");
	assert_non_null(d);
	assert_string_equal(d->img.sha256, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_string_equal(d->img.bmap, "https://images.example.net/debian12.bmap");
	assert_int_equal(d->img.min_disk, 2147483648ULL);
	assert_int_equal(d->img.line, 5);
	assert_null(catalog_find(c, "tiny")->img.bmap);
	assert_string_equal(catalog_find(c, "tiny")->img.bmap_sha256, "");
	text = catalog_format(c, &len);
	c2 = catalog_parse(text, len, "again", &e);
	assert_non_null(c2);
	assert_int_equal(c2->serial, c->serial);
	assert_int_equal(c2->n, c->n);
	for (i = 0; i < c->n; i++) {
		assert_string_equal(c2->ent[i].img.name, c->ent[i].img.name);
		assert_string_equal(c2->ent[i].img.url, c->ent[i].img.url);
		assert_string_equal(c2->ent[i].img.sha256, c->ent[i].img.sha256);
		assert_string_equal(c2->ent[i].img.bmap_sha256, c->ent[i].img.bmap_sha256);
		assert_string_equal(c2->ent[i].built_at, c->ent[i].built_at);
		assert_int_equal(c2->ent[i].img.min_disk, c->ent[i].img.min_disk);
	}
	catalog_free(c2);
	free(text);
	/* Removing keeps the order of the others. */
	assert_int_equal(catalog_remove(c, "debian12"), 0);
	assert_int_equal(catalog_remove(c, "debian12"), -1);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->ent[0].img.name, "tiny");
	catalog_free(c);
}

/* A cut not at a line end always fails; a cut at one either fails or is
 * a complete shorter catalog (which only the signature can tell). */
static void
t_every_truncation(void **state)
{
	struct catalog	*c;
	struct err	 e;
	size_t		 i;

	(void)state;
	for (i = 0; i < strlen(good); i++) {
		memset(&e, 0, sizeof(e));
		c = catalog_parse(good, i, "cut", &e);
		if (i == 0 || good[i - 1] != '\n') {
			assert_null(c);
			assert_int_equal(e.code, ERR_INVAL);
			assert_non_null(strstr(e.msg, "cut: "));
		} else if (c == NULL)
			assert_true(e.msg[0] != '\0');
		catalog_free(c);
	}
}

struct bad { const char *text, *want; };

static void
t_hostile(void **state)
{
	static const struct bad bad[] = {
		{ "", "empty" },
		{ "castiron-catalog 2\nserial = 1\n", "line 1: not a castiron" },
		{ "serial = 1\n", "line 1: not a castiron" },
		{ "# comment\ncastiron-catalog 1\nserial = 1\n",
		    "line 1: not a castiron" },
		{ "\ncastiron-catalog 1\nserial = 1\n", "line 1: not a castiron" },
		{ "castiron-catalog 1\n", "no serial" },
		{ "castiron-catalog 1\nserial = 0\n", "line 2: serial" },
		{ "castiron-catalog 1\nserial = 99999999999999999999999\n",
		    "line 2: serial" },
		{ "castiron-catalog 1\nserial = -1\n", "line 2: serial" },
		{ "castiron-catalog 1\nserial = 1\nserial = 2\n",
		    "line 3: serial given twice" },
		{ "castiron-catalog 1\nserial = 1\nurl = x\n",
		    "line 3: unknown key" },
		{ "castiron-catalog 1\n[image a]\n", "line 2: [image a] before" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\n",
		    "line 3: [image a]: url is missing" },
		{ "castiron-catalog 1\nserial = 1\n[image a\n",
		    "line 3: expected \"[image NAME]\"" },
		{ "castiron-catalog 1\nserial = 1\n[image a/b]\n",
		    "line 3: image name" },
		{ "castiron-catalog 1\nserial = 1\n[host a]\n", "line 3" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nurl = ftp://x/y\n",
		    "line 4: [image a]: url" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nurl = http://x/ y\n",
		    "line 4" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nurl = http://x/\n"
		    "url = http://y/\n", "line 5: [image a]: url given twice" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nsha256 = 12\n",
		    "line 4: [image a]: sha256" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nurl = http://x/\n"
		    "sha256 = cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
		    "built_at = 2026-12-01T12:00:01Z\nbmap = http://x/b\n",
		    "line 3: [image a]: bmap_sha256 is missing" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nurl = http://x/\n"
		    "sha256 = cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
		    "built_at = 2026-13-01T12:00:01Z\n", "line 6: [image a]: built_at" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nurl = http://x/\n"
		    "sha256 = cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
		    "built_at = 2026-12-01T12:00:01Z\n[image a]\n",
		    "line 7: [image a] given twice (first at line 3)" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nmin_disk = 1x\n",
		    "line 4: [image a]: min_disk" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nhello\n",
		    "line 4: expected" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\n = x\n", "line 4" },
		{ "castiron-catalog 1\nserial = 1\n[image a]\nurl =\n",
		    "line 4: url: empty" },
		{ "castiron-catalog 1\nserial = 1 \n", "line 2: serial: trailing" },
		{ "castiron-catalog 1\r\nserial = 1\n", "line 1: a control byte" },
		{ "castiron-catalog 1\nserial = 1\x1b[2J\n", "line 2: a control" },
		{ "castiron-catalog 1\nserial = 1", "line 2: truncated" },
		{ NULL, NULL }
	};
	struct catalog	*c;
	struct err	 e;
	size_t		 i;

	(void)state;
	for (i = 0; bad[i].text; i++) {
		memset(&e, 0, sizeof(e));
		c = catalog_parse(bad[i].text, strlen(bad[i].text), "h", &e);
		if (c != NULL || strstr(e.msg, bad[i].want) == NULL)
			fail_msg("case %zu: want \"%s\", got \"%s\"", i,
			    bad[i].want, c ? "(parsed)" : e.msg);
	}
	/* A NUL inside. */
	c = catalog_parse("castiron-catalog 1\n\0serial = 1\n", 31, "h", &e);
	assert_null(c);
	assert_non_null(strstr(e.msg, "line 2: a control byte (0x00)"));
}

static void
t_limits(void **state)
{
	struct catalog	*c;
	struct err	 e = { 0 };
	char		*big, *p;
	size_t		 i, n;

	(void)state;
	/* A line at the limit. */
	big = xmalloc(CATALOG_LINEMAX + 64);
	n = (size_t)snprintf(big, 64, "castiron-catalog 1\n# ");
	memset(big + n, 'x', CATALOG_LINEMAX);
	big[n + CATALOG_LINEMAX] = '\n';
	c = catalog_parse(big, n + CATALOG_LINEMAX + 1, "long", &e);
	assert_null(c);
	assert_non_null(strstr(e.msg, "line 2: longer than"));
	free(big);
	/* One entry too many. */
	big = xmalloc(CATALOG_MAX + 1);
	p = big;
	p += sprintf(p, "castiron-catalog 1\nserial = 1\n");
	for (i = 0; i <= CATALOG_ENTRIESMAX; i++)
		p += sprintf(p, "[image i%zu]\nurl = file:///a\nsha256 = %064d\n"
		    "built_at = 2026-01-01T00:00:00Z\n", i, 0);
	assert_true((size_t)(p - big) < CATALOG_MAX);
	c = catalog_parse(big, (size_t)(p - big), "many", &e);
	assert_null(c);
	assert_non_null(strstr(e.msg, "more than"));
	/* Larger than the limit. */
	c = catalog_parse(big, CATALOG_MAX + 1, "huge", &e);
	assert_null(c);
	assert_non_null(strstr(e.msg, "larger than"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_signify_interop),
		cmocka_unit_test(t_signify_refusals),
		cmocka_unit_test(t_key_refusals),
		cmocka_unit_test(t_parse_good_and_roundtrip),
		cmocka_unit_test(t_every_truncation),
		cmocka_unit_test(t_hostile),
		cmocka_unit_test(t_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
