#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "log.h"
#include "util.h"

/* Parses "host:port" or "[v6]:port" (variable name) into host/port; -1 with err. */
static int
parse_listen(const char *name, const char *v, char out_host[64],
    unsigned short *out_port, char *err, size_t errlen)
{
	const char   *colon, *given = v;
	char	      host[64], *end, shown[65];
	unsigned char addr[16];
	long	      port;
	size_t	      hlen;

	if ((colon = strrchr(v, ':')) == NULL)
		goto bad;
	hlen = (size_t)(colon - v);
	if (v[0] == '[') {
		if (hlen < 3 || v[hlen - 1] != ']')
			goto bad;
		v++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, v, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1)
		goto bad;
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		goto bad;
	snprintf(out_host, 64, "%s", host);
	*out_port = (unsigned short)port;
	return 0;
bad:
	str_sanitize(shown, sizeof(shown), given);
	snprintf(err, errlen,
	    "%s: must be IP:PORT (e.g. "
	    "127.0.0.1:8088 or [::1]:8088), got \"%s\"",
	    name, shown);
	return -1;
}

int
addr_is_loopback(const char *host)
{
	struct in_addr	a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

/* Adds the secret p (n bytes, taken as it is): 0, or -1 with err. */
static int
add_secret(struct config *c, const char *p, size_t n, const char *what,
    char *err, size_t errlen)
{
	if (n > 256) {
		snprintf(err, errlen, "%s: a secret is longer than 256 bytes",
		    what);
		return -1;
	}
	if (c->nsecrets == ENROLL_SECRETS_MAX) {
		snprintf(err, errlen, "%s: at most %d enroll secrets in all",
		    what, ENROLL_SECRETS_MAX);
		return -1;
	}
	if ((c->secrets[c->nsecrets] = strndup(p, n)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", what);
		return -1;
	}
	c->nsecrets++;
	return 0;
}

/*
 * Adds the secrets of a file's text: one a line (trailing blanks and the
 * line end dropped; empty lines and lines starting with "#" skipped), so a
 * new secret can be added before the old one goes.
 */
static int
add_secret_lines(struct config *c, const char *text, const char *what,
    char *err, size_t errlen)
{
	const char *p = text;

	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t	    n = e != NULL ? (size_t)(e - p) : strlen(p);

		while (n > 0 &&
		    (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--;
		if (n > 0 && *p != '#' &&
		    add_secret(c, p, n, what, err, errlen) == -1)
			return -1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

/* Reads the secrets of the file at path (what names it in errors). */
static int
secret_file(struct config *c, const char *path, const char *what,
    int missing_ok, char *err, size_t errlen)
{
	char  *text;
	size_t len;
	int    rc;

	if ((text = file_read(path, ENROLL_SECRETS_MAX * 258, &len)) == NULL) {
		if (missing_ok && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: cannot read %s: %s", what, path,
		    errno == EFBIG ? "too long" : strerror(errno));
		return -1;
	}
	rc = add_secret_lines(c, text, what, err, errlen);
	sodium_memzero(text, len);
	free(text);
	return rc;
}

void
config_free(struct config *c)
{
	for (size_t i = 0; i < c->nsecrets; i++) {
		sodium_memzero(c->secrets[i], strlen(c->secrets[i]));
		free(c->secrets[i]);
		c->secrets[i] = NULL;
	}
	c->nsecrets = 0;
}

int
config_check_local(const struct config *c, int have_access, char *err,
    size_t errlen)
{
	if (have_access || c->unsafe_open || addr_is_loopback(c->listen_host))
		return 0;
	snprintf(err, errlen,
	    "VAULTMESH_LISTEN: %s is not a loopback address, "
	    "and without Cloudflare Access (VAULTMESH_ACCESS_TEAM_DOMAIN, "
	    "VAULTMESH_ACCESS_AUD) the operator routes would be open to anyone "
	    "who reaches it. Listen on 127.0.0.1 and give agents their own "
	    "listener (VAULTMESH_AGENT_LISTEN), configure Access, or set "
	    "VAULTMESH_UNSAFE_OPEN_OPERATOR_API=1 to accept the risk",
	    c->listen_host);
	return -1;
}

/*
 * systemd's LoadCredential= hands secrets over as files in
 * $CREDENTIALS_DIRECTORY instead of the environment: "cc-ed25519.key" and
 * "enroll-secret" are used when the variables are not set.
 */
static int
credentials(struct config *c, char *err, size_t errlen)
{
	static char key_path[4200];
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char	    path[4200];

	if (dir == NULL || *dir == '\0')
		return 0;
	if (getenv("VAULTMESH_CC_KEY_PATH") == NULL) {
		snprintf(key_path, sizeof(key_path), "%s/cc-ed25519.key", dir);
		if (access(key_path, F_OK) == 0)
			c->key_path = key_path;
	}
	/* One secret a line: a new one can be added before the old goes. */
	if (c->enroll_secret == NULL) {
		snprintf(path, sizeof(path), "%s/enroll-secret", dir);
		if (secret_file(c, path, "CREDENTIALS_DIRECTORY/enroll-secret",
			1, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
load(struct config *c, char *err, size_t errlen)
{
	const char *listen, *sfile;

	memset(c, 0, sizeof(*c));
	if (env_str("VAULTMESH_LISTEN", "127.0.0.1:8088", 80, &listen, err,
		errlen) == -1 ||
	    parse_listen("VAULTMESH_LISTEN", listen, c->listen_host,
		&c->listen_port, err, errlen) == -1)
		return -1;
	if (env_str("VAULTMESH_AGENT_LISTEN", NULL, 80, &listen, err, errlen) ==
		-1 ||
	    (listen != NULL &&
		parse_listen("VAULTMESH_AGENT_LISTEN", listen, c->agent_host,
		    &c->agent_port, err, errlen) == -1))
		return -1;
	if (env_str("VAULTMESH_PUBLIC_HOST", NULL, 253, &c->public_host, err,
		errlen) == -1)
		return -1;
	if (c->public_host != NULL &&
	    (c->public_host[0] == '\0' ||
		strspn(c->public_host,
		    "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:") !=
		    strlen(c->public_host))) {
		snprintf(err, errlen,
		    "VAULTMESH_PUBLIC_HOST: must be a host "
		    "name or address as operators type it (e.g. "
		    "cc.example.com), without scheme or path");
		return -1;
	}
	{
		const char *u = getenv("VAULTMESH_UNSAFE_OPEN_OPERATOR_API");

		if (u != NULL && strcmp(u, "1") != 0 && strcmp(u, "0") != 0 &&
		    *u != '\0') {
			snprintf(err, errlen,
			    "VAULTMESH_UNSAFE_OPEN_OPERATOR_API: "
			    "must be 1 or 0");
			return -1;
		}
		c->unsafe_open = u != NULL && strcmp(u, "1") == 0;
	}
	if (env_str("VAULTMESH_DB", "vaultmesh.db", 4096, &c->db_path, err,
		errlen) == -1 ||
	    env_str("VAULTMESH_CC_KEY_PATH", "cc-ed25519.key", 4096,
		&c->key_path, err, errlen) == -1 ||
	    env_str("VAULTMESH_ENROLL_SECRET", NULL, 256, &c->enroll_secret,
		err, errlen) == -1 ||
	    env_str("VAULTMESH_POLICY_PATH", NULL, 4096, &c->policy_path, err,
		errlen) == -1 ||
	    env_str("VAULTMESH_ROLES_PATH", NULL, 4096, &c->roles_path, err,
		errlen) == -1 ||
	    env_str("VAULTMESH_WEBHOOKS_PATH", NULL, 4096, &c->webhooks_path,
		err, errlen) == -1 ||
	    env_str("VAULTMESH_LOG", "info", 16, &c->log_level, err, errlen) ==
		-1 ||
	    env_str("VAULTMESH_ACCESS_TEAM_DOMAIN", NULL, 256, &c->access_team,
		err, errlen) == -1 ||
	    env_str("VAULTMESH_ACCESS_AUD", NULL, 256, &c->access_aud, err,
		errlen) == -1 ||
	    env_str("VAULTMESH_ACCESS_CERTS", NULL, 4096, &c->access_certs, err,
		errlen) == -1)
		return -1;
	if ((c->access_team == NULL) != (c->access_aud == NULL)) {
		snprintf(err, errlen,
		    "%s: set VAULTMESH_ACCESS_TEAM_DOMAIN and "
		    "VAULTMESH_ACCESS_AUD together",
		    c->access_team ? "VAULTMESH_ACCESS_AUD" :
				     "VAULTMESH_ACCESS_TEAM_DOMAIN");
		return -1;
	}
	if (c->access_certs != NULL && c->access_team == NULL) {
		snprintf(err, errlen,
		    "VAULTMESH_ACCESS_CERTS: needs "
		    "VAULTMESH_ACCESS_TEAM_DOMAIN and VAULTMESH_ACCESS_AUD");
		return -1;
	}
	if (env_long("VAULTMESH_SCAN_INTERVAL_HOURS", 24, 1, 24 * 365,
		&c->scan_interval_hours, err, errlen) == -1 ||
	    env_long("VAULTMESH_SCAN_STALE_HOURS", 48, 1, 24 * 365,
		&c->scan_stale_hours, err, errlen) == -1 ||
	    env_long("VAULTMESH_HEARTBEAT_STALE_MINUTES", 10, 1, 60 * 24 * 30,
		&c->heartbeat_stale_minutes, err, errlen) == -1 ||
	    env_long("VAULTMESH_SCHEDULER_TICK_SECONDS", 300, 1, 86400,
		&c->scheduler_tick_seconds, err, errlen) == -1 ||
	    env_long("VAULTMESH_COMMAND_TTL_SECONDS", 3600, 10, 86400 * 7,
		&c->command_ttl_seconds, err, errlen) == -1 ||
	    env_long("VAULTMESH_MAX_CONNECTIONS", 16384, 16, 1000000,
		&c->max_connections, err, errlen) == -1 ||
	    env_long("VAULTMESH_MAX_LONGPOLLS", 15000, 0, 1000000,
		&c->max_longpolls, err, errlen) == -1 ||
	    env_long("VAULTMESH_MAX_BODY_BYTES", 64L << 20, 1L << 20, 1L << 34,
		&c->max_body_bytes, err, errlen) == -1 ||
	    env_long("VAULTMESH_MAX_PENDING_NODES", 1000, 0, 1000000,
		&c->max_pending, err, errlen) == -1 ||
	    env_long("VAULTMESH_PENDING_ENROLL_PER_MINUTE", 30, 1, 100000,
		&c->pending_per_minute, err, errlen) == -1 ||
	    env_long("VAULTMESH_DELIVERY_LEASE_SECONDS", 30, 1, 3600,
		&c->delivery_lease_seconds, err, errlen) == -1 ||
	    env_long("VAULTMESH_JOB_MAX_NODES", 500, 1, 1000000,
		&c->job_max_nodes, err, errlen) == -1 ||
	    env_long("VAULTMESH_WEBHOOK_FLAP_SECONDS", 60, 0, 86400,
		&c->webhook_flap_seconds, err, errlen) == -1 ||
	    env_long("VAULTMESH_KEY_OVERLAP_HOURS", 168, 0, 8760,
		&c->key_overlap_hours, err, errlen) == -1 ||
	    env_long("VAULTMESH_APPROVAL_TTL_SECONDS", 86400, 1, 30L * 86400,
		&c->approval_ttl_seconds, err, errlen) == -1 ||
	    env_long("VAULTMESH_THREADS", 0, 0, 64, &c->threads, err, errlen) ==
		-1)
		return -1;
	/* The variable holds one secret, whole; a file may hold several. */
	if (c->enroll_secret != NULL &&
	    add_secret(c, c->enroll_secret, strlen(c->enroll_secret),
		"VAULTMESH_ENROLL_SECRET", err, errlen) == -1)
		return -1;
	if (env_str("VAULTMESH_ENROLL_SECRET_FILE", NULL, 4096, &sfile, err,
		errlen) == -1 ||
	    (sfile != NULL &&
		secret_file(c, sfile, "VAULTMESH_ENROLL_SECRET_FILE", 0, err,
		    errlen) == -1))
		return -1;
	if (credentials(c, err, errlen) == -1)
		return -1;
	if (log_set_level(c->log_level) == -1) {
		snprintf(err, errlen,
		    "VAULTMESH_LOG: must be error, warn, info "
		    "or debug, got \"%.16s\"",
		    c->log_level);
		return -1;
	}
	return 0;
}

int
config_load(struct config *c, char *err, size_t errlen)
{
	if (load(c, err, errlen) == -1) {
		config_free(c);
		return -1;
	}
	return 0;
}
