/*
 * access: Cloudflare Access JWTs verified at the origin.
 *
 * A token is three base64url parts; only the header alg "RS256" is accepted
 * (so "none", HS256 keyed with our public key, RS384, PS256, ES256... are all
 * refused before any key is touched), the signature is checked with
 * OpenSSL's EVP_DigestVerify (PKCS#1 v1.5, SHA-256) against the cached key
 * whose kid matches, and the claims (iss, aud, exp, nbf, iat) are checked
 * with jansson, duplicate keys refused.
 *
 * The key cache is an array of (kid, EVP_PKEY) under a mutex. A verifier
 * takes a reference to its key under the mutex and verifies outside it, so a
 * refresh that drops a key never frees it under a running verification, and
 * the network fetch of a refresh never holds the mutex. Refreshes are
 * triggered by an unknown kid and rate-limited on the caller's clock, so made
 * up kids cannot turn into a flood of requests to Cloudflare.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "access.h"
#include "log.h"
#include "util.h"

#define CERTS_PATH "/cdn-cgi/access/certs"
#define CERTS_MAX (1024 * 1024) /* bytes of the certs document */
#define FETCH_TIMEOUT_MS 5000L
#define KEYS_MAX 32 /* keys kept from one document */
#define KID_MAX 256
#define AUD_MAX 256
#define DOMAIN_MAX 253
#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 8192
#define RSA_E_MAX 8 /* bytes of the public exponent */
/* NumericDate claims outside [0, TIME_MAX] are refused (year ~36812). */
#define TIME_MAX 1000000000000LL

struct key {
	char	  kid[KID_MAX + 1];
	EVP_PKEY *pk;
};

struct keyset {
	struct key k[KEYS_MAX];
	size_t	   n;
};

struct access {
	pthread_mutex_t mu; /* keys, refreshed, last_refresh, fetching */
	char	       *team_domain; /* the exact "iss" */
	char	       *aud;
	char	       *certs_file; /* NULL: fetch certs_url */
	char	       *certs_url;
	int		loopback; /* http:// to a loopback literal */
	int		curl_ready;
	struct keyset	keys;
	int		refreshed;    /* a refresh happened since open */
	int64_t		last_refresh; /* caller's clock at the last refresh */
	int		fetching;
	int64_t		tick_base; /* access_tick's first call, 0: none */
};

/* ---- small helpers ------------------------------------------------- */

static void
keyset_free(struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->k[i].pk);
	ks->n = 0;
}

/*
 * Decodes len bytes of unpadded base64url at s into a malloc'd buffer of at
 * most max bytes: 0, or -1 when s is not strict base64url or too long.
 */
static int
b64url_decode(const char *s, size_t len, size_t max, unsigned char **out,
    size_t *outlen)
{
	unsigned char *bin = NULL;
	size_t	       cap = len / 4 * 3 + 3, n = 0;
	int	       rc = -1;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || cap > max + 3)
		goto out;
	if ((bin = malloc(cap)) == NULL)
		goto out;
	/* No ignore set and no end pointer: every byte must be consumed. */
	if (sodium_base642bin(bin, cap, s, len, NULL, &n, NULL,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n > max)
		goto out;
	*out = bin;
	*outlen = n;
	bin = NULL;
	rc = 0;
out:
	free(bin);
	return rc;
}

static void
reason(char *why, size_t whylen, const char *s)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", s);
}

/* 1 if host (as curl gives it: "[::1]" for IPv6) is a loopback literal. */
static int
host_loopback(const char *host)
{
	struct in_addr a4;

	if (strcmp(host, "[::1]") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

/*
 * Checks that domain is "https://host[:port]" (or http:// to a loopback
 * literal) with nothing after the authority, since it must equal "iss"
 * byte for byte: 0, or -1 with err.
 */
static int
domain_check(const char *domain, int *loopback, char *err, size_t errlen)
{
	CURLU	   *u = NULL;
	char	   *scheme = NULL, *host = NULL;
	const char *auth;
	int	    rc = -1;

	*loopback = 0;
	if (strncmp(domain, "https://", 8) == 0)
		auth = domain + 8;
	else if (strncmp(domain, "http://", 7) == 0)
		auth = domain + 7;
	else {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: must start "
		    "with https:// (https://<team>.cloudflareaccess.com)");
		goto out;
	}
	if (strlen(domain) > DOMAIN_MAX + 16 || *auth == '\0' ||
	    strcspn(auth, "/?#@\\ ") != strlen(auth) ||
	    !str_printable(auth, DOMAIN_MAX + 8)) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: must be "
		    "scheme://host[:port] with no path, exactly the tokens' "
		    "\"iss\" (https://<team>.cloudflareaccess.com)");
		goto out;
	}
	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, domain, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "http") == 0) {
		if (!host_loopback(host)) {
			snprintf(err, errlen,
			    "VAULTMESH_ACCESS_TEAM_DOMAIN: "
			    "plain http:// is accepted only for loopback "
			    "addresses (tests); use https://");
			goto out;
		}
		*loopback = 1;
	} else if (strcmp(scheme, "https") != 0) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: must start with https://");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* ---- keys ------------------------------------------------------------ */

