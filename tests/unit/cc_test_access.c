/*
 * Unit tests of command-center/access.c: Cloudflare Access JWTs verified at
 * the origin. The tests make their own RSA keys (once per binary: they are
 * slow), write a certs document like /cdn-cgi/access/certs into a temporary
 * file and sign tokens with OpenSSL: good tokens, every claim wrong in turn,
 * key rotation and its rate limit (on the clock passed to access_verify),
 * algorithm confusion (none, HS256 keyed with the public key, RS384, PS256,
 * ES256) and malformed input.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../../command-center/access.h"
#include "log.h"
#include "testlib.h"
#include "util.h"

#define TEAM "https://vaultmesh.cloudflareaccess.com"
#define AUD "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
#define KID1 "1a1c3986a44ce6390be42ec772b031df8f433fdc71716db821dc0c39af3bce49"
#define KID2 "6c3bffef71bb0a90c9cbef3b7c0d4a1c7b4b8b76b80292a623afd9dac45d1c65"
#define KID3 "kid-three"
#define EMAIL "alice@example.org"
#define NOW ((int64_t)1790000000)

enum sig {
	SIG_RS256,
	SIG_RS384,
	SIG_PS256,
	SIG_HS256_PEM,
	SIG_HS256_DER,
	SIG_NONE_EMPTY,	  /* "h.p." */
	SIG_NONE_OMITTED, /* "h.p" */
};

static EVP_PKEY *k1, *k2, *k3, *kother, *kweak;
/* Good tokens of k1 as KID1, k2 as KID2 and k3 as KID3. */
static char	     *t1, *t2, *t3;
static char	      certs_path[300];
static struct access *acc; /* certs_path with k1 as KID1 */

/* A certs file, and access opened on it (or NULL). */
struct certs {
	char	       path[300];
	struct access *a;
};

/* ---- helpers ------------------------------------------------------ */

/* A new empty temporary file's path in out[300]. */
#define tmp_file(out) tl_tmp_file(out, 300, "cc_test_access")
/* NULL-terminated lists of keys and of key ids, for write_certs(). */
#define KEYS(...) ((EVP_PKEY *const[]) { __VA_ARGS__, NULL })
#define KIDS(...) ((const char *const[]) { __VA_ARGS__, NULL })

static char *
b64url(const void *p, size_t n)
{
	size_t cap = sodium_base64_encoded_len(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char  *s = malloc(cap);

	assert_non_null(s);
	sodium_bin2base64(s, cap, p, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

static char *
b64url_bn(EVP_PKEY *k, const char *param)
{
	BIGNUM	     *bn = NULL;
	unsigned char bin[1100];
	int	      n;
	char	     *s;

	assert_int_equal(EVP_PKEY_get_bn_param(k, param, &bn), 1);
	assert_true(BN_num_bytes(bn) <= (int)sizeof(bin));
	n = BN_bn2bin(bn, bin);
	s = b64url(bin, (size_t)n);
	BN_free(bn);
	return s;
}

/* The PEM (SubjectPublicKeyInfo) of k, malloc'd. */
static char *
pub_pem(EVP_PKEY *k)
{
	BIO  *bio = BIO_new(BIO_s_mem());
	char *p, *s;
	long  n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
	n = BIO_get_mem_data(bio, &p);
	s = strndup(p, (size_t)n);
	BIO_free(bio);
	return s;
}

static json_t *
jwk(EVP_PKEY *k, const char *kid)
{
	char   *n = b64url_bn(k, OSSL_PKEY_PARAM_RSA_N);
	char   *e = b64url_bn(k, OSSL_PKEY_PARAM_RSA_E);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kid", kid,
	    "kty", "RSA", "alg", "RS256", "use", "sig", "e", e, "n", n);

	assert_non_null(j);
	free(n);
	free(e);
	return j;
}

#define write_text(path, text) tl_write(path, NULL, text, 0600)

/*
 * Writes a certs document the way Cloudflare serves it: "keys" (JWK),
 * "public_cert" (the first key as PEM) and "public_certs" (all as PEM).
 */
static void
write_certs(const char *path, EVP_PKEY *const keys[], const char *const kids[])
{
	json_t *doc = json_object(), *arr = json_array(), *certs = json_array();
	char   *text;

	for (size_t i = 0; keys[i] != NULL; i++) {
		char *pem = pub_pem(keys[i]);

		json_array_append_new(arr, jwk(keys[i], kids[i]));
		json_array_append_new(certs,
		    json_pack("{s:s, s:s}", "kid", kids[i], "cert", pem));
		if (i == 0)
			json_object_set_new(doc, "public_cert",
			    json_pack("{s:s, s:s}", "kid", kids[i], "cert",
				pem));
		free(pem);
	}
	json_object_set_new(doc, "keys", arr);
	json_object_set_new(doc, "public_certs", certs);
	text = json_dumps(doc, JSON_INDENT(2));
	assert_non_null(text);
	write_text(path, text);
	free(text);
	json_decref(doc);
}

static struct access *
open_file(const char *path)
{
	char	       err[512] = "";
	struct access *a = access_open(TEAM, AUD, path, err, sizeof(err));

	if (a == NULL)
		fail_msg("access_open: %s", err);
	return a;
}

/* Writes the keys under kids to c's file and opens access on it. */
static struct access *
open_certs(struct certs *c, EVP_PKEY *const keys[], const char *const kids[])
{
	write_certs(c->path, keys, kids);
	return c->a = open_file(c->path);
}

/* cmocka fixtures: a struct certs of a new temporary file. */
static int
certs_setup(void **state)
{
	struct certs *c = tl_state_new(state, sizeof(*c));

	tmp_file(c->path);
	return 0;
}

static int
certs_teardown(void **state)
{
	struct certs *c = *state;

	access_close(c->a);
	unlink(c->path);
	free(c);
	return 0;
}

static json_t *
hdr_std(const char *kid)
{
	return json_pack("{s:s, s:s, s:s}", "alg", "RS256", "kid", kid, "typ",
	    "JWT");
}

/* A payload like Access puts in an application token. */
static json_t *
pl_std(void)
{
	return json_pack("{s:s, s:[s], s:s, s:I, s:I, s:I, s:s, s:s, s:s}",
	    "iss", TEAM, "aud", AUD, "email", EMAIL, "exp",
	    (json_int_t)(NOW + 600), "iat", (json_int_t)(NOW - 5), "nbf",
	    (json_int_t)(NOW - 5), "type", "app", "sub",
	    "7335d417-61da-459d-899c-0a01c76a2d94", "country", "US");
}

static char *
dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	assert_non_null(s);
	return s;
}

/* Signs the string s (header.payload) as sig says with k: base64url. */
static char *
sign_str(const char *s, EVP_PKEY *k, enum sig how)
{
	unsigned char out[1024], *der = NULL;
	size_t	      outlen = sizeof(out);
	unsigned int  hlen = 0;
	EVP_MD_CTX   *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	char	     *pem, *ret;
	int	      derlen;

	switch (how) {
	case SIG_RS256:
	case SIG_RS384:
	case SIG_PS256:
		md = EVP_MD_CTX_new();
		assert_non_null(md);
		assert_int_equal(
		    EVP_DigestSignInit(md, &pctx,
			how == SIG_RS384 ? EVP_sha384() : EVP_sha256(), NULL,
			k),
		    1);
		if (how == SIG_PS256)
			assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx,
					RSA_PKCS1_PSS_PADDING) > 0);
		assert_int_equal(EVP_DigestSign(md, out, &outlen,
				     (const unsigned char *)s, strlen(s)),
		    1);
		EVP_MD_CTX_free(md);
		return b64url(out, outlen);
	case SIG_HS256_PEM:
		pem = pub_pem(k);
		assert_non_null(HMAC(EVP_sha256(), pem, (int)strlen(pem),
		    (const unsigned char *)s, strlen(s), out, &hlen));
		free(pem);
		return b64url(out, hlen);
	case SIG_HS256_DER:
		derlen = i2d_PUBKEY(k, &der);
		assert_true(derlen > 0);
		assert_non_null(HMAC(EVP_sha256(), der, derlen,
		    (const unsigned char *)s, strlen(s), out, &hlen));
		OPENSSL_free(der);
		return b64url(out, hlen);
	case SIG_NONE_EMPTY:
		ret = strdup("");
		assert_non_null(ret);
		return ret;
	case SIG_NONE_OMITTED:
		break;
	}
	return NULL;
}

