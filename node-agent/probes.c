/*
 * Host facts for the heartbeat: the only file that uses sd-bus.
 *
 * Facts we cannot read are "unknown" (services, cloudflare) or null
 * (numbers from /proc), never invented. The parsers take text so the unit
 * tests can feed them /proc-style samples.
 */
#include <sys/statvfs.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "agent.h"
#include "log.h"

#define SD_DEST		"org.freedesktop.systemd1"
#define SD_UNIT_PREFIX	"/org/freedesktop/systemd1/unit"
#define SD_UNIT_IFACE	"org.freedesktop.systemd1.Unit"
#define SD_MANAGER	"/org/freedesktop/systemd1"
#define SD_MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define BUS_TIMEOUT_US	(2 * 1000 * 1000)
#define CF_UNIT		"cloudflared.service"

struct probes {
	sd_bus	*bus;
	int	 bus_err;	/* last open error, logged once per change */
};

struct probes *
probes_new(void)
{
	return calloc(1, sizeof(struct probes));
}

void
probes_free(struct probes *p)
{
	if (p == NULL)
		return;
	if (p->bus != NULL)
		sd_bus_flush_close_unref(p->bus);
	free(p);
}

/* Opens the system bus if needed; 0, or a negative errno. */
static int
bus_get(struct probes *p)
{
	int r;

	if (p->bus != NULL && sd_bus_is_open(p->bus) > 0)
		return 0;
	if (p->bus != NULL)
		p->bus = sd_bus_flush_close_unref(p->bus);
	if ((r = sd_bus_open_system(&p->bus)) < 0) {
		p->bus = NULL;
		if (r != p->bus_err)
			log_debug("system_bus", "state=unavailable error=\"%s\"",
			    strerror(-r));
		p->bus_err = r;
		return r;
	}
	p->bus_err = 0;
	(void)sd_bus_set_method_call_timeout(p->bus, BUS_TIMEOUT_US);
	return 0;
}

/* Copies a systemd-provided word, keeping only [A-Za-z0-9._-]. */
static void
copy_word(char *out, size_t n, const char *s)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < n; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		    *s == '_' || *s == '/')
			out[i++] = *s;
	out[i] = '\0';
}

int
probes_unit_prop(struct probes *p, const char *unit, const char *prop,
    char *out, size_t n, char *err, size_t errlen)
{
	sd_bus_error	 e = SD_BUS_ERROR_NULL;
	char		*path = NULL, *val = NULL;
	int		 r, rc = -1;

	if (!cmd_unit_valid(unit)) {
		snprintf(err, errlen, "invalid unit name");
		goto out;
	}
	if ((r = bus_get(p)) < 0) {
		snprintf(err, errlen, "no system bus: %s", strerror(-r));
		goto out;
	}
	if ((r = sd_bus_path_encode(SD_UNIT_PREFIX, unit, &path)) < 0) {
		snprintf(err, errlen, "cannot encode unit path: %s",
		    strerror(-r));
		goto out;
	}
	if ((r = sd_bus_get_property_string(p->bus, SD_DEST, path,
	    SD_UNIT_IFACE, prop, &e, &val)) < 0) {
		snprintf(err, errlen, "%s: %s", prop,
		    e.message != NULL ? e.message : strerror(-r));
		/* A broken connection is reopened on the next call. */
		if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
			p->bus = sd_bus_flush_close_unref(p->bus);
		goto out;
	}
	copy_word(out, n, val);
	rc = 0;
out:
	sd_bus_error_free(&e);
	free(path);
	free(val);
	return rc;
}

int
probes_unit_restart(struct probes *p, const char *unit, char *out, size_t n,
    char *err, size_t errlen)
{
	sd_bus_error	 e = SD_BUS_ERROR_NULL;
	sd_bus_message	*reply = NULL;
	const char	*job = NULL;
	int		 r, rc = -1;

	if (!cmd_unit_valid(unit)) {
		snprintf(err, errlen, "invalid unit name");
		goto out;
	}
	if ((r = bus_get(p)) < 0) {
		snprintf(err, errlen, "no system bus: %s", strerror(-r));
		goto out;
	}
	if ((r = sd_bus_call_method(p->bus, SD_DEST, SD_MANAGER,
	    SD_MANAGER_IFACE, "RestartUnit", &e, &reply, "ss", unit,
	    "replace")) < 0) {
		snprintf(err, errlen, "RestartUnit: %s",
		    e.message != NULL ? e.message : strerror(-r));
		goto out;
	}
	if (sd_bus_message_read(reply, "o", &job) < 0)
		job = "";
	copy_word(out, n, job);
	rc = 0;
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return rc;
}

/* The value in kB of "Key:   123 kB" in meminfo text; -1 if absent. */
static long long
meminfo_kb(const char *text, const char *key)
{
	size_t		 klen = strlen(key);
	const char	*s = text;
	char		*end;
	long long	 v;

	while (s != NULL && *s != '\0') {
		if (strncmp(s, key, klen) == 0 && s[klen] == ':') {
			errno = 0;
			v = strtoll(s + klen + 1, &end, 10);
			if (errno != 0 || end == s + klen + 1 || v < 0)
				return -1;
			return v;
		}
		if ((s = strchr(s, '\n')) != NULL)
			s++;
	}
	return -1;
}

int
probe_parse_meminfo(const char *text, double *used_pct)
{
	long long	total, avail, fr, bu, ca;

	if ((total = meminfo_kb(text, "MemTotal")) <= 0)
		return -1;
	if ((avail = meminfo_kb(text, "MemAvailable")) < 0) {
		/* Kernels before 3.14 have no MemAvailable. */
		if ((fr = meminfo_kb(text, "MemFree")) < 0 ||
		    (bu = meminfo_kb(text, "Buffers")) < 0 ||
		    (ca = meminfo_kb(text, "Cached")) < 0)
			return -1;
		avail = fr + bu + ca;
	}
	if (avail > total)
		avail = total;
	*used_pct = (double)(total - avail) * 100.0 / (double)total;
	return 0;
}