/*
 * Builds the RSA public key of one JWK: NULL when it is not an RS256
 * signing key of a sane size.
 */
static EVP_PKEY *
jwk_rsa(json_t *jwk)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM     *params = NULL;
	EVP_PKEY_CTX   *ctx = NULL, *chk = NULL;
	EVP_PKEY       *pk = NULL, *ret = NULL;
	BIGNUM	       *bn_n = NULL, *bn_e = NULL;
	unsigned char  *n = NULL, *e = NULL;
	size_t		nlen, elen;
	json_t	       *v;
	const char     *sn, *se;

	if (!json_is_object(jwk) ||
	    !json_is_string(v = json_object_get(jwk, "kty")) ||
	    strcmp(json_string_value(v), "RSA") != 0)
		goto out;
	if ((v = json_object_get(jwk, "alg")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "RS256") != 0))
		goto out;
	if ((v = json_object_get(jwk, "use")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
		goto out;
	if (!json_is_string(v = json_object_get(jwk, "n")))
		goto out;
	sn = json_string_value(v);
	if (!json_is_string(v = json_object_get(jwk, "e")))
		goto out;
	se = json_string_value(v);
	if (b64url_decode(sn, strlen(sn), RSA_BITS_MAX / 8 + 1, &n, &nlen) ||
	    b64url_decode(se, strlen(se), RSA_E_MAX, &e, &elen))
		goto out;
	if ((bn_n = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)elen, NULL)) == NULL)
		goto out;
	if (!BN_is_odd(bn_e) || BN_is_one(bn_e) ||
	    BN_num_bits(bn_n) < RSA_BITS_MIN ||
	    BN_num_bits(bn_n) > RSA_BITS_MAX)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1)
		goto out;
	ret = pk;
	pk = NULL;
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	if (ret == NULL)
		ERR_clear_error();
	return ret;
}

/*
 * Parses a certs document (Cloudflare's /cdn-cgi/access/certs: the "keys"
 * JWK set; "public_cert(s)" hold the same keys as PEM and are not used) into
 * ks: 0 with at least one key, or -1 with err. Keys that are not RS256, too
 * small, or whose kid repeats an earlier one are skipped.
 */
static int
keys_parse(const char *doc, size_t len, const char *what, struct keyset *ks,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t	    *root = NULL, *arr, *jwk, *kid;
	size_t	     i, j, skipped = 0;
	int	     rc = -1, dup;

	ks->n = 0;
	if ((root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr)) ==
		NULL ||
	    !json_is_object(root)) {
		snprintf(err, errlen, "%s: not a JSON object", what);
		goto out;
	}
	if (!json_is_array(arr = json_object_get(root, "keys"))) {
		snprintf(err, errlen, "%s: no \"keys\" array", what);
		goto out;
	}
	json_array_foreach(arr, i, jwk)
	{
		EVP_PKEY *pk;

		if (ks->n == KEYS_MAX)
			break;
		kid = json_object_get(jwk, "kid");
		if (!json_is_string(kid) || json_string_length(kid) == 0 ||
		    !str_printable(json_string_value(kid), KID_MAX)) {
			skipped++;
			continue;
		}
		for (dup = 0, j = 0; j < ks->n; j++)
			if (strcmp(ks->k[j].kid, json_string_value(kid)) == 0)
				dup = 1;
		if (dup || (pk = jwk_rsa(jwk)) == NULL) {
			skipped++;
			continue;
		}
		snprintf(ks->k[ks->n].kid, sizeof(ks->k[ks->n].kid), "%s",
		    json_string_value(kid));
		ks->k[ks->n++].pk = pk;
	}
	if (ks->n == 0) {
		snprintf(err, errlen, "%s: holds no usable RS256 key", what);
		goto out;
	}
	if (skipped > 0)
		log_warn("access_keys_skipped", "count=%zu", skipped);
	rc = 0;