/* The compact JWT of hdr and pl (borrowed), signed as how says. */
static char *
token(json_t *hdr, json_t *pl, EVP_PKEY *k, enum sig how)
{
	char  *h = dump(hdr), *p = dump(pl);
	char  *hb = b64url(h, strlen(h)), *pb = b64url(p, strlen(p));
	size_t n = strlen(hb) + strlen(pb) + 2048;
	char  *in = malloc(n), *sig, *t = malloc(n);

	assert_non_null(in);
	assert_non_null(t);
	snprintf(in, n, "%s.%s", hb, pb);
	sig = sign_str(in, k, how);
	if (sig == NULL)
		snprintf(t, n, "%s", in);
	else
		snprintf(t, n, "%s.%s", in, sig);
	free(h);
	free(p);
	free(hb);
	free(pb);
	free(in);
	free(sig);
	return t;
}

/* A good RS256 token of k under kid with the payload pl (borrowed). */
static char *
token_pl(json_t *pl, EVP_PKEY *k, const char *kid)
{
	json_t *h = hdr_std(kid);
	char   *t = token(h, pl, k, SIG_RS256);

	json_decref(h);
	return t;
}

/* The standard good token of k under kid. */
static char *
token_std(EVP_PKEY *k, const char *kid)
{
	json_t *p = pl_std();
	char   *t = token_pl(p, k, kid);

	json_decref(p);
	return t;
}

/* The case a table-driven test is at, named first in failure messages. */
static char at_case[600];

/* cmocka teardown: after the table, failed or not, no case any more. */
static int
no_case(void **state)
{
	(void)state;
	at_case[0] = '\0';
	return 0;
}

static void
expect_ok_at(struct access *a, const char *t, int64_t now, const char *who)
{
	char got[ACCESS_IDENTITY_MAX + 1] = "x", why[128] = "";

	if (access_verify(a, t, now, got, sizeof(got), why, sizeof(why)) != 0)
		fail_msg("%srefused (%s), expected %s", at_case, why, who);
	if (strcmp(got, who) != 0)
		fail_msg("%s\"%s\", expected \"%s\"", at_case, got, who);
}

static void
expect_ok(const char *t, const char *who)
{
	expect_ok_at(acc, t, NOW, who);
}

/*
 * Expects a refusal whose reason holds want (NULL: any); the reason never
 * holds token material and who is left empty.
 */
static void
expect_refused_at(struct access *a, const char *t, int64_t now,
    const char *want)
{
	static const char *const secret[] = {
		"\n", "alice", KID1, "eyJ", /* base64 of '{"' */
	};
	char who[ACCESS_IDENTITY_MAX + 1] = "stale", why[128] = "";

	if (access_verify(a, t, now, who, sizeof(who), why, sizeof(why)) != -1)
		fail_msg("%saccepted as \"%s\", expected refusal (%s)", at_case,
		    who, want ? want : "any");
	if (who[0] != '\0' || why[0] == '\0')
		fail_msg("%swho \"%s\", why \"%s\"", at_case, who, why);
	TL_EXPECT_NONE(why, secret);
	if (want != NULL && strstr(why, want) == NULL)
		fail_msg("%sreason \"%s\", expected \"%s\"", at_case, why,
		    want);
}

static void
expect_refused(const char *t, const char *want)
{
	expect_refused_at(acc, t, NOW, want);
}

/*
 * Signs the standard header and pl (taken) with k1 and expects it taken
 * as who, or (who NULL) refused with want.
 */
static void
claims(json_t *pl, const char *who, const char *want)
{
	char *t = token_pl(pl, k1, KID1);

	if (who != NULL)
		expect_ok(t, who);
	else
		expect_refused(t, want);
	free(t);
	json_decref(pl);
}

#define claims_ok(pl, who) claims(pl, who, NULL)
#define claims_refused(pl, want) claims(pl, NULL, want)

static json_t *
pl_with(const char *name, json_t *v)
{
	json_t *p = pl_std();

	if (v == NULL)
		json_object_del(p, name);
	else
		json_object_set_new(p, name, v);
	return p;
}

/* ---- fixtures ------------------------------------------------------ */

