/*
 * libFuzzer target for the signed catalog's parsers: any bytes must
 * either parse or fail with a message, as a signify signature block
 * (whose message is then parsed as a catalog), as a public and a secret
 * key, and as a catalog; a catalog that parsed is formatted and must
 * parse again into the same number of entries with the same serial.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/catalog.h"
#include "images/signify.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
parse_catalog(const char *p, size_t len)
{
	struct catalog	*c, *c2;
	struct err	 e = { 0 };
	char		*text;
	size_t		 tlen, i;

	if ((c = catalog_parse(p, len, "fuzz", &e)) == NULL) {
		if (e.msg[0] == '\0' || e.code != ERR_INVAL)
			abort();
		return;
	}
	for (i = 0; i < c->n; i++)
		if (strlen(c->ent[i].img.sha256) != 64 || c->ent[i].img.url == NULL ||
		    (c->ent[i].img.bmap != NULL) !=
		    (c->ent[i].img.bmap_sha256[0] != '\0'))
			abort();
	text = catalog_format(c, &tlen);
	c2 = catalog_parse(text, tlen, "fuzz2", &e);
	if (c2 == NULL || c2->n != c->n || c2->serial != c->serial)
		abort();
	catalog_free(c2);
	free(text);
	catalog_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char		*p = (const char *)data, *msg;
	struct sig_pubkey	 pk;
	struct sig_seckey	 sk;
	struct sig_sig		 sig;
	struct err		 e = { 0 };
	size_t			 mlen;

	if (sig_embedded_split(p, len, "fuzz", &sig, &msg, &mlen, &e) ==
	    ERR_OK) {
		if (msg < p || msg + mlen != p + len)
			abort();
		parse_catalog(msg, mlen);
	} else if (e.msg[0] == '\0')
		abort();
	(void)sig_pubkey_parse(p, len, "fuzz", &pk, &e);
	(void)sig_seckey_parse(p, len, "fuzz", &sk, &e);
	parse_catalog(p, len);
	return 0;
}