out:
	json_decref(root);
	if (rc == -1)
		keyset_free(ks);
	return rc;
}

struct fetch_buf {
	char  *p;
	size_t len;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch_buf *fb = arg;
	size_t		  n = size * nmemb; /* size is 1 */
	char		 *np;

	/* Over CERTS_MAX: returning short makes curl fail the transfer. */
	if (n > CERTS_MAX - fb->len)
		return 0;
	if ((np = realloc(fb->p, fb->len + n + 1)) == NULL)
		return 0;
	memcpy(np + fb->len, ptr, n);
	fb->p = np;
	fb->len += n;
	fb->p[fb->len] = '\0';
	return n;
}

/* GETs the certs document: a malloc'd NUL-terminated body, or NULL with err. */
static char *
certs_fetch(const struct access *a, size_t *len, char *err, size_t errlen)
{
	CURL		*c = NULL;
	struct fetch_buf fb = { NULL, 0 };
	char		 cerr[CURL_ERROR_SIZE] = "";
	long		 status = 0;
	CURLcode	 cc;
	char		*ret = NULL;

	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: curl_easy_init failed");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, a->certs_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    a->loopback ? "http" : "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, FETCH_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CERTS_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &fb);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
	    "vaultmesh-command-center/" VM_VERSION);
	if (a->loopback) /* a proxy has no business with loopback */
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: cannot fetch %s: %s",
		    a->certs_url,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: %s answered HTTP %ld",
		    a->certs_url, status);
		goto out;
	}
	if (fb.p == NULL) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_TEAM_DOMAIN: %s answered an empty body",
		    a->certs_url);
		goto out;
	}
	ret = fb.p;
	*len = fb.len;
	fb.p = NULL;
out:
	free(fb.p);
	curl_easy_cleanup(c);
	return ret;
}