static int
group_setup(void **state)
{
	(void)state;
	log_set_level("error");
	if (sodium_init() < 0)
		return -1;
	if ((k1 = EVP_RSA_gen(2048)) == NULL ||
	    (k2 = EVP_RSA_gen(2048)) == NULL ||
	    (k3 = EVP_RSA_gen(2048)) == NULL ||
	    (kother = EVP_RSA_gen(2048)) == NULL ||
	    (kweak = EVP_RSA_gen(1024)) == NULL)
		return -1;
	t1 = token_std(k1, KID1);
	t2 = token_std(k2, KID2);
	t3 = token_std(k3, KID3);
	tmp_file(certs_path);
	write_certs(certs_path, KEYS(k1), KIDS(KID1));
	acc = open_file(certs_path);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	access_close(acc);
	unlink(certs_path);
	free(t1);
	free(t2);
	free(t3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	EVP_PKEY_free(kother);
	EVP_PKEY_free(kweak);
	return 0;
}

/* ---- good tokens ----------------------------------------------------- */

static void
valid_user_token_gives_its_email(void **state)
{
	(void)state;
	expect_ok(t1, EMAIL);
}

static void
service_token_gives_its_common_name(void **state)
{
	json_t *p = pl_with("email", NULL);

	(void)state;
	json_object_set_new(p, "common_name",
	    json_string("88bf3b6d86161464f6509f7219099e57.access"));
	json_object_set_new(p, "sub", json_string(""));
	claims_ok(p, "88bf3b6d86161464f6509f7219099e57.access");
	/* An empty email falls back to common_name too. */
	p = pl_with("email", json_string(""));
	json_object_set_new(p, "common_name", json_string("svc.access"));
	claims_ok(p, "svc.access");
	/* Both present: the email wins. */
	p = pl_std();
	json_object_set_new(p, "common_name", json_string("svc.access"));
	claims_ok(p, EMAIL);
}

static void
token_without_typ_nbf_iat_is_accepted(void **state)
{
	json_t *h = json_pack("{s:s, s:s}", "alg", "RS256", "kid", KID1);
	json_t *p = pl_with("nbf", NULL);
	char   *t;

	(void)state;
	json_object_del(p, "iat");
	t = token(h, p, k1, SIG_RS256);
	expect_ok(t, EMAIL);
	free(t);
	json_decref(h);
	json_decref(p);
}

/* ---- time, audience and issuer ------------------------------------- */

/*
 * The standard payload with claim set to the JSON text value, printf'd
 * with at (NULL: the claim removed), and what access_verify() says: a
 * refusal whose reason holds want, or (want NULL) EMAIL.
 */
static const struct claim_case {
	const char *claim;
	const char *value;
	int64_t	    at;
	const char *want;
} claim_cases[] = {
	/* Expired, past the 60 s of skew allowed. */
	{ "exp", "%lld", NOW - 61, "expired" },
	{ "exp", "%lld", NOW - 60, "expired" },
	{ "exp", "%lld", NOW - 86400, "expired" },
	{ "exp", "0", 0, "expired" },
	{ "exp", "%lld", NOW - 59, NULL },
	{ "exp", "%lld", NOW, NULL },
	{ "exp", "%lld.5", NOW, NULL },
	/* exp missing or not a number. */
	{ "exp", NULL, 0, "exp" },
	{ "exp", "\"1790000600\"", 0, "exp" },
	{ "exp", "true", 0, "exp" },
	{ "exp", "null", 0, "exp" },
	{ "exp", "-1", 0, "exp" },
	{ "exp", "9223372036854775807", 0, "exp" },
	{ "exp", "1e300", 0, "exp" },
	/* Not yet valid, or issued in the future, past the skew. */
	{ "nbf", "%lld", NOW + 61, "not yet valid" },
	{ "nbf", "%lld", NOW + 3600, "not yet valid" },
	{ "nbf", "\"now\"", 0, "nbf" },
	{ "nbf", "%lld", NOW + 60, NULL },
	{ "iat", "%lld", NOW + 61, "future" },
	{ "iat", "[]", 0, "iat" },
	{ "iat", "%lld", NOW + 60, NULL },
	/* The audience: the string, or an array holding it. */
	{ "aud", "\"other-app\"", 0, "wrong audience" },
	{ "aud", "[\"a\", \"b\"]", 0, "wrong audience" },
	{ "aud", "[]", 0, "wrong audience" },
	{ "aud", NULL, 0, "wrong audience" },
	{ "aud", "\"" AUD "x\"", 0, "wrong audience" },
	{ "aud", "\"\"", 0, "wrong audience" },
	{ "aud", "[[\"" AUD "\"]]", 0, "wrong audience" },
	{ "aud", "{\"aud\": \"" AUD "\"}", 0, "wrong audience" },
	{ "aud", "\"" AUD "\"", 0, NULL },
	{ "aud", "[\"other\", \"" AUD "\", \"x\"]", 0, NULL },
	{ "aud", "[7, \"" AUD "\"]", 0, NULL },
	/* The issuer: the team domain exactly. */
	{ "iss", "\"https://evil.cloudflareaccess.com\"", 0, "wrong issuer" },
	{ "iss", "\"" TEAM "/\"", 0, "wrong issuer" },
	{ "iss", "\"http://vaultmesh.cloudflareaccess.com\"", 0,
	    "wrong issuer" },
	{ "iss", "\"https://VAULTMESH.cloudflareaccess.com\"", 0,
	    "wrong issuer" },
	{ "iss", NULL, 0, "wrong issuer" },
	{ "iss", "[\"" TEAM "\"]", 0, "wrong issuer" },
};

static void
each_time_audience_and_issuer_claim_is_checked(void **state)
{
	const struct claim_case *c;

	(void)state;
	TL_FOREACH(c, claim_cases)
	{
		json_t *v = NULL;
		char	text[512];

		if (c->value != NULL) {
			snprintf(text, sizeof(text), c->value,
			    (long long)c->at);
			v = json_loads(text, JSON_DECODE_ANY, NULL);
			if (v == NULL)
				fail_msg("%s %s: not JSON", c->claim, text);
		}
		snprintf(at_case, sizeof(at_case), "%s %s: ", c->claim,
		    v != NULL ? text : "missing");
		if (c->want == NULL)
			claims_ok(pl_with(c->claim, v), EMAIL);
		else
			claims_refused(pl_with(c->claim, v), c->want);
	}
}

/* ---- identity ---------------------------------------------------------- */

static void
token_without_email_or_common_name_is_refused(void **state)
{
	json_t *p;

	(void)state;
	claims_refused(pl_with("email", NULL), "no email");
	p = pl_with("email", json_string(""));
	json_object_set_new(p, "common_name", json_string(""));
	claims_refused(p, "no email");
	claims_refused(pl_with("email", json_integer(5)), "identity");
	p = pl_with("email", NULL);
	json_object_set_new(p, "common_name", json_pack("[s]", "svc"));
	claims_refused(p, "identity");
}

static void
identity_with_control_characters_is_refused(void **state)
{
	static const char *const bad[] = {
		"alice\n@example.org", "alice\r@example.org", "alice\t@x",
		"\x1b[31malice@example.org", "alice\x7f@x",
		"alice\xc2\x85@example.org", /* U+0085, a C1 control */
	};
	json_t *p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		claims_refused(pl_with("email", json_string(bad[i])),
		    "not printable");
	p = pl_with("email", NULL);
	json_object_set_new(p, "common_name", json_string("svc\x01.access"));
	claims_refused(p, "not printable");
	/* Non-ASCII but printable UTF-8 is an identity like any other. */
	claims_ok(pl_with("email", json_string("j\xc3\xb6rg@example.org")),
	    "j\xc3\xb6rg@example.org");
}

static void
identity_length_limit_is_254_bytes(void **state)
{
	char  id[300], who[16], why[64];
	char *t;

	(void)state;
	memset(id, 'a', sizeof(id));
	memcpy(id + 254 - 12, "@example.org", 13);
	claims_ok(pl_with("email", json_string(id)), id);
	memset(id, 'a', sizeof(id));
	memcpy(id + 255 - 12, "@example.org", 13);
	claims_refused(pl_with("email", json_string(id)), "too long");
	/* A caller's buffer too small for the identity is a refusal too. */
	t = token_std(k1, KID1);
	assert_int_equal(
	    access_verify(acc, t, NOW, who, sizeof(who), why, sizeof(why)), -1);
	assert_string_equal(who, "");
	free(t);
}

/* ---- keys and rotation -------------------------------------------------- */

static void
unknown_kid_is_refused(void **state)
{
	(void)state;
	expect_refused(t2, "unknown key id");
}

static void
token_signed_by_another_key_under_a_known_kid_is_refused(void **state)
{
	char *t = token_std(kother, KID1);

	(void)state;
	expect_refused(t, "bad signature");
	free(t);
}

static void
tampered_payload_is_refused(void **state)
{
	char   *good = token_std(k1, KID1), *evil, *t, *dot1, *dot2;
	json_t *p = pl_with("email", json_string("mallory@example.org"));
	size_t	n;

	(void)state;
	/* mallory's payload between alice's header and signature. */
	evil = token_pl(p, kother, KID1);
	dot1 = strchr(good, '.');
	dot2 = strchr(dot1 + 1, '.');
	n = strlen(good) + strlen(evil);
	t = malloc(n);
	assert_non_null(t);
	{
		char *e1 = strchr(evil, '.'), *e2 = strchr(e1 + 1, '.');

		snprintf(t, n, "%.*s%.*s%s", (int)(dot1 - good), good,
		    (int)(e2 - e1), e1, dot2);
	}
	expect_refused(t, "bad signature");
	free(t);
	free(evil);
	free(good);
	json_decref(p);
}

static void
rotated_key_is_found_after_a_refresh_and_old_key_still_works(void **state)
{
	struct certs  *c = *state;
	struct access *a = open_certs(c, KEYS(k1), KIDS(KID1));

	expect_ok_at(a, t1, NOW, EMAIL);
	/* Access rotates: the new key is added, the old one kept. */
	write_certs(c->path, KEYS(k2, k1), KIDS(KID2, KID1));
	expect_ok_at(a, t2, NOW, EMAIL);
	expect_ok_at(a, t1, NOW, EMAIL);
}

static void
refresh_is_rate_limited_to_once_per_10_seconds(void **state)
{
	struct certs  *c = *state;
	struct access *a = open_certs(c, KEYS(k1), KIDS(KID1));

	/* The first unknown kid re-reads the file (it holds no KID2 yet). */
	expect_refused_at(a, t2, NOW, "unknown key id");
	write_certs(c->path, KEYS(k1, k2), KIDS(KID1, KID2));
	/* Within 10 s of that re-read, unknown kids do not re-read. */
	expect_refused_at(a, t2, NOW + 1, "unknown key id");
	expect_refused_at(a, t3, NOW + 9, "unknown key id");
	/* 10 s later they do, and the rotated key is found. */
	expect_ok_at(a, t2, NOW + 10, EMAIL);
	/* A second rotation: KID3 comes right after, rate-limited again. */
	write_certs(c->path, KEYS(k1, k2, k3), KIDS(KID1, KID2, KID3));
	expect_refused_at(a, t3, NOW + 15, "unknown key id");
	expect_ok_at(a, t3, NOW + 20, EMAIL);
	/* A clock that went back does not freeze refreshes. */
	write_certs(c->path, KEYS(k1), KIDS(KID1));
	{
		char *tx = token_std(kother, "kid-x");

		expect_refused_at(a, tx, NOW - 100, "unknown key id");
		free(tx);
	}
	/* That refresh dropped KID2 and KID3 with the document. */
	expect_refused_at(a, t2, NOW - 100, "unknown key id");
}

static void
key_dropped_from_the_document_is_dropped_on_refresh(void **state)
{
	struct certs  *c = *state;
	struct access *a = open_certs(c, KEYS(k1, k2), KIDS(KID1, KID2));

	expect_ok_at(a, t1, NOW, EMAIL);
	/* The document moves on: KID1 gone, KID3 in. KID1 stays until asked. */
	write_certs(c->path, KEYS(k2, k3), KIDS(KID2, KID3));
	expect_ok_at(a, t1, NOW, EMAIL);
	expect_ok_at(a, t3, NOW, EMAIL); /* unknown kid: refresh */
	expect_refused_at(a, t1, NOW, "unknown key id");
	expect_ok_at(a, t2, NOW, EMAIL);
}

/* A good token of k under kid that lives for hours. */
static char *
token_long(EVP_PKEY *k, const char *kid)
{
	json_t *p = pl_std();
	char   *t;

	json_object_set_new(p, "exp",
	    json_integer(NOW + 4 * ACCESS_MAX_AGE_SECS));
	t = token_pl(p, k, kid);
	json_decref(p);
	return t;
}

static void
keys_are_reread_every_hour_without_a_new_kid(void **state)
{
	struct certs  *c = *state;
	struct access *a = open_certs(c, KEYS(k1, k2), KIDS(KID1, KID2));
	char	      *l[3] = { token_long(k1, KID1), token_long(k2, KID2),
			 token_long(k3, KID3) };
	int64_t	       t = NOW;

	access_tick(a, t); /* the first call sets the clock */
	/* Cloudflare withdraws KID1; no token with a new kid comes. */
	write_certs(c->path, KEYS(k2), KIDS(KID2));
	access_tick(a, t + ACCESS_MAX_AGE_SECS - 1);
	expect_ok_at(a, l[0], t + ACCESS_MAX_AGE_SECS - 1, EMAIL);
	access_tick(a, t + ACCESS_MAX_AGE_SECS);
	expect_refused_at(a, l[0], t + ACCESS_MAX_AGE_SECS, "unknown key id");
	expect_ok_at(a, l[1], t + ACCESS_MAX_AGE_SECS, EMAIL);
	/* A document that cannot be read keeps the keys; the next hour retries. */
	t += ACCESS_MAX_AGE_SECS;
	write_text(c->path, "not json");
	access_tick(a, t + ACCESS_MAX_AGE_SECS);
	expect_ok_at(a, l[1], t + ACCESS_MAX_AGE_SECS, EMAIL);
	write_certs(c->path, KEYS(k3), KIDS(KID3));
	access_tick(a, t + 2 * ACCESS_MAX_AGE_SECS - 1);
	expect_ok_at(a, l[1], t + 2 * ACCESS_MAX_AGE_SECS - 1, EMAIL);
	access_tick(a, t + 2 * ACCESS_MAX_AGE_SECS);
	expect_refused_at(a, l[1], t + 2 * ACCESS_MAX_AGE_SECS,
	    "unknown key id");
	expect_ok_at(a, l[2], t + 2 * ACCESS_MAX_AGE_SECS, EMAIL);
	access_tick(NULL, t);
	for (size_t i = 0; i < TL_NITEMS(l); i++)
		free(l[i]);
}

static void
failed_refresh_keeps_the_cached_keys(void **state)
{
	struct certs  *c = *state;
	struct access *a = open_certs(c, KEYS(k1), KIDS(KID1));

	write_text(c->path, "{\"keys\": [");
	expect_refused_at(a, t2, NOW, "unknown key id");
	expect_ok_at(a, t1, NOW, EMAIL);
	write_text(c->path, "{\"keys\": []}");
	expect_refused_at(a, t2, NOW + 10, "unknown key id");
	expect_ok_at(a, t1, NOW + 10, EMAIL);
	unlink(c->path);
	expect_refused_at(a, t2, NOW + 20, "unknown key id");
	expect_ok_at(a, t1, NOW + 20, EMAIL);
}

struct hammer {
	struct access *a;
	const char    *t;
	int	       fails;
};

static void *
hammer_run(void *arg)
{
	struct hammer *h = arg;
	char	       who[ACCESS_IDENTITY_MAX + 1], why[64];

	for (int i = 0; i < 150; i++)
		if (access_verify(h->a, h->t, NOW, who, sizeof(who), why,
			sizeof(why)) != 0 ||
		    strcmp(who, EMAIL) != 0)
			h->fails++;
	return NULL;
}

static void
concurrent_verifications_survive_key_refreshes(void **state)
{
	struct certs  *c = *state;
	struct access *a = open_certs(c, KEYS(k1, k2), KIDS(KID1, KID2));
	pthread_t      th[4];
	struct hammer  h[4];
	char	      *tx = token_std(k1, "kid-x");

	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer) { a, t1, 0 };
		assert_int_equal(
		    pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	/* Each unknown kid, 10 s apart, swaps the whole key set. */
	for (int i = 0; i < 30; i++)
		expect_refused_at(a, tx, NOW + 10 * i, "unknown key id");
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].fails, 0);
	}
	free(tx);
}