int
probe_parse_uptime(const char *text, int64_t *secs)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || (*end != ' ' && *end != '\n' &&
	    *end != '\0') || !isfinite(v) || v < 0 || v > 1e12)
		return -1;
	*secs = (int64_t)v;
	return 0;
}

int
probe_parse_loadavg(const char *text, double *load1)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || (*end != ' ' && *end != '\n' &&
	    *end != '\0') || !isfinite(v) || v < 0 || v > 1e9)
		return -1;
	*load1 = v;
	return 0;
}

int
probe_disk_used_pct(const char *path, double *pct)
{
	struct statvfs	 sv;
	double		 used, avail;

	if (statvfs(path, &sv) == -1 || sv.f_blocks == 0)
		return -1;
	/* As df(1): used / (used + available to unprivileged users). */
	used = (double)(sv.f_blocks - sv.f_bfree);
	avail = (double)sv.f_bavail;
	if (used + avail <= 0)
		return -1;
	*pct = used * 100.0 / (used + avail);
	if (*pct > 100.0)
		*pct = 100.0;
	return 0;
}

void
probe_hostname(char *out, size_t n)
{
	if (gethostname(out, n) == -1 || out[0] == '\0') {
		snprintf(out, n, "unknown");
		return;
	}
	out[n - 1] = '\0';
}

/*
 * "up" when any metrics address answers GET /ready with 200; else "down"
 * when one answered otherwise, or when cloudflared.service is loaded and
 * inactive or failed; "up" when nothing answered but the unit is active (its
 * metrics server may be off); "unknown" when we learned nothing.
 */
const char *
probe_cloudflare(struct probes *p, struct client *c,
    const struct agent_config *cfg)
{
	struct http_resp rs;
	char		 url[512], err[256], load[AGENT_STATE_LEN];
	char		 active[AGENT_STATE_LEN];
	int		 answered_bad = 0;

	for (size_t i = 0; i < cfg->nmetrics; i++) {
		struct http_req rq = { .method = "GET", .url = url,
		    .timeout_ms = 1000 };
		enum client_rc	rc;

		snprintf(url, sizeof(url), "http://%s/ready", cfg->metrics[i]);
		rc = client_request(c, &rq, &rs, err, sizeof(err));
		if (rc == CLIENT_STOPPED)
			return "unknown";
		if (rc != CLIENT_OK)
			continue;
		http_resp_free(&rs);
		if (rs.status == 200)
			return "up";
		answered_bad = 1;
	}
	if (answered_bad)
		return "down";
	if (probes_unit_prop(p, CF_UNIT, "LoadState", load, sizeof(load), err,
	    sizeof(err)) == -1 || strcmp(load, "loaded") != 0 ||
	    probes_unit_prop(p, CF_UNIT, "ActiveState", active, sizeof(active),
	    err, sizeof(err)) == -1)
		return "unknown";
	if (strcmp(active, "inactive") == 0 || strcmp(active, "failed") == 0)
		return "down";
	if (strcmp(active, "active") == 0)
		return "up";
	return "unknown";
}

static json_t *
read_proc_number(const char *path, int kind)
{
	char	*text;
	json_t	*v = NULL;
	double	 d;
	int64_t	 i;

	if ((text = file_read(path, 64 * 1024, NULL)) == NULL) {
		log_debug("probe_failed", "path=%s error=\"%s\"", path,
		    strerror(errno));
		return json_null();
	}
	if (kind == 0 && probe_parse_uptime(text, &i) == 0)
		v = json_integer(i);
	else if (kind == 1 && probe_parse_loadavg(text, &d) == 0)
		v = json_real(d);
	else if (kind == 2 && probe_parse_meminfo(text, &d) == 0)
		v = json_real(round(d * 10) / 10);
	free(text);
	return v != NULL ? v : json_null();
}

json_t *
probes_heartbeat(struct probes *p, struct client *c,
    const struct agent_config *cfg, const char *node_id)
{
	char		 host[256], sent[32], state[AGENT_STATE_LEN], err[256];
	json_t		*hb = NULL, *svcs = NULL, *disk;
	double		 pct;

	probe_hostname(host, sizeof(host));
	if ((svcs = json_array()) == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->nservices; i++) {
		if (probes_unit_prop(p, cfg->services[i], "ActiveState", state,
		    sizeof(state), err, sizeof(err)) == -1 || state[0] == '\0')
			snprintf(state, sizeof(state), "unknown");
		if (json_array_append_new(svcs, json_pack("{s:s,s:s}", "name",
		    cfg->services[i], "state", state)) == -1)
			goto fail;
	}
	disk = probe_disk_used_pct(cfg->root, &pct) == 0 ?
	    json_real(round(pct * 10) / 10) : json_null();
	time_rfc3339(time(NULL), sent);
	hb = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:o,s:s}",
	    "node_id", node_id,
	    "hostname", host,
	    "os_profile", cfg->os_profile,
	    "agent_version", VM_VERSION,
	    "uptime_secs", read_proc_number("/proc/uptime", 0),
	    "load1", read_proc_number("/proc/loadavg", 1),
	    "mem_used_pct", read_proc_number("/proc/meminfo", 2),
	    "root_disk_used_pct", disk,
	    "cloudflare", probe_cloudflare(p, c, cfg),
	    "services", svcs,
	    "sent_at", sent);
	return hb;
fail:
	json_decref(svcs);
	return NULL;
}