/* Reads the keys from the file or the network into ks: 0, or -1 with err. */
static int
keys_load(const struct access *a, struct keyset *ks, char *err, size_t errlen)
{
	char  *doc = NULL, what[64];
	size_t len = 0;
	int    rc = -1;

	if (a->certs_file != NULL) {
		if ((doc = file_read(a->certs_file, CERTS_MAX, &len)) == NULL) {
			snprintf(err, errlen,
			    "VAULTMESH_ACCESS_CERTS: cannot read %s: %s",
			    a->certs_file,
			    errno == EFBIG ? "larger than 1 MiB" :
					     strerror(errno));
			goto out;
		}
		snprintf(what, sizeof(what), "VAULTMESH_ACCESS_CERTS");
	} else {
		if ((doc = certs_fetch(a, &len, err, errlen)) == NULL)
			goto out;
		snprintf(what, sizeof(what), "VAULTMESH_ACCESS_TEAM_DOMAIN");
	}
	if (keys_parse(doc, len, what, ks, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	free(doc);
	return rc;
}

/* A new reference to the key named kid, or NULL. Locks a->mu. */
static EVP_PKEY *
key_get(struct access *a, const char *kid)
{
	EVP_PKEY *pk = NULL;

	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->keys.n; i++)
		if (strcmp(a->keys.k[i].kid, kid) == 0) {
			if (EVP_PKEY_up_ref(a->keys.k[i].pk) == 1)
				pk = a->keys.k[i].pk;
			break;
		}
	pthread_mutex_unlock(&a->mu);
	return pk;
}

/*
 * Re-reads the keys unless one was read less than ACCESS_REFRESH_SECS ago
 * (on the caller's clock) or another thread is at it: 1 when the key set was
 * replaced, 0 otherwise. A document that cannot be had or holds no usable
 * key leaves the cached keys as they are.
 */
static int
keys_refresh(struct access *a, int64_t now)
{
	struct keyset *fresh = NULL;
	char	       err[512];
	int	       go = 0, replaced = 0;
	size_t	       n = 0;

	pthread_mutex_lock(&a->mu);
	/* Either way: a wall clock stepped back must not freeze refreshes. */
	if (!a->fetching &&
	    (!a->refreshed || now - a->last_refresh >= ACCESS_REFRESH_SECS ||
		a->last_refresh - now >= ACCESS_REFRESH_SECS)) {
		a->fetching = 1;
		a->refreshed = 1;
		a->last_refresh = now;
		go = 1;
	}
	pthread_mutex_unlock(&a->mu);
	if (!go)
		goto out;
	if ((fresh = calloc(1, sizeof(*fresh))) == NULL) {
		log_err("access_keys_refresh", "error=\"out of memory\"");
		goto done;
	}
	if (keys_load(a, fresh, err, sizeof(err)) == -1) {
		char q[600];

		log_warn("access_keys_refresh", "result=failed error=%s",
		    log_quote(q, sizeof(q), err));
		goto done;
	}
	pthread_mutex_lock(&a->mu);
	{
		/* Swap: the old set goes out in fresh and is freed below. */
		struct keyset tmp = a->keys;

		a->keys = *fresh;
		*fresh = tmp;
		n = a->keys.n;
	}
	pthread_mutex_unlock(&a->mu);
	replaced = 1;
	log_info("access_keys_refresh", "result=ok keys=%zu", n);
done:
	pthread_mutex_lock(&a->mu);
	a->fetching = 0;
	pthread_mutex_unlock(&a->mu);
out:
	if (fresh != NULL) {
		keyset_free(fresh);
		free(fresh);
	}
	return replaced;
}

/* ---- the API --------------------------------------------------------- */

void
access_tick(struct access *a, int64_t now)
{
	int64_t since;
	int	due;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	if (a->tick_base == 0)
		a->tick_base = now;
	since = a->refreshed && a->last_refresh > a->tick_base ?
	    a->last_refresh :
	    a->tick_base;
	/* A clock stepped back by as much counts too. */
	due = now - since >= ACCESS_MAX_AGE_SECS ||
	    since - now >= ACCESS_MAX_AGE_SECS;
	pthread_mutex_unlock(&a->mu);
	if (due && keys_refresh(a, now) == 0) {
		/* Not replaced (failed, or another thread at it): wait again. */
		pthread_mutex_lock(&a->mu);
		a->tick_base = now;
		pthread_mutex_unlock(&a->mu);
	}
}

struct access *
access_open(const char *team_domain, const char *aud, const char *certs_file,
    char *err, size_t errlen)
{
	struct access *a = NULL, *ret = NULL;
	int	       loopback = 0;
	size_t	       len;

	if (team_domain == NULL || *team_domain == '\0') {
		snprintf(err, errlen, "VAULTMESH_ACCESS_TEAM_DOMAIN: not set");
		goto out;
	}
	if (aud == NULL || *aud == '\0' || !str_printable(aud, AUD_MAX) ||
	    strchr(aud, ' ') != NULL) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_AUD: must be the "
		    "application's AUD tag (printable, at most %d bytes, no "
		    "spaces)",
		    AUD_MAX);
		goto out;
	}
	if (certs_file != NULL && *certs_file == '\0') {
		snprintf(err, errlen, "VAULTMESH_ACCESS_CERTS: empty path");
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		snprintf(err, errlen, "pthread_mutex_init failed");
		free(a);
		a = NULL;
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		goto out;
	}
	a->curl_ready = 1;
	if (domain_check(team_domain, &loopback, err, errlen) == -1)
		goto out;
	a->loopback = loopback;
	len = strlen(team_domain) + sizeof(CERTS_PATH);
	if ((a->team_domain = strdup(team_domain)) == NULL ||
	    (a->aud = strdup(aud)) == NULL ||
	    (certs_file != NULL &&
		(a->certs_file = strdup(certs_file)) == NULL) ||
	    (a->certs_url = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(a->certs_url, len, "%s%s", team_domain, CERTS_PATH);
	if (keys_load(a, &a->keys, err, errlen) == -1)
		goto out;
	log_info("access_keys", "source=%s keys=%zu",
	    a->certs_file != NULL ? "file" : "network", a->keys.n);
	ret = a;
	a = NULL;
out:
	access_close(a);
	return ret;
}

void
access_close(struct access *a)
{
	if (a == NULL)
		return;
	keyset_free(&a->keys);
	pthread_mutex_destroy(&a->mu);
	if (a->curl_ready)
		curl_global_cleanup();
	free(a->team_domain);
	free(a->aud);
	free(a->certs_file);
	free(a->certs_url);
	free(a);
}

/* Decodes one base64url JSON part into an object (duplicates refused). */
static json_t *
part_json(const char *s, size_t len)
{
	unsigned char *bin = NULL;
	size_t	       n;
	json_t	      *root = NULL;
	json_error_t   jerr;

	if (b64url_decode(s, len, ACCESS_TOKEN_MAX, &bin, &n) == -1)
		goto out;
	root = json_loadb((const char *)bin, n, JSON_REJECT_DUPLICATES, &jerr);
	if (root != NULL && !json_is_object(root)) {
		json_decref(root);
		root = NULL;
	}
out:
	free(bin);
	return root;
}

/*
 * Reads the NumericDate claim name: 1 with *t set, 0 when absent, -1 when
 * it is not a number in [0, TIME_MAX].
 */
static int
claim_time(json_t *payload, const char *name, int64_t *t)
{
	json_t *v = json_object_get(payload, name);
	double	d;

	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > TIME_MAX)
			return -1;
		*t = (int64_t)i;
		return 1;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!isfinite(d) || d < 0 || d > (double)TIME_MAX)
			return -1;
		*t = (int64_t)d;
		return 1;
	}
	return -1;
}