/* ---- algorithm confusion ------------------------------------------------ */

static void
alg_none_is_refused_with_and_without_signature_part(void **state)
{
	static const char *const algs[] = { "none", "None", "NONE", "" };
	json_t			*p = pl_std();

	(void)state;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		json_t *h = json_pack("{s:s, s:s, s:s}", "alg", algs[i], "kid",
		    KID1, "typ", "JWT");
		char   *t = token(h, p, NULL, SIG_NONE_EMPTY);

		expect_refused(t, NULL);
		free(t);
		t = token(h, p, NULL, SIG_NONE_OMITTED);
		expect_refused(t, NULL);
		free(t);
		/* Even with a good RS256 signature over it. */
		t = token(h, p, k1, SIG_RS256);
		expect_refused(t, "algorithm");
		free(t);
		json_decref(h);
	}
	{
		/* No alg at all, alg of the wrong type. */
		json_t *h = json_pack("{s:s}", "kid", KID1);
		char   *t = token(h, p, k1, SIG_RS256);

		expect_refused(t, "algorithm");
		free(t);
		json_decref(h);
		h = json_pack("{s:[s], s:s}", "alg", "RS256", "kid", KID1);
		t = token(h, p, k1, SIG_RS256);
		expect_refused(t, "algorithm");
		free(t);
		json_decref(h);
	}
	json_decref(p);
}

