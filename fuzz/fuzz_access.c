/*
 * Cloudflare Access JWTs (command-center/access.c): access_verify() on the
 * Cf-Access-Jwt-Assertion value, and the certs document parser keys_parse()
 * (static; the .c is included to reach it). LLVMFuzzerInitialize makes two
 * RSA-2048 keys with OpenSSL, writes a certs file naming them "k1" and "k2"
 * and opens the verifier on it once, as an offline site would.
 *
 * The first byte picks what the rest is:
 *   0  a raw token, verified as it comes (malformed, truncated, alg none,
 *      wrong parts...);
 *   1  "<header JSON>\n<payload JSON>[\n<op><pos>]": the driver encodes
 *      both and signs them RS256 with k1, so the claims checks are reached,
 *      then optionally cuts (op 't'), flips a byte (op 'f') or appends
 *      (op 'a') at pos;
 *   2  like 1, but signed HS256 with k1's public key (as PEM) as the
 *      secret: the classic confusion, which must never verify;
 *   3  a certs document for keys_parse().
 * Whatever verifies is checked again here: only RS256, the right issuer and
 * audience, not expired, and only for a token this driver signed.
 */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "fuzz.h"
#include "../command-center/access.c"

#define TEAM "https://vaultmesh.cloudflareaccess.com"
#define AUD "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
#define NOW 1764237600

static struct access *acc;
static EVP_PKEY	     *k1, *k2;
static char	     *k1_pem;
static size_t	      k1_pem_len;
static char	      certs_path[PATH_MAX];

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static char *
b64url(const unsigned char *p, size_t n)
{
	char *out = malloc(sodium_base64_ENCODED_LEN(n, B64URL));

	if (out == NULL)
		abort();
	return sodium_bin2base64(out, sodium_base64_ENCODED_LEN(n, B64URL), p,
	    n, B64URL);
}

/* The key's parameter name, big-endian, base64url-encoded. */
static char *
bn_b64url(EVP_PKEY *pk, const char *name)
{
	BIGNUM	     *bn = NULL;
	unsigned char bin[1024];
	int	      n = 0;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) == 1)
		n = BN_bn2bin(bn, bin);
	BN_free(bn);
	if (n <= 0)
		abort();
	return b64url(bin, (size_t)n);
}

static void
cleanup(void)
{
	access_close(acc);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	free(k1_pem);
	unlink(certs_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char	   *n1, *e1, *n2, *e2, *doc, err[512];
	BIO	   *bio;
	BUF_MEM	   *mem;
	json_t	   *certs;
	int	    fd;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	log_set_level("error");
	if ((k1 = EVP_RSA_gen(2048)) == NULL ||
	    (k2 = EVP_RSA_gen(2048)) == NULL)
		abort();
	n1 = bn_b64url(k1, OSSL_PKEY_PARAM_RSA_N);
	e1 = bn_b64url(k1, OSSL_PKEY_PARAM_RSA_E);
	n2 = bn_b64url(k2, OSSL_PKEY_PARAM_RSA_N);
	e2 = bn_b64url(k2, OSSL_PKEY_PARAM_RSA_E);
	certs = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s},"
			  "{s:s,s:s,s:s,s:s,s:s}], s:{s:s}}",
	    "keys", "kid", "k1", "kty", "RSA", "alg", "RS256", "use", "sig",
	    "n", n1, "e", e1, "kid", "k2", "kty", "RSA", "alg", "RS256", "n",
	    n2, "e", e2, "public_cert", "kid", "k1");
	if (certs == NULL || (doc = json_dumps(certs, JSON_COMPACT)) == NULL)
		abort();
	snprintf(certs_path, sizeof(certs_path), "%s/vm-fuzz-certs.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(certs_path)) == -1 ||
	    write(fd, doc, strlen(doc)) != (ssize_t)strlen(doc) ||
	    close(fd) == -1)
		abort();
	if ((acc = access_open(TEAM, AUD, certs_path, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "access_open: %s\n", err);
		abort();
	}
	/* k1's public key as PEM: the HS256 confusion's "secret". */
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, k1) != 1)
		abort();
	BIO_get_mem_ptr(bio, &mem);
	k1_pem_len = mem->length;
	if ((k1_pem = malloc(k1_pem_len)) == NULL)
		abort();
	memcpy(k1_pem, mem->data, k1_pem_len);
	BIO_free(bio);
	atexit(cleanup);
	free(n1);
	free(e1);
	free(n2);
	free(e2);
	free(doc);
	json_decref(certs);
	return 0;
}