/* 1 if the aud claim is the tag or an array of strings holding it. */
static int
aud_ok(json_t *v, const char *aud)
{
	size_t	i;
	json_t *e;

	if (json_is_string(v))
		return strcmp(json_string_value(v), aud) == 0;
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e) if (json_is_string(e) &&
	    strcmp(json_string_value(e), aud) == 0) return 1;
	return 0;
}

/* The identity claim: email, or common_name for service tokens; NULL if none. */
static const char *
identity_of(json_t *payload, int *bad)
{
	json_t *v;

	*bad = 0;
	if ((v = json_object_get(payload, "email")) != NULL) {
		if (!json_is_string(v)) {
			*bad = 1;
			return NULL;
		}
		if (json_string_length(v) > 0)
			return json_string_value(v);
	}
	if ((v = json_object_get(payload, "common_name")) != NULL) {
		if (!json_is_string(v)) {
			*bad = 1;
			return NULL;
		}
		if (json_string_length(v) > 0)
			return json_string_value(v);
	}
	return NULL;
}

/* The group claims of a verified payload into g (see access.h). */
static void
groups_of(json_t *payload, struct access_groups *g)
{
	json_t *arr = json_object_get(payload, "groups"), *v;
	size_t	i;

	g->n = 0;
	if (!json_is_array(arr))
		arr = json_object_get(json_object_get(payload, "custom"),
		    "groups");
	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, v)
	{
		if (g->n == ACCESS_GROUPS_MAX)
			break;
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    !str_printable(json_string_value(v), ACCESS_GROUP_MAX))
			continue;
		snprintf(g->text[g->n], sizeof(g->text[g->n]), "%s",
		    json_string_value(v));
		g->name[g->n] = g->text[g->n];
		g->n++;
	}
}

int
access_verify(struct access *a, const char *jwt, int64_t now, char *who,
    size_t whosz, char *why, size_t whylen)
{
	return access_verify_groups(a, jwt, now, who, whosz, NULL, why, whylen);
}