static void
hs256_signed_with_the_public_key_is_refused(void **state)
{
	static const enum sig macs[] = { SIG_HS256_PEM, SIG_HS256_DER };
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", KID1,
	    "typ", "JWT");
	json_t *p = pl_std();
	char   *t;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(macs); i++) {
		json_object_set_new(h, "alg", json_string("HS256"));
		t = token(h, p, k1, macs[i]);
		expect_refused(t, "algorithm");
		free(t);
		/* The same MAC under an RS256 header: a bad signature. */
		json_object_set_new(h, "alg", json_string("RS256"));
		t = token(h, p, k1, macs[i]);
		expect_refused(t, "bad signature");
		free(t);
	}
	json_decref(h);
	json_decref(p);
}

/* Algorithms other than RS256, each with a signature made its way. */
static const struct other_alg {
	const char *alg;
	enum sig    how;
} other_algs[] = { { "RS384", SIG_RS384 }, { "RS512", SIG_RS256 },
	{ "PS256", SIG_PS256 }, { "ES256", SIG_RS256 }, { "EdDSA", SIG_RS256 },
	{ "rs256", SIG_RS256 }, { "RS256 ", SIG_RS256 },
	{ "HS512", SIG_RS256 } };

static void
other_asymmetric_algorithms_are_refused(void **state)
{
	const struct other_alg *c;
	json_t		       *p = pl_std();

	(void)state;
	TL_FOREACH(c, other_algs)
	{
		json_t *h = json_pack("{s:s, s:s, s:s}", "alg", c->alg, "kid",
		    KID1, "typ", "JWT");
		char   *t = token(h, p, k1, c->how);

		expect_refused(t, "algorithm");
		free(t);
		json_decref(h);
	}
	json_decref(p);
}

