/*
 * Configuration from the environment, so the systemd unit can use
 * EnvironmentFile=/etc/vaultmesh/agent.env. Every error is one line naming
 * the variable; main() prints it and exits with status 2.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "command.h"
#include "config.h"
#include "defs.h"
#include "log.h"
#include "util.h"

#define DEFAULT_METRICS                                    \
	"127.0.0.1:20241,127.0.0.1:20242,127.0.0.1:20243," \
	"127.0.0.1:20244,127.0.0.1:20245"

int
host_is_loopback(const char *host)
{
	struct in_addr	a4;
	struct in6_addr a6;
	char		buf[INET6_ADDRSTRLEN + 2];
	size_t		n = strlen(host);
	int		rc = 0;

	if (strcasecmp(host, "localhost") == 0) {
		rc = 1;
		goto out;
	}
	if (inet_pton(AF_INET, host, &a4) == 1) {
		rc = (ntohl(a4.s_addr) >> 24) == 127;
		goto out;
	}
	if (host[0] == '[') {
		if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof(buf))
			goto out;
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1)
		rc = IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
out:
	return rc;
}

/*
 * VAULTMESH_INSECURE_HTTP_LAB: "1" lets plain http:// reach a host other
 * than the loopback; unset, empty or "0" does not. Anything else is an
 * error, so "yes" or "true" cannot be mistaken for either.
 */
static int
parse_lab(int *on, char *err, size_t errlen)
{
	const char *v;
	int	    rc = -1;

	*on = 0;
	if (env_str("VAULTMESH_INSECURE_HTTP_LAB", "0", 16, &v, err, errlen) ==
	    -1)
		goto out;
	if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0) {
		snprintf(err, errlen,
		    "VAULTMESH_INSECURE_HTTP_LAB: must be 1 "
		    "(plain http:// to a non-loopback command center, labs "
		    "only) or unset, got \"%.20s\"",
		    v);
		goto out;
	}
	*on = strcmp(v, "1") == 0;
	rc = 0;
out:
	return rc;
}

/*
 * VAULTMESH_CC_URL, parsed by libcurl (client_url_parse). Plain http:// is
 * taken only to the loopback: over any other path the enroll secret, the
 * node token and the results travel in clear, and whoever sits on that
 * path during the first enrollment can hand the agent their own command
 * key to pin. VAULTMESH_INSECURE_HTTP_LAB=1 lifts that for labs.
 */
static int
parse_url(struct agent_config *c, char *err, size_t errlen)
{
	struct cc_url u = { 0 };
	const char   *v;
	char	      why[200];
	int	      lab, rc = -1;

	if (parse_lab(&lab, err, errlen) == -1 ||
	    env_str("VAULTMESH_CC_URL", "http://127.0.0.1:8088", 1024, &v, err,
		errlen) == -1)
		goto out;
	if (client_url_parse(v, &u, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "VAULTMESH_CC_URL: %s", why);
		goto out;
	}
	if (!u.https && !host_is_loopback(u.host)) {
		if (!lab) {
			snprintf(err, errlen,
			    "VAULTMESH_CC_URL: plain http:// "
			    "only to the loopback (127.0.0.0/8, ::1, "
			    "localhost): the token and enroll secret would "
			    "reach %.60s in clear text; use https:// (a lab may "
			    "set VAULTMESH_INSECURE_HTTP_LAB=1)",
			    u.host);
			goto out;
		}
		c->insecure_http = 1;
	}
	c->cc_url = u.url;
	u.url = NULL;
	rc = 0;
out:
	free(u.url);
	return rc;
}

static int
parse_profile(struct agent_config *c, char *err, size_t errlen)
{
	const char *v;

	if (env_str("VAULTMESH_OS_PROFILE", "generic", AGENT_PROFILE_MAX, &v,
		err, errlen) == -1)
		return -1;
	for (const char *s = v; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
			*s == '-')) {
			snprintf(err, errlen,
			    "VAULTMESH_OS_PROFILE: only "
			    "letters, digits, '.', '_' and '-' are allowed");
			return -1;
		}
	snprintf(c->os_profile, sizeof(c->os_profile), "%s", v);
	return 0;
}