int
access_verify_groups(struct access *a, const char *jwt, int64_t now, char *who,
    size_t whosz, struct access_groups *g, char *why, size_t whylen)
{
	json_t	      *hdr = NULL, *pl = NULL, *v;
	EVP_PKEY      *pk = NULL;
	EVP_MD_CTX    *md = NULL;
	EVP_PKEY_CTX  *pctx = NULL;
	unsigned char *sig = NULL;
	const char    *dot1, *dot2, *kid, *id;
	size_t	       len, siglen, idlen;
	int64_t	       t;
	int	       rc = -1, r, bad;

	if (who != NULL && whosz > 0)
		who[0] = '\0';
	if (g != NULL)
		g->n = 0;
	if (a == NULL || who == NULL || whosz == 0) {
		reason(why, whylen, "access not configured");
		goto out;
	}
	if (jwt == NULL || *jwt == '\0') {
		reason(why, whylen, "no token");
		goto out;
	}
	if ((len = strnlen(jwt, ACCESS_TOKEN_MAX + 1)) > ACCESS_TOKEN_MAX) {
		reason(why, whylen, "token too long");
		goto out;
	}
	/* Exactly three non-empty parts. */
	if ((dot1 = memchr(jwt, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt))) ==
		NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - jwt)) != NULL ||
	    dot1 == jwt || dot2 == dot1 + 1 || dot2 + 1 == jwt + len) {
		reason(why, whylen, "malformed token");
		goto out;
	}
	if ((hdr = part_json(jwt, (size_t)(dot1 - jwt))) == NULL) {
		reason(why, whylen, "malformed token header");
		goto out;
	}
	/* RS256 and nothing else, whatever else the header says. */
	if (!json_is_string(v = json_object_get(hdr, "alg")) ||
	    strcmp(json_string_value(v), "RS256") != 0) {
		reason(why, whylen, "algorithm not RS256");
		goto out;
	}
	if ((v = json_object_get(hdr, "typ")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "JWT") != 0)) {
		reason(why, whylen, "typ not JWT");
		goto out;
	}
	/* RFC 7515 4.1.11: extensions we do not know must be refused. */
	if (json_object_get(hdr, "crit") != NULL) {
		reason(why, whylen, "unsupported crit header");
		goto out;
	}
	if (!json_is_string(v = json_object_get(hdr, "kid")) ||
	    json_string_length(v) == 0 || json_string_length(v) > KID_MAX) {
		reason(why, whylen, "no key id");
		goto out;
	}
	kid = json_string_value(v);
	if ((pk = key_get(a, kid)) == NULL && keys_refresh(a, now))
		pk = key_get(a, kid);
	if (pk == NULL) {
		reason(why, whylen, "unknown key id");
		goto out;
	}
	if (b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - jwt),
		(size_t)EVP_PKEY_get_size(pk), &sig, &siglen) == -1 ||
	    siglen != (size_t)EVP_PKEY_get_size(pk)) {
		reason(why, whylen, "bad signature");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
		reason(why, whylen, "verifier error");
		goto out;
	}
	if (EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt,
		(size_t)(dot2 - jwt)) != 1) {
		reason(why, whylen, "bad signature");
		goto out;
	}
	/* Signed by Access: now the claims. */
	if ((pl = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
		reason(why, whylen, "malformed token payload");
		goto out;
	}
	if (!json_is_string(v = json_object_get(pl, "iss")) ||
	    strcmp(json_string_value(v), a->team_domain) != 0) {
		reason(why, whylen, "wrong issuer");
		goto out;
	}
	if (!aud_ok(json_object_get(pl, "aud"), a->aud)) {
		reason(why, whylen, "wrong audience");
		goto out;
	}
	if ((r = claim_time(pl, "exp", &t)) != 1) {
		reason(why, whylen, r == 0 ? "no expiry" : "bad exp");
		goto out;
	}
	if (!(t + ACCESS_SKEW_SECS > now)) {
		reason(why, whylen, "expired");
		goto out;
	}
	if ((r = claim_time(pl, "nbf", &t)) == -1 ||
	    (r == 1 && t - ACCESS_SKEW_SECS > now)) {
		reason(why, whylen, r == -1 ? "bad nbf" : "not yet valid");
		goto out;
	}
	if ((r = claim_time(pl, "iat", &t)) == -1 ||
	    (r == 1 && t - ACCESS_SKEW_SECS > now)) {
		reason(why, whylen,
		    r == -1 ? "bad iat" : "issued in the future");
		goto out;
	}
	if ((id = identity_of(pl, &bad)) == NULL) {
		reason(why, whylen,
		    bad ? "bad identity claim" : "no email or common_name");
		goto out;
	}
	if (!str_printable(id, ACCESS_IDENTITY_MAX)) {
		reason(why, whylen, "identity not printable or too long");
		goto out;
	}
	if ((idlen = strlen(id)) >= whosz) {
		reason(why, whylen, "identity too long");
		goto out;
	}
	memcpy(who, id, idlen + 1);
	if (g != NULL)
		groups_of(pl, g);
	rc = 0;
out:
	if (rc == -1)
		ERR_clear_error();
	EVP_MD_CTX_free(md); /* frees pctx too */
	EVP_PKEY_free(pk);
	free(sig);
	json_decref(hdr);
	json_decref(pl);
	return rc;
}
