/*
 * SSH public key fingerprints (lib/sshkey.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/sshkey.h"
#include "lib/xmalloc.h"

int
sshkey_b64_decode(const char *s, size_t len, unsigned char **out,
    size_t *outlen)
{
	size_t	 pad = 0;
	int	 n;

	if (len == 0 || len % 4 != 0 || len > 16384)
		return -1;
	if (s[len - 1] == '=')
		pad++;
	if (s[len - 2] == '=')
		pad++;
	*out = xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(*out, (const unsigned char *)s, (int)len);
	/* EVP_DecodeBlock counts padding bytes as data. */
	if (n < 0 || (size_t)n < pad) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*outlen = (size_t)n - pad;
	return 0;
}

void
sshkey_fp_blob(const unsigned char *blob, size_t len, char fp[SSH_FP_LEN])
{
	unsigned char	 md[EVP_MAX_MD_SIZE], b64[64];
	unsigned int	 mdlen = 0;
	int		 n;

	EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	/* OpenSSH prints the digest in base64 without padding. */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	if (n > SSH_FP_LEN - 8)
		n = SSH_FP_LEN - 8;
	memcpy(fp, "SHA256:", 7);
	memcpy(fp + 7, b64, (size_t)n);
	fp[7 + n] = '\0';
}

int
sshkey_fp_b64(const char *b64, char fp[SSH_FP_LEN])
{
	unsigned char	*blob;
	size_t		 len;

	if (sshkey_b64_decode(b64, strlen(b64), &blob, &len) == -1)
		return -1;
	sshkey_fp_blob(blob, len, fp);
	free(blob);
	return 0;
}

enum err_code
sshkey_fp_line(const char *line, char fp[SSH_FP_LEN], struct err *err)
{
	const char	*p = line, *b;
	unsigned char	*blob;
	size_t		 blen, len;

	while (*p == ' ' || *p == '\t')
		p++;
	/* "TYPE BASE64 [comment]" */
	while (*p && *p != ' ' && *p != '\t')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	b = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	blen = (size_t)(p - b);
	if (blen == 0)
		return err_set(err, ERR_INVAL, "not an OpenSSH public key "
		    "line");
	if (sshkey_b64_decode(b, blen, &blob, &len) == -1)
		return err_set(err, ERR_INVAL, "bad base64 in public key");
	sshkey_fp_blob(blob, len, fp);
	free(blob);
	return ERR_OK;
}

enum err_code
sshkey_fp_file(const char *path, char fp[SSH_FP_LEN], struct err *err)
{
	FILE		*f;
	char		 line[16384];
	enum err_code	 rc;

	if ((f = fopen(path, "re")) == NULL)
		return err_errno(err, ERR_FAIL, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		fclose(f);
		if ((rc = sshkey_fp_line(line, fp, err)) != ERR_OK)
			err_prefix(err, "%s", path);
		return rc;
	}
	fclose(f);
	return err_set(err, ERR_INVAL, "%s: no public key in the file", path);
}