static void
rs256_header_with_other_signature_schemes_is_refused(void **state)
{
	json_t *h = hdr_std(KID1), *p = pl_std();
	char   *t;

	(void)state;
	t = token(h, p, k1, SIG_PS256); /* PSS padding, not PKCS#1 v1.5 */
	expect_refused(t, "bad signature");
	free(t);
	t = token(h, p, k1, SIG_RS384); /* SHA-384, not SHA-256 */
	expect_refused(t, "bad signature");
	free(t);
	json_decref(h);
	json_decref(p);
}

static void
header_fields_other_than_alg_are_checked(void **state)
{
	json_t *p = pl_std();
	json_t *hs[] = {
		json_pack("{s:s, s:s, s:s}", "alg", "RS256", "kid", KID1, "typ",
		    "JWS"),
		json_pack("{s:s, s:s, s:i}", "alg", "RS256", "kid", KID1, "typ",
		    1),
		json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT"),
		json_pack("{s:s, s:s}", "alg", "RS256", "kid", ""),
		json_pack("{s:s, s:i}", "alg", "RS256", "kid", 1),
		json_pack("{s:s, s:s, s:[s]}", "alg", "RS256", "kid", KID1,
		    "crit", "exp"),
	};
	const char *const want[] = {
		"typ",
		"typ",
		"key id",
		"key id",
		"key id",
		"crit",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		char *t = token(hs[i], p, k1, SIG_RS256);

		expect_refused(t, want[i]);
		free(t);
		json_decref(hs[i]);
	}
	json_decref(p);
}

/* ---- malformed input ------------------------------------------------------ */

static void
every_truncation_of_a_good_token_is_refused(void **state)
{
	char  *t = token_std(k1, KID1);
	size_t n = strlen(t);

	(void)state;
	for (size_t cut = 0; cut < n; cut++) {
		char *s = strndup(t, cut);

		assert_non_null(s);
		expect_refused(s, NULL);
		free(s);
	}
	/* Every part dropped in turn. */
	{
		char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
		char  buf[8192];

		snprintf(buf, sizeof(buf), "%s", d1 + 1); /* p.s */
		expect_refused(buf, "malformed");
		snprintf(buf, sizeof(buf), "%.*s%s", (int)(d1 - t), t, d2);
		expect_refused(buf, "malformed");	   /* h.s */
		snprintf(buf, sizeof(buf), ".%s", d1 + 1); /* .p.s */
		expect_refused(buf, "malformed");
		snprintf(buf, sizeof(buf), "%.*s..%s", (int)(d1 - t), t,
		    d2 + 1); /* h..s */
		expect_refused(buf, "malformed");
	}
	free(t);
}

static void
extra_dots_and_whitespace_are_refused(void **state)
{
	char *t = token_std(k1, KID1), buf[8192];

	(void)state;
	snprintf(buf, sizeof(buf), "%s.", t);
	expect_refused(buf, "malformed");
	snprintf(buf, sizeof(buf), "%s.%s", t, "AAAA");
	expect_refused(buf, "malformed");
	snprintf(buf, sizeof(buf), ".%s", t);
	expect_refused(buf, "malformed");
	snprintf(buf, sizeof(buf), "%s ", t);
	expect_refused(buf, NULL);
	snprintf(buf, sizeof(buf), " %s", t);
	expect_refused(buf, NULL);
	snprintf(buf, sizeof(buf), "Bearer %s", t);
	expect_refused(buf, NULL);
	snprintf(buf, sizeof(buf), "%s\n", t);
	expect_refused(buf, NULL);
	expect_refused("...", "malformed");
	expect_refused("..", "malformed");
	expect_refused(".", "malformed");
	expect_refused("a.b.c.d", "malformed");
	free(t);
}

static void
garbage_base64_is_refused(void **state)
{
	char *t = token_std(k1, KID1), buf[8192], *d1, *d2;

	(void)state;
	expect_refused("!!!!.@@@@.####", "malformed");
	expect_refused("abc.def.ghi", "malformed");
	expect_refused("eyJ.eyJ.AAAA", "malformed");
	/* The same token with padding, or the standard alphabet. */
	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	snprintf(buf, sizeof(buf), "%.*s=%s", (int)(d1 - t), t, d1);
	expect_refused(buf, "malformed");
	snprintf(buf, sizeof(buf), "%s=", t);
	expect_refused(buf, "bad signature");
	snprintf(buf, sizeof(buf), "%s", t);
	for (char *c = buf + (d2 - t) + 1; *c != '\0'; c++)
		if (*c == '-' || *c == '_') {
			*c = *c == '-' ? '+' : '/';
			expect_refused(buf, "bad signature");
			break;
		}
	/* A signature one byte short, and one byte long. */
	snprintf(buf, sizeof(buf), "%.*s", (int)strlen(t) - 4, t);
	expect_refused(buf, "bad signature");
	snprintf(buf, sizeof(buf), "%sAAAA", t);
	expect_refused(buf, "bad signature");
	/* A flipped bit in the signature. */
	snprintf(buf, sizeof(buf), "%s", t);
	buf[strlen(buf) - 10] = buf[strlen(buf) - 10] == 'A' ? 'B' : 'A';
	expect_refused(buf, "bad signature");
	free(t);
}

