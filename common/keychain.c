/*
 * keychain: links between command-signing keys, made by the command center
 * and walked by agents (keychain.h has the format).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "command.h"
#include "keychain.h"

void
key_id_of(const unsigned char pk[32], char out[KEY_ID_LEN + 1])
{
	unsigned char h[KEY_ID_LEN / 2];

	crypto_generichash(h, sizeof(h), pk, 32, NULL, 0);
	sodium_bin2hex(out, KEY_ID_LEN + 1, h, sizeof(h));
}

int
key_id_valid(const char *s)
{
	if (s == NULL || strlen(s) != KEY_ID_LEN)
		return 0;
	return strspn(s, "0123456789abcdef") == KEY_ID_LEN;
}

/* The signed message of a link: its domain, NUL, payload. */
static unsigned char *
link_message(const char *payload, size_t len, size_t *mlen)
{
	return sig_message(KEYLINK_DOMAIN, payload, len, mlen);
}

char *
keylink_make(const unsigned char prev_sk[64], const unsigned char next_sk[64],
    int64_t version, int64_t issued_at)
{
	unsigned char sp[crypto_sign_BYTES], sn[crypto_sign_BYTES], *m = NULL;
	char	      payload[KEYLINK_PAYLOAD_MAX];
	char	     *pk_prev = NULL, *pk_next = NULL, *b64p = NULL;
	char	     *b64sp = NULL, *b64sn = NULL, *out = NULL;
	json_t	     *o = NULL;
	size_t	      mlen;
	int	      n;

	/* The public key is the second half of libsodium's secret key. */
	if ((pk_prev = b64_encode(prev_sk + 32, 32)) == NULL ||
	    (pk_next = b64_encode(next_sk + 32, 32)) == NULL)
		goto out;
	n = snprintf(payload, sizeof(payload),
	    "{\"version\":%" PRId64 ",\"prev_key\":\"%s\",\"next_key\":\"%s\","
	    "\"issued_at\":%" PRId64 "}",
	    version, pk_prev, pk_next, issued_at);
	if (n < 0 || (size_t)n >= sizeof(payload))
		goto out;
	if ((m = link_message(payload, (size_t)n, &mlen)) == NULL)
		goto out;
	crypto_sign_detached(sp, NULL, m, mlen, prev_sk);
	crypto_sign_detached(sn, NULL, m, mlen, next_sk);
	if ((b64p = b64_encode((unsigned char *)payload, (size_t)n)) == NULL ||
	    (b64sp = b64_encode(sp, sizeof(sp))) == NULL ||
	    (b64sn = b64_encode(sn, sizeof(sn))) == NULL)
		goto out;
	if ((o = json_pack("{s:s, s:s, s:s}", "payload", b64p, "sig_prev",
		 b64sp, "sig_next", b64sn)) == NULL)
		goto out;
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(o);
	free(m);
	free(pk_prev);
	free(pk_next);
	free(b64p);
	free(b64sp);
	free(b64sn);
	return out;
}

/* A base64 Ed25519 public key field of o into pk: 0, or -1. */
static int
get_key(json_t *o, const char *field, unsigned char pk[32])
{
	json_t *v = json_object_get(o, field);

	return json_is_string(v) &&
		b64_decode(json_string_value(v), pk, 32) == 32 ?
	    0 :
	    -1;
}

/*
 * Decodes link's payload into out and its bytes into buf (len): 0, or -1
 * with why.
 */
