/*
 * access: Cloudflare Access JWTs verified at the origin (access.c).
 *
 * Cloudflare's guidance is that the Cf-Access-Jwt-Assertion header must be
 * verified by the origin: the Cf-Access-Authenticated-User-Email header alone
 * proves nothing. Only RS256 is accepted; keys come from the team's
 * /cdn-cgi/access/certs document (its "keys" JWK set) or a local copy of it.
 */
#ifndef VM_ACCESS_H
#define VM_ACCESS_H

#include <stddef.h>
#include <stdint.h>

/* Bounds of what access_verify accepts. */
#define ACCESS_TOKEN_MAX 8192	 /* bytes of the compact JWT */
#define ACCESS_IDENTITY_MAX 254	 /* bytes of email / common_name */
#define ACCESS_SKEW_SECS 60	 /* clock skew allowed on exp, nbf, iat */
#define ACCESS_REFRESH_SECS 10	 /* least time between two key refreshes */
#define ACCESS_MAX_AGE_SECS 3600 /* keys re-read at least this often */

struct access;

/*
 * team_domain: "https://<team>.cloudflareaccess.com" (the exact "iss"; certs
 * are fetched from team_domain + "/cdn-cgi/access/certs" with libcurl, 5 s
 * timeout, at most 1 MiB, no redirects; plain http:// is accepted only for
 * loopback literals 127.0.0.0/8 and [::1], for tests). aud: the application's
 * AUD tag. certs_file: when not NULL, keys come from this local file (same
 * JSON document) instead of the network (offline sites); it is re-read when
 * an unknown kid appears.
 * Loads the keys once: NULL with one line in err when an argument is wrong,
 * the document cannot be had or it holds no usable RS256 key. The line starts
 * with the name of the variable at fault (VAULTMESH_ACCESS_TEAM_DOMAIN,
 * VAULTMESH_ACCESS_AUD or VAULTMESH_ACCESS_CERTS), like keys_load's.
 * Call it before threads start (it calls curl_global_init).
 */
struct access *access_open(const char *team_domain, const char *aud,
    const char *certs_file, char *err, size_t errlen);
/* Frees a; NULL is fine. */
void access_close(struct access *a);
/*
 * Verifies jwt (RS256 only, kid of a cached key, iss, aud, exp/nbf/iat with
 * ACCESS_SKEW_SECS of skew, at now in Unix seconds). An unknown kid refreshes
 * the keys (at most once per ACCESS_REFRESH_SECS of now) and is retried once.
 * On success copies the identity ("email", or "common_name" for service
 * tokens) into who and returns 0; otherwise -1 with a short reason (never
 * token material) in why. Thread-safe.
 */
int access_verify(struct access *a, const char *jwt, int64_t now, char *who,
    size_t whosz, char *why, size_t whylen);

/* A verified token's group claims, as far as the roles file looks. */
#define ACCESS_GROUPS_MAX 64
#define ACCESS_GROUP_MAX 128 /* bytes of one group name */
struct access_groups {
	size_t	    n;
	const char *name[ACCESS_GROUPS_MAX];
	char	    text[ACCESS_GROUPS_MAX][ACCESS_GROUP_MAX + 1];
};
/*
 * access_verify, also copying the token's group claims into g (when not
 * NULL): the strings of a top-level "groups" array, or else of
 * "custom"."groups" (where Access puts an identity provider's claims);
 * the first ACCESS_GROUPS_MAX printable ones of at most ACCESS_GROUP_MAX
 * bytes; others are skipped. A token without groups verifies as before.
 */
int access_verify_groups(struct access *a, const char *jwt, int64_t now,
    char *who, size_t whosz, struct access_groups *g, char *why, size_t whylen);
/*
 * Call it now and then (the CC does once a second): re-reads the keys when
 * the last refresh (or the first call) is ACCESS_MAX_AGE_SECS old, so a key
 * Cloudflare withdrew stops being trusted within the hour even when no new
 * kid appears. A failed read keeps the cached keys. NULL is fine.
 */
void access_tick(struct access *a, int64_t now);

#endif