/* header.payload signed as mode says; malloc'd token. */
static char *
make_token(const char *hdr, size_t hlen, const char *pl, size_t plen, int hs256)
{
	unsigned char sig[512];
	size_t	      siglen = sizeof(sig);
	unsigned int  hlen2;
	char	     *h64, *p64, *s64, *tok;
	size_t	      n;
	EVP_MD_CTX   *md;

	h64 = b64url((const unsigned char *)hdr, hlen);
	p64 = b64url((const unsigned char *)pl, plen);
	n = strlen(h64) + strlen(p64) + 2;
	if ((tok = malloc(n + 1024)) == NULL)
		abort();
	snprintf(tok, n + 1024, "%s.%s", h64, p64);
	if (hs256) {
		if (HMAC(EVP_sha256(), k1_pem, (int)k1_pem_len,
			(const unsigned char *)tok, strlen(tok), sig,
			&hlen2) == NULL)
			abort();
		siglen = hlen2;
	} else {
		if ((md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k1) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)tok,
			strlen(tok)) != 1)
			abort();
		EVP_MD_CTX_free(md);
	}
	s64 = b64url(sig, siglen);
	n = strlen(tok);
	snprintf(tok + n, 1024, ".%s", s64);
	free(h64);
	free(p64);
	free(s64);
	return tok;
}

static const char *
str(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

/* What a verified token must hold, checked apart from access.c. */
static void
recheck(const char *hdr, size_t hlen, const char *pl, size_t plen,
    const char *who)
{
	json_t *h, *p, *v;
	int	aud = 0;
	size_t	i;

	h = json_loadb(hdr, hlen, 0, NULL);
	p = json_loadb(pl, plen, 0, NULL);
	if (h == NULL || p == NULL ||
	    strcmp(str(json_object_get(h, "alg")), "RS256") != 0 ||
	    strcmp(str(json_object_get(h, "kid")), "k1") != 0 ||
	    strcmp(str(json_object_get(p, "iss")), TEAM) != 0)
		abort();
	v = json_object_get(p, "aud");
	if (json_is_string(v))
		aud = strcmp(json_string_value(v), AUD) == 0;
	else
		for (i = 0; i < json_array_size(v); i++)
			if (strcmp(str(json_array_get(v, i)), AUD) == 0)
				aud = 1;
	v = json_object_get(p, "exp");
	if (!aud || !json_is_number(v) ||
	    json_number_value(v) + ACCESS_SKEW_SECS <= NOW || who[0] == '\0' ||
	    !str_printable(who, ACCESS_IDENTITY_MAX))
		abort();
	json_decref(h);
	json_decref(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rest = (const char *)data + 1, *nl, *pl, *op = NULL;
	char	   *tok = NULL, who[256], why[160];
	static struct access_groups groups;
	size_t			    n = size - 1, hlen, plen, t;
	struct keyset		    ks;
	char			    err[512];
	int			    rc, mode;

	if (size < 1)
		return 0;
	mode = data[0] % 4;
	if (mode == 3) {
		memset(&ks, 0, sizeof(ks));
		if (keys_parse(rest, n, "fuzz", &ks, err, sizeof(err)) == 0) {
			if (ks.n == 0 || ks.n > KEYS_MAX)
				abort();
			keyset_free(&ks);
		} else if (ks.n != 0)
			abort();
		return 0;
	}
	if (mode == 0) {
		if ((tok = malloc(n + 1)) == NULL)
			abort();
		memcpy(tok, rest, n);
		tok[n] = '\0';
		rc = access_verify(acc, tok, NOW, who, sizeof(who), why,
		    sizeof(why));
		if (rc == 0 &&
		    (who[0] == '\0' ||
			!str_printable(who, ACCESS_IDENTITY_MAX)))
			abort();
		free(tok);
		return 0;
	}
	/* header \n payload [\n op pos] */
	if ((nl = memchr(rest, '\n', n)) == NULL || n > ACCESS_TOKEN_MAX)
		return 0;
	hlen = (size_t)(nl - rest);
	pl = nl + 1;
	plen = n - hlen - 1;
	if ((nl = memchr(pl, '\n', plen)) != NULL) {
		op = nl + 1;
		plen = (size_t)(nl - pl);
	}
	tok = make_token(rest, hlen, pl, plen, mode == 2);
	if (op != NULL && op + 2 <= rest + n) {
		t = strlen(tok);
		switch (op[0]) {
		case 't':
			tok[(size_t)(unsigned char)op[1] * 17 % (t + 1)] = '\0';
			break;
		case 'f':
			tok[(size_t)(unsigned char)op[1] * 17 % t] ^= 0x01;
			break;
		case 'a': /* make_token left room */
			snprintf(tok + t, 2, "%s", op[1] & 1 ? "." : "A");
			break;
		default:
			break;
		}
	} else
		op = NULL;
	rc = access_verify_groups(acc, tok, NOW, who, sizeof(who), &groups, why,
	    sizeof(why));
	if (rc == 0) {
		if (mode == 2)
			abort(); /* HS256 with the public key verified */
		recheck(rest, hlen, pl, plen, who);
		/* Group claims: bounded, printable, each within its slot. */
		if (groups.n > ACCESS_GROUPS_MAX)
			abort();
		for (size_t i = 0; i < groups.n; i++)
			if (groups.name[i] != groups.text[i] ||
			    groups.name[i][0] == '\0' ||
			    !str_printable(groups.name[i], ACCESS_GROUP_MAX))
				abort();
	}
	free(tok);
	return 0;
}