static int
link_payload(json_t *link, struct keylink *out, char *buf, size_t *len,
    char *why, size_t whylen)
{
	json_t	   *p, *v, *ver, *at;
	const char *b64;
	long	    n;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(link) ||
	    !json_is_string(p = json_object_get(link, "payload"))) {
		snprintf(why, whylen, "bad_link: not an object with a payload");
		return -1;
	}
	b64 = json_string_value(p);
	if (strlen(b64) > (KEYLINK_PAYLOAD_MAX / 3 + 1) * 4 ||
	    (n = b64_decode(b64, (unsigned char *)buf, KEYLINK_PAYLOAD_MAX)) <
		0) {
		snprintf(why, whylen, "bad_link: payload is not base64");
		return -1;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	if ((v = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL) {
		snprintf(why, whylen, "bad_link: payload is not JSON");
		return -1;
	}
	ver = json_object_get(v, "version");
	at = json_object_get(v, "issued_at");
	if (!json_is_integer(ver) || json_integer_value(ver) < 2 ||
	    !json_is_integer(at) || json_integer_value(at) < 0 ||
	    get_key(v, "prev_key", out->prev) == -1 ||
	    get_key(v, "next_key", out->next) == -1) {
		json_decref(v);
		snprintf(why, whylen,
		    "bad_link: payload needs version (2 or more), issued_at, "
		    "prev_key and next_key");
		return -1;
	}
	out->version = json_integer_value(ver);
	out->issued_at = json_integer_value(at);
	json_decref(v);
	if (sodium_memcmp(out->prev, out->next, 32) == 0) {
		snprintf(why, whylen, "bad_link: a key cannot follow itself");
		return -1;
	}
	return 0;
}

int
keylink_read(json_t *link, struct keylink *out, char *why, size_t whylen)
{
	char   buf[KEYLINK_PAYLOAD_MAX + 1];
	size_t len;

	return link_payload(link, out, buf, &len, why, whylen);
}

/* 1 if the base64 signature field of link verifies m under pk. */
static int
sig_ok(json_t *link, const char *field, const unsigned char *m, size_t mlen,
    const unsigned char pk[32])
{
	unsigned char sig[crypto_sign_BYTES + 1];
	json_t	     *v = json_object_get(link, field);

	return json_is_string(v) &&
	    b64_decode(json_string_value(v), sig, sizeof(sig)) ==
	    crypto_sign_BYTES &&
	    crypto_sign_verify_detached(sig, m, mlen, pk) == 0;
}

int
keylink_verify(json_t *link, struct keylink *out, char *why, size_t whylen)
{
	char	       buf[KEYLINK_PAYLOAD_MAX + 1];
	unsigned char *m;
	size_t	       len, mlen;
	int	       rc = -1;

	if (link_payload(link, out, buf, &len, why, whylen) == -1)
		return -1;
	if ((m = link_message(buf, len, &mlen)) == NULL) {
		snprintf(why, whylen, "internal: out of memory");
		return -1;
	}
	if (!sig_ok(link, "sig_prev", m, mlen, out->prev))
		snprintf(why, whylen,
		    "bad_link: version %" PRId64 " is not signed by the key "
		    "it follows",
		    out->version);
	else if (!sig_ok(link, "sig_next", m, mlen, out->next))
		snprintf(why, whylen,
		    "bad_link: version %" PRId64 " is not signed by its own "
		    "key",
		    out->version);
	else
		rc = 0;
	free(m);
	return rc;
}

int
keychain_walk(json_t *chain, unsigned char pk[32], int64_t *version, char *why,
    size_t whylen)
{
	struct keylink l;
	size_t	       i;
	int	       taken = 0;

	if (!json_is_array(chain) || json_array_size(chain) > KEYCHAIN_MAX) {
		snprintf(why, whylen,
		    "bad_chain: not an array of at most %d "
		    "links",
		    KEYCHAIN_MAX);
		return -1;
	}
	for (i = 0; i < json_array_size(chain); i++) {
		json_t *link = json_array_get(chain, i);

		/* History from before the key reached is not ours to read. */
		if (keylink_read(link, &l, why, whylen) == -1 ||
		    sodium_memcmp(l.prev, pk, 32) != 0)
			continue;
		if (keylink_verify(link, &l, why, whylen) == -1)
			return -1;
		if (l.version <= *version) {
			snprintf(why, whylen,
			    "rollback: version %" PRId64 " does not follow "
			    "version %" PRId64,
			    l.version, *version);
			return -1;
		}
		memcpy(pk, l.next, 32);
		*version = l.version;
		taken++;
	}
	return taken;
}