static int
parse_path(const char *name, const char *def, char **out, char *err,
    size_t errlen)
{
	const char *v;

	if (env_str(name, def, AGENT_PATH_MAX, &v, err, errlen) == -1)
		return -1;
	for (const char *s = v; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			snprintf(err, errlen, "%s: contains control characters",
			    name);
			return -1;
		}
	if ((*out = strdup(v)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	return 0;
}

/*
 * Splits a comma list into trimmed, non-empty items, calling fn on each.
 * Empty items (a trailing comma) are skipped.
 */
static int
split_list(const char *name, const char *v, size_t itemmax,
    int (*fn)(struct agent_config *, const char *, char *, size_t),
    struct agent_config *c, char *err, size_t errlen)
{
	char   item[AGENT_PATH_MAX + 1];
	size_t n;

	while (*v != '\0') {
		const char *end = strchr(v, ',');

		if (end == NULL)
			end = v + strlen(v);
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		n = (size_t)(end - v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n > itemmax || n >= sizeof(item)) {
			snprintf(err, errlen, "%s: item longer than %zu bytes",
			    name, itemmax);
			return -1;
		}
		if (n > 0) {
			memcpy(item, v, n);
			item[n] = '\0';
			if (fn(c, item, err, errlen) == -1)
				return -1;
		}
		v = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int
add_service(struct agent_config *c, const char *unit, char *err, size_t errlen)
{
	if (!cmd_unit_valid(unit)) {
		snprintf(err, errlen,
		    "VAULTMESH_SERVICES: \"%.60s\" is not a "
		    "systemd unit name (like nginx.service)",
		    unit);
		return -1;
	}
	if (config_has_service(c, unit))
		return 0;
	if (c->nservices == AGENT_SERVICES_MAX) {
		snprintf(err, errlen, "VAULTMESH_SERVICES: more than %d units",
		    AGENT_SERVICES_MAX);
		return -1;
	}
	if ((c->services[c->nservices] = strdup(unit)) == NULL) {
		snprintf(err, errlen, "VAULTMESH_SERVICES: out of memory");
		return -1;
	}
	c->nservices++;
	return 0;
}

static int
add_metric(struct agent_config *c, const char *hp, char *err, size_t errlen)
{
	const char *colon = strrchr(hp, ':');
	char	   *end;
	long	    port;
	int	    v6;

	if (colon == NULL || colon == hp)
		goto bad;
	v6 = hp[0] == '[';
	if (v6 && colon[-1] != ']')
		goto bad;
	for (const char *s = hp + v6; s < colon - v6; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
			(v6 && *s == ':')))
			goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 ||
	    port > 65535)
		goto bad;
	if (c->nmetrics == AGENT_METRICS_MAX) {
		snprintf(err, errlen,
		    "VAULTMESH_CLOUDFLARED_METRICS: more than %d addresses",
		    AGENT_METRICS_MAX);
		return -1;
	}
	if ((c->metrics[c->nmetrics] = strdup(hp)) == NULL) {
		snprintf(err, errlen,
		    "VAULTMESH_CLOUDFLARED_METRICS: out of memory");
		return -1;
	}
	c->nmetrics++;
	return 0;
bad:
	snprintf(err, errlen,
	    "VAULTMESH_CLOUDFLARED_METRICS: \"%.60s\" is not host:port", hp);
	return -1;
}

static int
add_port(struct agent_config *c, const char *v, char *err, size_t errlen)
{
	char *end;
	long  port;

	errno = 0;
	port = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || port < 1 ||
	    port > 65535) {
		snprintf(err, errlen,
		    "VAULTMESH_SCAN_ALLOWED_PORTS: \"%.20s\" "
		    "is not a port (1-65535)",
		    v);
		return -1;
	}
	for (size_t i = 0; i < c->nscan_ports; i++)
		if (c->scan_ports[i] == port)
			return 0;
	if (c->nscan_ports == AGENT_SCAN_PORTS_MAX) {
		snprintf(err, errlen,
		    "VAULTMESH_SCAN_ALLOWED_PORTS: more than %d ports",
		    AGENT_SCAN_PORTS_MAX);
		return -1;
	}
	c->scan_ports[c->nscan_ports++] = (uint16_t)port;
	return 0;
}

/* One word of a fixed set (named in list, for the error) into out. */
static int
parse_choice(const char *name, const char *def, const char *const *words,
    const char *list, char *out, size_t n, char *err, size_t errlen)
{
	const char *v;

	if (env_str(name, def, 16, &v, err, errlen) == -1)
		return -1;
	for (const char *const *w = words; *w != NULL; w++)
		if (strcmp(v, *w) == 0) {
			snprintf(out, n, "%s", v);
			return 0;
		}
	snprintf(err, errlen, "%s: must be %s, got \"%.20s\"", name, list, v);
	return -1;
}

/* An absolute path (programs and the rules folder are never relative). */
static int
parse_abs_path(const char *name, const char *def, char **out, char *err,
    size_t errlen)
{
	if (parse_path(name, def, out, err, errlen) == -1)
		return -1;
	if ((*out)[0] != '/') {
		snprintf(err, errlen, "%s: must be an absolute path", name);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

#define SYSTEM_CA_PATH "/etc/ssl/certs"

/* 1 if dir holds certificates hashed by `openssl rehash` (1a2b3c4d.0). */
static int
hashed_dir(const char *dir)
{
	DIR	      *d;
	struct dirent *e;
	int	       found = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		size_t	    len = strlen(n);

		found = len >= 10 && n[8] == '.' &&
		    strspn(n, "0123456789abcdef") == 8 &&
		    strspn(n + 9, "0123456789") == len - 9;
	}
	closedir(d);
	return found;
}

/*
 * The CAs that verify an https CC: VAULTMESH_CA_FILE (a PEM file, for a
 * private CA) or VAULTMESH_CA_PATH (a directory hashed by `openssl
 * rehash`: OpenSSL then loads only the CA it needs, not a whole bundle).
 * Neither set: the system's /etc/ssl/certs when it is hashed (Debian's
 * ca-certificates keeps it so), else libcurl's own default. Checked here so
 * that a typo is a configuration error, not a TLS failure at every request.
 */
static int
parse_tls(struct agent_config *c, char *err, size_t errlen)
{
	struct stat sb;
	const char *file, *path;

	if (env_str("VAULTMESH_CA_FILE", NULL, AGENT_PATH_MAX, &file, err,
		errlen) == -1 ||
	    env_str("VAULTMESH_CA_PATH", NULL, AGENT_PATH_MAX, &path, err,
		errlen) == -1)
		return -1;
	if (file != NULL && path != NULL) {
		snprintf(err, errlen,
		    "VAULTMESH_CA_FILE: set it or VAULTMESH_CA_PATH, not both");
		return -1;
	}
	if (file != NULL) {
		if (parse_abs_path("VAULTMESH_CA_FILE", file, &c->ca_file, err,
			errlen) == -1)
			return -1;
		if (access(c->ca_file, R_OK) != 0 ||
		    stat(c->ca_file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			snprintf(err, errlen,
			    "VAULTMESH_CA_FILE: %s is not a readable file",
			    c->ca_file);
			return -1;
		}
		return 0;
	}
	if (path == NULL) {
		if (hashed_dir(SYSTEM_CA_PATH) &&
		    (c->ca_path = strdup(SYSTEM_CA_PATH)) == NULL) {
			snprintf(err, errlen,
			    "VAULTMESH_CA_PATH: out of memory");
			return -1;
		}
		return 0;
	}
	if (parse_abs_path("VAULTMESH_CA_PATH", path, &c->ca_path, err,
		errlen) == -1)
		return -1;
	if (stat(c->ca_path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen,
		    "VAULTMESH_CA_PATH: %s is not a directory", c->ca_path);
		return -1;
	}
	if (!hashed_dir(c->ca_path)) {
		snprintf(err, errlen,
		    "VAULTMESH_CA_PATH: %s holds no hashed "
		    "certificates (run openssl rehash on it)",
		    c->ca_path);
		return -1;
	}
	return 0;
}

/* The sovereign-scan settings (see scan_host.c and scan_rules.c). */
static int
parse_scan(struct agent_config *c, char *err, size_t errlen)
{
	static const char *const fwd[] = { "forbidden", "allowed", NULL };
	static const char *const pkgs[] = { "auto", "apt", "pacman", "none",
		NULL };
	const char		*v;
	char			 f[16];

	if (parse_choice("VAULTMESH_SCAN_FORWARDING", "forbidden", fwd,
		"forbidden or allowed", f, sizeof(f), err, errlen) == -1)
		return -1;
	c->scan_forwarding_allowed = strcmp(f, "allowed") == 0;
	if (env_str("VAULTMESH_SCAN_ALLOWED_PORTS", "22", 4096, &v, err,
		errlen) == -1)
		return -1;
	/* Unset or empty means the default; "none" allows no port. */
	if (strcmp(v, "none") != 0 &&
	    split_list("VAULTMESH_SCAN_ALLOWED_PORTS", v, 5, add_port, c, err,
		errlen) == -1)
		return -1;
	if (parse_abs_path("VAULTMESH_SCAN_RULES_DIR", "/etc/vaultmesh/scan.d",
		&c->scan_rules_dir, err, errlen) == -1 ||
	    parse_choice("VAULTMESH_SCAN_PACKAGES", "auto", pkgs,
		"auto, apt, pacman or none", c->scan_packages,
		sizeof(c->scan_packages), err, errlen) == -1 ||
	    parse_abs_path("VAULTMESH_SCAN_APT", "/usr/bin/apt-get",
		&c->scan_apt, err, errlen) == -1 ||
	    parse_abs_path("VAULTMESH_SCAN_PACMAN", "/usr/bin/pacman",
		&c->scan_pacman, err, errlen) == -1)
		return -1;
	return 0;
}

static int
parse_pubkey(struct agent_config *c, char *err, size_t errlen)
{
	const char *v;

	if (env_str("VAULTMESH_CC_PUBKEY", NULL, 128, &v, err, errlen) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (b64_decode(v, c->cc_pubkey, sizeof(c->cc_pubkey)) != 32) {
		snprintf(err, errlen,
		    "VAULTMESH_CC_PUBKEY: must be a base64 "
		    "Ed25519 public key (32 bytes)");
		return -1;
	}
	c->have_cc_pubkey = 1;
	return 0;
}

/* A header value: visible ASCII only, so nothing can end the header. */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

/* Cloudflare Access service token (both or neither). */
static int
parse_access(struct agent_config *c, char *err, size_t errlen)
{
	const char *id, *secret;

	if (env_str("VAULTMESH_CF_ACCESS_CLIENT_ID", NULL, 256, &id, err,
		errlen) == -1 ||
	    env_str("VAULTMESH_CF_ACCESS_CLIENT_SECRET", NULL, 256, &secret,
		err, errlen) == -1)
		return -1;
	if ((id == NULL) != (secret == NULL)) {
		snprintf(err, errlen,
		    "%s: set VAULTMESH_CF_ACCESS_CLIENT_ID and "
		    "VAULTMESH_CF_ACCESS_CLIENT_SECRET together",
		    id ? "VAULTMESH_CF_ACCESS_CLIENT_SECRET" :
			 "VAULTMESH_CF_ACCESS_CLIENT_ID");
		return -1;
	}
	if (id == NULL)
		return 0;
	if (!header_safe(id) || !header_safe(secret)) {
		snprintf(err, errlen,
		    "%s: must be visible ASCII without spaces",
		    !header_safe(id) ? "VAULTMESH_CF_ACCESS_CLIENT_ID" :
				       "VAULTMESH_CF_ACCESS_CLIENT_SECRET");
		return -1;
	}
	if ((c->cf_access_id = strdup(id)) == NULL ||
	    (c->cf_access_secret = strdup(secret)) == NULL) {
		snprintf(err, errlen,
		    "VAULTMESH_CF_ACCESS_CLIENT_ID: out of memory");
		return -1;
	}
	return 0;
}

int
config_load(struct agent_config *c, char *err, size_t errlen)
{
	const char *v;
	int	    rc = -1;

	memset(c, 0, sizeof(*c));
	if (env_str("VAULTMESH_LOG", "info", 16, &v, err, errlen) == -1)
		goto out;
	if (log_set_level(v) == -1) {
		snprintf(err, errlen,
		    "VAULTMESH_LOG: must be error, warn, info "
		    "or debug, got \"%.20s\"",
		    v);
		goto out;
	}
	snprintf(c->log_level, sizeof(c->log_level), "%s", v);
	if (parse_url(c, err, errlen) == -1 ||
	    parse_profile(c, err, errlen) == -1 ||
	    parse_path("VAULTMESH_ROOT", "/var/lib/vaultmesh", &c->root, err,
		errlen) == -1 ||
	    env_long("VAULTMESH_HEARTBEAT_SECS", 30, 1, 86400,
		&c->heartbeat_secs, err, errlen) == -1 ||
	    env_long("VAULTMESH_BACKOFF_MAX_SECS", 60, 1, 3600,
		&c->backoff_max_secs, err, errlen) == -1 ||
	    parse_pubkey(c, err, errlen) == -1 ||
	    parse_path("VAULTMESH_SCAN_ROOT", "/", &c->scan_root, err,
		errlen) == -1 ||
	    parse_scan(c, err, errlen) == -1)
		goto out;
	if (env_str("VAULTMESH_ENROLL_SECRET", NULL, AGENT_SECRET_MAX, &v, err,
		errlen) == -1)
		goto out;
	if (v != NULL && (c->enroll_secret = strdup(v)) == NULL) {
		snprintf(err, errlen, "VAULTMESH_ENROLL_SECRET: out of memory");
		goto out;
	}
	if (parse_access(c, err, errlen) == -1 ||
	    parse_tls(c, err, errlen) == -1)
		goto out;
	if (env_str("VAULTMESH_SERVICES", "", 64 * 1024, &v, err, errlen) ==
		-1 ||
	    split_list("VAULTMESH_SERVICES", v, CMD_UNIT_MAX, add_service, c,
		err, errlen) == -1)
		goto out;
	if (env_str("VAULTMESH_CLOUDFLARED_METRICS", DEFAULT_METRICS, 4096, &v,
		err, errlen) == -1 ||
	    split_list("VAULTMESH_CLOUDFLARED_METRICS", v, 300, add_metric, c,
		err, errlen) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		config_free(c);
	return rc;
}

void
config_free(struct agent_config *c)
{
	if (c == NULL)
		return;
	free(c->cc_url);
	free(c->root);
	free(c->scan_root);
	free(c->scan_rules_dir);
	free(c->scan_apt);
	free(c->scan_pacman);
	free(c->ca_file);
	free(c->ca_path);
	if (c->enroll_secret != NULL) {
		sodium_memzero(c->enroll_secret, strlen(c->enroll_secret));
		free(c->enroll_secret);
	}
	free(c->cf_access_id);
	if (c->cf_access_secret != NULL) {
		sodium_memzero(c->cf_access_secret,
		    strlen(c->cf_access_secret));
		free(c->cf_access_secret);
	}
	for (size_t i = 0; i < c->nservices; i++)
		free(c->services[i]);
	for (size_t i = 0; i < c->nmetrics; i++)
		free(c->metrics[i]);
	sodium_memzero(c, sizeof(*c));
}

int
config_has_service(const struct agent_config *c, const char *unit)
{
	for (size_t i = 0; i < c->nservices; i++)
		if (strcmp(c->services[i], unit) == 0)
			return 1;
	return 0;
}

void
config_scrub_env(void)
{
	static const char *const secrets[] = { "VAULTMESH_ENROLL_SECRET",
		"VAULTMESH_CF_ACCESS_CLIENT_SECRET" };

	/* Wipe the bytes in place so /proc/<pid>/environ no longer shows them. */
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		char *v = getenv(secrets[i]);

		if (v != NULL)
			sodium_memzero(v, strlen(v));
		unsetenv(secrets[i]);
	}
}

void
config_usage(FILE *f)
{
	fputs(
	    "usage: " AGENT_PROG " [--help | --version]\n"
	    "       " AGENT_PROG
	    " --pin <base64 key>   pin the command center's key\n"
	    "\n"
	    "The VaultMesh node agent: enrolls with the command center, sends\n"
	    "heartbeats, and runs the signed commands it verifies.\n"
	    "Configuration comes from the environment:\n\n"
	    "  VAULTMESH_CC_URL               command center URL (http://127.0.0.1:8088);\n"
	    "                                 http:// only to the loopback, else https://\n"
	    "  VAULTMESH_INSECURE_HTTP_LAB    1 allows http:// to another host: labs only,\n"
	    "                                 secrets then travel in clear text (unset)\n"
	    "  VAULTMESH_OS_PROFILE           OS profile, 1-64 of [A-Za-z0-9._-] (generic)\n"
	    "  VAULTMESH_ROOT                 state directory, created 0700\n"
	    "                                 (/var/lib/vaultmesh)\n"
	    "  VAULTMESH_HEARTBEAT_SECS       seconds between heartbeats, 1-86400 (30)\n"
	    "  VAULTMESH_ENROLL_SECRET        enroll secret for immediate approval (unset)\n"
	    "  VAULTMESH_CF_ACCESS_CLIENT_ID, VAULTMESH_CF_ACCESS_CLIENT_SECRET\n"
	    "                                 Cloudflare Access service token sent on every\n"
	    "                                 request (both or neither)\n"
	    "  VAULTMESH_SERVICES             comma list of systemd units to watch and\n"
	    "                                 allow service-restart on, at most 32 ()\n"
	    "  VAULTMESH_LOG                  error, warn, info or debug (info)\n"
	    "  VAULTMESH_BACKOFF_MAX_SECS     cap of the retry backoff, 1-3600 (60)\n"
	    "  VAULTMESH_CLOUDFLARED_METRICS  comma list of host:port whose /ready tells\n"
	    "                                 cloudflared's state, believed only from a\n"
	    "                                 socket of cloudflared.service's user\n"
	    "                                 (127.0.0.1:20241 ... 127.0.0.1:20245)\n"
	    "  VAULTMESH_CC_PUBKEY            base64 Ed25519 key that verifies commands,\n"
	    "                                 instead of the one pinned at enrollment\n"
	    "                                 (set it before the first start to trust no\n"
	    "                                 key from the network)\n"
	    "  VAULTMESH_SCAN_ROOT            prefix of the system files sovereign-scan\n"
	    "                                 reads (/)\n"
	    "  VAULTMESH_SCAN_FORWARDING      forbidden or allowed: whether IP forwarding\n"
	    "                                 is a finding (forbidden)\n"
	    "  VAULTMESH_SCAN_ALLOWED_PORTS   comma list of TCP ports that may listen on\n"
	    "                                 all interfaces, or none (22)\n"
	    "  VAULTMESH_SCAN_RULES_DIR       folder of *.json scan rules, under the scan\n"
	    "                                 root (/etc/vaultmesh/scan.d)\n"
	    "  VAULTMESH_SCAN_PACKAGES        auto, apt, pacman or none: which package\n"
	    "                                 manager to ask for pending upgrades (auto)\n"
	    "  VAULTMESH_SCAN_APT             apt-get program (/usr/bin/apt-get)\n"
	    "  VAULTMESH_SCAN_PACMAN          pacman program (/usr/bin/pacman)\n"
	    "  VAULTMESH_CA_FILE              PEM file of the CAs that verify an https CC\n"
	    "  VAULTMESH_CA_PATH              or a directory of them hashed by openssl\n"
	    "                                 rehash (/etc/ssl/certs when hashed, else\n"
	    "                                 libcurl's default)\n\n"
	    "Files in VAULTMESH_ROOT: node_id, node_token, cc_ed25519.pub (the command\n"
	    "center key pinned at first enrollment; delete it to pin a new one),\n"
	    "last_seq, spool/ (results not yet acknowledged).\n"
	    "Signals: SIGTERM/SIGINT stop; SIGHUP enrolls again after revocation.\n"
	    "Invalid configuration exits with status 2.\n",
	    f);
}
