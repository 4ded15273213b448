/*
 * keys: the command-signing Ed25519 key. The file holds the base64 of the
 * 32-byte seed and a newline; it is created 0600 when missing, and one that
 * is corrupt or that group or others may read stops the command center.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "command.h"
#include "util.h"

int
keys_load(const char *name, const char *path, unsigned char sk[64],
    unsigned char pk[32], char *err, size_t errlen)
{
	unsigned char seed[crypto_sign_SEEDBYTES + 1];
	char	     *text = NULL, *b64 = NULL;
	struct stat   st;
	size_t	      len;
	int	      rc = -1;

	/* lstat: a key reached through a symlink is refused as not regular. */
	if (lstat(path, &st) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s: %s", name, path,
			    strerror(errno));
			goto out;
		}
		randombytes_buf(seed, crypto_sign_SEEDBYTES);
		if ((b64 = b64_encode(seed, crypto_sign_SEEDBYTES)) == NULL ||
		    (text = malloc(strlen(b64) + 2)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		snprintf(text, strlen(b64) + 2, "%s\n", b64);
		if (file_write_atomic(path, text, strlen(text), 0600) == -1) {
			snprintf(err, errlen, "%s: cannot create %s: %s", name,
			    path, strerror(errno));
			goto out;
		}
		crypto_sign_seed_keypair(pk, sk, seed);
		rc = 0;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
		    "%s: %s is not a regular file (%s): "
		    "name the key file itself",
		    name, path,
		    S_ISDIR(st.st_mode)	    ? "a directory" :
			S_ISLNK(st.st_mode) ? "a symbolic link" :
					      "a device, socket or pipe");
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s: %s must be readable only by its "
		    "owner (mode is %03o; chmod 600 it)",
		    name, path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if ((text = file_read(path, 256, &len)) == NULL) {
		snprintf(err, errlen, "%s: cannot read %s: %s", name, path,
		    strerror(errno));
		goto out;
	}
	str_rtrim(text);
	if (b64_decode(text, seed, sizeof(seed)) != crypto_sign_SEEDBYTES) {
		snprintf(err, errlen,
		    "%s: %s is corrupt (expected the base64 "
		    "of a 32-byte Ed25519 seed)",
		    name, path);
		goto out;
	}
	crypto_sign_seed_keypair(pk, sk, seed);
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	if (text != NULL)
		sodium_memzero(text, strlen(text));
	if (b64 != NULL)
		sodium_memzero(b64, strlen(b64));
	free(text);
	free(b64);
	return rc;
}

/* The command center's key: set once at start, then only read. */
static unsigned char signing_sk[64], signing_pk[32];
static char	     signing_pk_b64[64];

int
keys_init(const char *name, const char *path, char *err, size_t errlen)
{
	if (keys_load(name, path, signing_sk, signing_pk, err, errlen) == -1)
		return -1;
	sodium_bin2base64(signing_pk_b64, sizeof(signing_pk_b64), signing_pk,
	    sizeof(signing_pk), sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

const char *
keys_public_b64(void)
{
	return signing_pk_b64;
}

int
keys_sign(const char *payload, size_t len, char **payload_b64, char **sig_b64)
{
	return cmd_sign(signing_sk, payload, len, payload_b64, sig_b64);
}

void
keys_wipe(void)
{
	sodium_memzero(signing_sk, sizeof(signing_sk));
}
