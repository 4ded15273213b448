#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cc.h"
#include "log.h"
#include "util.h"

/* Parses "host:port" or "[v6]:port" into c; -1 with err. */
static int
parse_listen(const char *v, struct config *c, char *err, size_t errlen)
{
	const char	*colon, *given = v;
	char		 host[64], *end, shown[65];
	unsigned char	 addr[16];
	long		 port;
	size_t		 hlen;

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
	snprintf(c->listen_host, sizeof(c->listen_host), "%s", host);
	c->listen_port = (unsigned short)port;
	return 0;
bad:
	str_sanitize(shown, sizeof(shown), given);
	snprintf(err, errlen, "VAULTMESH_LISTEN: must be IP:PORT (e.g. "
	    "127.0.0.1:8088 or [::1]:8088), got \"%s\"", shown);
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
	static char	 key_path[4200], secret[257];
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	char		 path[4200], *text;
	size_t		 len;

	if (dir == NULL || *dir == '\0')
		return 0;
	if (getenv("VAULTMESH_CC_KEY_PATH") == NULL) {
		snprintf(key_path, sizeof(key_path), "%s/cc-ed25519.key", dir);
		if (access(key_path, F_OK) == 0)
			c->key_path = key_path;
	}
	if (c->enroll_secret == NULL) {
		snprintf(path, sizeof(path), "%s/enroll-secret", dir);
		if ((text = file_read(path, sizeof(secret) - 1, &len)) != NULL) {
			str_rtrim(text);
			snprintf(secret, sizeof(secret), "%s", text);
			sodium_memzero(text, len);
			free(text);
			if (secret[0] != '\0')
				c->enroll_secret = secret;
		} else if (errno != ENOENT) {
			snprintf(err, errlen, "CREDENTIALS_DIRECTORY: cannot read "
			    "enroll-secret: %s", errno == EFBIG ? "longer than 256 "
			    "bytes" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
config_load(struct config *c, char *err, size_t errlen)
{
	const char *listen;

	memset(c, 0, sizeof(*c));
	if (env_str("VAULTMESH_LISTEN", "127.0.0.1:8088", 80, &listen, err,
	    errlen) == -1 || parse_listen(listen, c, err, errlen) == -1)
		return -1;
	if (env_str("VAULTMESH_DB", "vaultmesh.db", 4096, &c->db_path, err,
	    errlen) == -1 ||
	    env_str("VAULTMESH_CC_KEY_PATH", "cc-ed25519.key", 4096,
	    &c->key_path, err, errlen) == -1 ||
	    env_str("VAULTMESH_ENROLL_SECRET", NULL, 256, &c->enroll_secret,
	    err, errlen) == -1 ||
	    env_str("VAULTMESH_POLICY_PATH", NULL, 4096, &c->policy_path,
	    err, errlen) == -1 ||
	    env_str("VAULTMESH_LOG", "info", 16, &c->log_level, err,
	    errlen) == -1 ||
	    env_str("VAULTMESH_ACCESS_TEAM_DOMAIN", NULL, 256, &c->access_team,
	    err, errlen) == -1 ||
	    env_str("VAULTMESH_ACCESS_AUD", NULL, 256, &c->access_aud, err,
	    errlen) == -1 ||
	    env_str("VAULTMESH_ACCESS_CERTS", NULL, 4096, &c->access_certs,
	    err, errlen) == -1)
		return -1;
	if ((c->access_team == NULL) != (c->access_aud == NULL)) {
		snprintf(err, errlen, "%s: set VAULTMESH_ACCESS_TEAM_DOMAIN and "
		    "VAULTMESH_ACCESS_AUD together", c->access_team ?
		    "VAULTMESH_ACCESS_AUD" : "VAULTMESH_ACCESS_TEAM_DOMAIN");
		return -1;
	}
	if (c->access_certs != NULL && c->access_team == NULL) {
		snprintf(err, errlen, "VAULTMESH_ACCESS_CERTS: needs "
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
	    env_long("VAULTMESH_THREADS", 0, 0, 64, &c->threads, err,
	    errlen) == -1)
		return -1;
	if (credentials(c, err, errlen) == -1)
		return -1;
	if (log_set_level(c->log_level) == -1) {
		snprintf(err, errlen, "VAULTMESH_LOG: must be error, warn, info "
		    "or debug, got \"%.16s\"", c->log_level);
		return -1;
	}
	return 0;
}