/* b64url(h).b64url(p).b64url(sig of those with k1). */
static char *
token_raw(const char *h, const char *p)
{
	char  *hb = b64url(h, strlen(h)), *pb = b64url(p, strlen(p));
	size_t n = strlen(hb) + strlen(pb) + 1024;
	char  *in = malloc(n), *t = malloc(n), *sig;

	assert_non_null(in);
	assert_non_null(t);
	snprintf(in, n, "%s.%s", hb, pb);
	sig = sign_str(in, k1, SIG_RS256);
	snprintf(t, n, "%s.%s", in, sig);
	free(hb);
	free(pb);
	free(in);
	free(sig);
	return t;
}

static void
non_json_or_duplicate_keys_are_refused(void **state)
{
	json_t *p = pl_std();
	char   *ps = dump(p), *t, pdup[2048];

	(void)state;
	static const char *const hdrs[] = {
		"not json",
		"[\"RS256\"]",
		"\"RS256\"",
		"",
		"{",
		"{\"alg\":\"RS256\",\"kid\":\"" KID1 "\"}garbage",
		/* Duplicates: a parser keeping the first or the last differs. */
		"{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"" KID1 "\"}",
		"{\"alg\":\"RS256\",\"alg\":\"HS256\",\"kid\":\"" KID1 "\"}",
		"{\"alg\":\"RS256\",\"kid\":\"x\",\"kid\":\"" KID1 "\"}",
	};
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		if (hdrs[i][0] == '\0') {
			/* An empty header part is a malformed token. */
			continue;
		}
		t = token_raw(hdrs[i], ps);
		expect_refused(t, "malformed token header");
		free(t);
	}
	/* A duplicate email in a properly signed payload. */
	snprintf(pdup, sizeof(pdup), "%.*s,\"email\":\"mallory@example.org\"}",
	    (int)strlen(ps) - 1, ps);
	t = token_raw("{\"alg\":\"RS256\",\"kid\":\"" KID1 "\"}", pdup);
	expect_refused(t, "malformed token payload");
	free(t);
	t = token_raw("{\"alg\":\"RS256\",\"kid\":\"" KID1 "\"}", "[1,2]");
	expect_refused(t, "malformed token payload");
	free(t);
	t = token_raw("{\"alg\":\"RS256\",\"kid\":\"" KID1 "\"}", "nope");
	expect_refused(t, "malformed token payload");
	free(t);
	/* Sanity: the same way of building gives a good token. */
	t = token_raw("{\"alg\":\"RS256\",\"kid\":\"" KID1 "\"}", ps);
	expect_ok(t, EMAIL);
	free(t);
	free(ps);
	json_decref(p);
}

static void
oversized_empty_and_null_tokens_are_refused(void **state)
{
	json_t *p = pl_std();
	char   *pad = malloc(9 * 1024), *t;

	(void)state;
	assert_non_null(pad);
	memset(pad, 'x', 9 * 1024 - 1);
	pad[9 * 1024 - 1] = '\0';
	json_object_set_new(p, "padding", json_string(pad));
	t = token_pl(p, k1, KID1);
	assert_true(strlen(t) > ACCESS_TOKEN_MAX);
	expect_refused(t, "too long");
	free(t);
	t = NULL;
	/* At the limit the token is fine; one padding byte more is not. */
	for (size_t n = 5000;; n++) {
		char *next;

		pad[n] = '\0';
		json_object_set_new(p, "padding", json_string(pad));
		pad[n] = 'x';
		next = token_pl(p, k1, KID1);
		if (strlen(next) > ACCESS_TOKEN_MAX) {
			assert_non_null(t);
			assert_true(strlen(t) >= ACCESS_TOKEN_MAX - 2);
			expect_ok(t, EMAIL);
			expect_refused(next, "too long");
			free(t);
			free(next);
			break;
		}
		free(t);
		t = next;
	}
	expect_refused("", "no token");
	expect_refused(NULL, "no token");
	free(pad);
	json_decref(p);
}

static void
null_arguments_are_refused_without_crashing(void **state)
{
	char *t = token_std(k1, KID1), who[64], why[64];

	(void)state;
	assert_int_equal(
	    access_verify(NULL, t, NOW, who, sizeof(who), why, sizeof(why)),
	    -1);
	assert_int_equal(access_verify(acc, t, NOW, NULL, 0, why, sizeof(why)),
	    -1);
	assert_int_equal(
	    access_verify(acc, "x", NOW, who, sizeof(who), NULL, 0), -1);
	access_close(NULL);
	free(t);
}

/* ---- access_open ------------------------------------------------------ */

/* Expects access_open to fail with a one-line err starting with var. */
static void
open_fails(const char *domain, const char *aud, const char *file,
    const char *var)
{
	char	       err[512] = "";
	struct access *a = access_open(domain, aud, file, err, sizeof(err));

	if (a != NULL) {
		access_close(a);
		fail_msg("access_open(%s, %s, %s) succeeded", domain, aud,
		    file ? file : "NULL");
	}
	if (strncmp(err, var, strlen(var)) != 0 || err[strlen(var)] != ':')
		fail_msg("err \"%s\", expected it to start with %s:", err, var);
	assert_null(strchr(err, '\n'));
}

static void
open_refuses_bad_team_domains_and_audiences(void **state)
{
	(void)state;
	open_fails(NULL, AUD, certs_path, "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("", AUD, certs_path, "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("vaultmesh.cloudflareaccess.com", AUD, certs_path,
	    "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("http://vaultmesh.cloudflareaccess.com", AUD, certs_path,
	    "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("http://10.0.0.1:8080", AUD, certs_path,
	    "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("http://localhost.evil.example", AUD, certs_path,
	    "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("ftp://vaultmesh.cloudflareaccess.com", AUD, certs_path,
	    "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails(TEAM "/", AUD, certs_path, "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails(TEAM "/cdn-cgi", AUD, certs_path,
	    "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails(TEAM "?x=1", AUD, certs_path,
	    "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("https://user@vaultmesh.cloudflareaccess.com", AUD,
	    certs_path, "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails("https://", AUD, certs_path, "VAULTMESH_ACCESS_TEAM_DOMAIN");
	open_fails(TEAM, NULL, certs_path, "VAULTMESH_ACCESS_AUD");
	open_fails(TEAM, "", certs_path, "VAULTMESH_ACCESS_AUD");
	open_fails(TEAM, "a b", certs_path, "VAULTMESH_ACCESS_AUD");
	open_fails(TEAM, "tag\n", certs_path, "VAULTMESH_ACCESS_AUD");
}

static void
open_accepts_loopback_http_only(void **state)
{
	static const char *const ok[] = {
		"http://127.0.0.1:8443",
		"http://127.0.0.1",
		"http://[::1]:80",
		"http://127.1.2.3:9",
		"https://127.0.0.1:1",
		"https://vaultmesh.cloudflareaccess.com:8443",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char	       err[512] = "";
		struct access *a =
		    access_open(ok[i], AUD, certs_path, err, sizeof(err));

		if (a == NULL)
			fail_msg("%s refused: %s", ok[i], err);
		access_close(a);
	}
}

static void
open_refuses_unusable_certs_files(void **state)
{
	char	path[300];
	json_t *doc;
	char   *s;

	(void)state;
	tmp_file(path);
	open_fails(TEAM, AUD, "/nonexistent/certs.json",
	    "VAULTMESH_ACCESS_CERTS");
	open_fails(TEAM, AUD, "", "VAULTMESH_ACCESS_CERTS");
	write_text(path, "");
	open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
	write_text(path, "not json");
	open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
	write_text(path, "{\"keys\": {}}");
	open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
	write_text(path, "{\"keys\": [], \"keys\": []}");
	open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
	write_text(path,
	    "{\"public_cert\": {\"kid\": \"a\", \"cert\": \"x\"}}");
	open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
	/* Keys that are not RS256 signing keys of 2048 bits or more. */
	write_certs(path, KEYS(kweak), KIDS(KID1));
	open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
	{
		static const char *const spoil[][2] = {
			{ "kty", "EC" },
			{ "alg", "RS384" },
			{ "use", "enc" },
			{ "e", "AQ" },
			{ "e", "AAE" },
			{ "e", "AQAB=" },
			{ "n", "AQAB" },
			{ "n", "!!" },
			{ "kid", "" },
			{ "kid", "a\nb" },
		};

		for (size_t i = 0; i < sizeof(spoil) / sizeof(spoil[0]); i++) {
			json_t *k = jwk(k1, KID1);

			json_object_set_new(k, spoil[i][0],
			    json_string(spoil[i][1]));
			doc = json_pack("{s:[o]}", "keys", k);
			s = dump(doc);
			write_text(path, s);
			open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
			free(s);
			json_decref(doc);
		}
	}
	/* A file over 1 MiB. */
	{
		size_t n = 1024 * 1024 + 10;
		char  *big = malloc(n + 1);

		assert_non_null(big);
		memset(big, ' ', n);
		big[n] = '\0';
		big[0] = '{';
		big[n - 1] = '}';
		write_text(path, big);
		open_fails(TEAM, AUD, path, "VAULTMESH_ACCESS_CERTS");
		free(big);
	}
	unlink(path);
}

static void
unusable_keys_are_skipped_when_a_good_one_is_there(void **state)
{
	struct certs *c = *state;
	json_t	     *bad = jwk(k2, KID2), *doc;
	char	     *s;

	json_object_set_new(bad, "alg", json_string("RS512"));
	doc = json_pack("{s:[o, o, o, {s:s, s:s}]}", "keys", bad, jwk(k1, KID1),
	    jwk(kweak, "weak"), "kid", "ec", "kty", "EC");
	s = dump(doc);
	write_text(c->path, s);
	c->a = open_file(c->path);
	expect_ok_at(c->a, t1, NOW, EMAIL);
	expect_refused_at(c->a, t2, NOW, "unknown key id");
	free(s);
	json_decref(doc);
}

static void
open_without_a_reachable_certs_endpoint_fails(void **state)
{
	struct sockaddr_in sin;
	socklen_t	   len = sizeof(sin);
	char		   domain[64];
	int		   fd;

	(void)state;
	/* A loopback port nobody listens on (bound, never listening). */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(domain, sizeof(domain), "http://127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	open_fails(domain, AUD, NULL, "VAULTMESH_ACCESS_TEAM_DOMAIN");
	close(fd);
}

#define CERTS(fn) \
	cmocka_unit_test_setup_teardown(fn, certs_setup, certs_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_user_token_gives_its_email),
		cmocka_unit_test(service_token_gives_its_common_name),
		cmocka_unit_test(token_without_typ_nbf_iat_is_accepted),
		cmocka_unit_test_teardown(
		    each_time_audience_and_issuer_claim_is_checked, no_case),
		cmocka_unit_test(token_without_email_or_common_name_is_refused),
		cmocka_unit_test(identity_with_control_characters_is_refused),
		cmocka_unit_test(identity_length_limit_is_254_bytes),
		cmocka_unit_test(unknown_kid_is_refused),
		cmocka_unit_test(
		    token_signed_by_another_key_under_a_known_kid_is_refused),
		cmocka_unit_test(tampered_payload_is_refused),
		CERTS(
		    rotated_key_is_found_after_a_refresh_and_old_key_still_works),
		CERTS(refresh_is_rate_limited_to_once_per_10_seconds),
		CERTS(key_dropped_from_the_document_is_dropped_on_refresh),
		CERTS(keys_are_reread_every_hour_without_a_new_kid),
		CERTS(failed_refresh_keeps_the_cached_keys),
		CERTS(concurrent_verifications_survive_key_refreshes),
		cmocka_unit_test(
		    alg_none_is_refused_with_and_without_signature_part),
		cmocka_unit_test(hs256_signed_with_the_public_key_is_refused),
		cmocka_unit_test(other_asymmetric_algorithms_are_refused),
		cmocka_unit_test(
		    rs256_header_with_other_signature_schemes_is_refused),
		cmocka_unit_test(header_fields_other_than_alg_are_checked),
		cmocka_unit_test(every_truncation_of_a_good_token_is_refused),
		cmocka_unit_test(extra_dots_and_whitespace_are_refused),
		cmocka_unit_test(garbage_base64_is_refused),
		cmocka_unit_test(non_json_or_duplicate_keys_are_refused),
		cmocka_unit_test(oversized_empty_and_null_tokens_are_refused),
		cmocka_unit_test(null_arguments_are_refused_without_crashing),
		cmocka_unit_test(open_refuses_bad_team_domains_and_audiences),
		cmocka_unit_test(open_accepts_loopback_http_only),
		cmocka_unit_test(open_refuses_unusable_certs_files),
		CERTS(unusable_keys_are_skipped_when_a_good_one_is_there),
		cmocka_unit_test(open_without_a_reachable_certs_endpoint_fails),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
