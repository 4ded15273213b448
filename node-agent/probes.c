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

#include "client.h"
#include "command.h"
#include "config.h"
#include "defs.h"
#include "log.h"
#include "probes.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"
#define SD_UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define SD_MANAGER "/org/freedesktop/systemd1"
#define SD_MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define BUS_TIMEOUT_US (2 * 1000 * 1000)
#define CF_UNIT "cloudflared.service"

#define SD_SERVICE_IFACE "org.freedesktop.systemd1.Service"
#define CF_LISTENERS_MAX 16 /* listening sockets on the metrics ports */

struct probes {
	sd_bus	     *bus;
	int	      bus_err; /* last open error, logged once per change */
	probe_unit_fn cf_fn;   /* NULL: systemd */
	void	     *cf_arg;
	const char   *proc;	      /* "/proc", or a test's tree */
	unsigned      cf_warned_port; /* foreign listener last warned about */
	unsigned long cf_warned_uid;
};

struct probes *
probes_new(void)
{
	struct probes *p;

	if ((p = calloc(1, sizeof(*p))) != NULL)
		p->proc = "/proc";
	return p;
}

void
probes_set_cf_source(struct probes *p, probe_unit_fn fn, void *arg,
    const char *proc)
{
	p->cf_fn = fn;
	p->cf_arg = arg;
	p->proc = proc != NULL ? proc : "/proc";
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
			log_debug("system_bus",
			    "state=unavailable error=\"%s\"", strerror(-r));
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

/* The system bus for a call about unit (its name checked): 0 or -1. */
static int
unit_bus(struct probes *p, const char *unit, char *err, size_t errlen)
{
	int r;

	if (!cmd_unit_valid(unit)) {
		snprintf(err, errlen, "invalid unit name");
		return -1;
	}
	if ((r = bus_get(p)) < 0) {
		snprintf(err, errlen, "no system bus: %s", strerror(-r));
		return -1;
	}
	return 0;
}

int
probes_unit_prop(struct probes *p, const char *unit, const char *prop,
    char *out, size_t n, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char	    *path = NULL, *val = NULL;
	int	     r, rc = -1;

	if (unit_bus(p, unit, err, errlen) == -1)
		goto out;
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
	sd_bus_error	e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char     *job = NULL;
	int		r, rc = -1;

	if (unit_bus(p, unit, err, errlen) == -1)
		goto out;
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
	size_t	    klen = strlen(key);
	const char *s = text;
	char	   *end;
	long long   v;

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
	long long total, avail, fr, bu, ca;

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

/* The number at the start of text, ended by a space, a newline or the end. */
static int
first_number(const char *text, double max, double *out)
{
	char  *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text ||
	    (*end != ' ' && *end != '\n' && *end != '\0') || !isfinite(v) ||
	    v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int
probe_parse_uptime(const char *text, int64_t *secs)
{
	double v;

	if (first_number(text, 1e12, &v) == -1)
		return -1;
	*secs = (int64_t)v;
	return 0;
}

int
probe_parse_loadavg(const char *text, double *load1)
{
	return first_number(text, 1e9, load1);
}

int
probe_disk_used_pct(const char *path, double *pct)
{
	struct statvfs sv;
	double	       used, avail;

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

/* MainPID of unit (Service interface) as decimal text into out. */
static int
unit_main_pid(struct probes *p, const char *unit, char *out, size_t n)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char	    *path = NULL;
	uint32_t     pid = 0;
	int	     r, rc = -1;

	if (bus_get(p) < 0 ||
	    sd_bus_path_encode(SD_UNIT_PREFIX, unit, &path) < 0)
		goto out;
	if ((r = sd_bus_get_property_trivial(p->bus, SD_DEST, path,
		 SD_SERVICE_IFACE, "MainPID", &e, 'u', &pid)) < 0) {
		log_debug("probe_failed", "unit=%s prop=MainPID error=\"%s\"",
		    unit, e.message != NULL ? e.message : strerror(-r));
		goto out;
	}
	snprintf(out, n, "%u", pid);
	rc = 0;
out:
	sd_bus_error_free(&e);
	free(path);
	return rc;
}

/* What systemd says about cloudflared.service (or a test's stand-in). */
static int
cf_prop(struct probes *p, const char *prop, char *out, size_t n)
{
	char err[256];

	if (p->cf_fn != NULL)
		return p->cf_fn(p->cf_arg, prop, out, n);
	if (strcmp(prop, "MainPID") == 0)
		return unit_main_pid(p, CF_UNIT, out, n);
	return probes_unit_prop(p, CF_UNIT, prop, out, n, err, sizeof(err));
}

/* Skips spaces, then reads a number in base into *v; 0 or -1. */
static int
tcp_field(const char **s, int base, unsigned long *v)
{
	char *end;

	while (**s == ' ')
		(*s)++;
	if (!((**s >= '0' && **s <= '9') || (**s >= 'A' && **s <= 'F') ||
		(**s >= 'a' && **s <= 'f')))
		return -1;
	errno = 0;
	*v = strtoul(*s, &end, base);
	if (errno != 0 || end == *s)
		return -1;
	*s = end;
	return 0;
}

/* Skips one field (non-spaces) after spaces; 0, or -1 at the end. */
static int
tcp_skip(const char **s)
{
	while (**s == ' ')
		(*s)++;
	if (**s == '\0' || **s == '\n')
		return -1;
	while (**s != ' ' && **s != '\0' && **s != '\n')
		(*s)++;
	return 0;
}

int
probe_parse_tcp_line(const char *line, struct tcp_listener *l)
{
	const char   *s = line, *colon;
	unsigned long port, st, uid, inode, skip;
	int	      rc = 0;

	/*
	 * "  0: 0100007F:4E61 00000000:0000 0A 00000000:00000000 00:00000000
	 *  00000000  998  0 12345 1 ..." (tcp6: 32 hex digits per address):
	 * sl, local address:port, remote, state (0A is LISTEN), tx:rx,
	 * timer:when, retransmits, uid, timeout, inode.
	 */
	if (tcp_field(&s, 10, &skip) == -1 || *s++ != ':')
		goto out;
	while (*s == ' ')
		s++;
	if ((colon = strchr(s, ':')) == NULL ||
	    (colon - s != 8 && colon - s != 32) ||
	    strspn(s, "0123456789ABCDEFabcdef") != (size_t)(colon - s))
		goto out;
	s = colon + 1;
	if (tcp_field(&s, 16, &port) == -1 || port == 0 || port > 65535 ||
	    tcp_skip(&s) == -1 || tcp_field(&s, 16, &st) == -1 || st != 0x0a ||
	    tcp_skip(&s) == -1 || tcp_skip(&s) == -1 || tcp_skip(&s) == -1 ||
	    tcp_field(&s, 10, &uid) == -1 || tcp_skip(&s) == -1 ||
	    tcp_field(&s, 10, &inode) == -1 || inode == 0)
		goto out;
	l->port = (unsigned)port;
	l->uid = uid;
	l->inode = inode;
	rc = 1;
out:
	return rc;
}

struct cf_listeners {
	struct tcp_listener l[CF_LISTENERS_MAX];
	size_t		    n;
	int		    overflow; /* more than fit: trust none */
};

/*
 * The listening sockets on any of ports (nports of them), from
 * <proc>/net/tcp and tcp6 (absent without IPv6). Read a line at a time:
 * on a busy host the files are large, and only LISTEN lines matter.
 * 0, or -1 when the table cannot be read (nothing can be believed).
 */
static int
read_listeners(const char *proc, const unsigned *ports, size_t nports,
    struct cf_listeners *out)
{
	FILE		   *f = NULL;
	char		    path[AGENT_PATH_MAX], line[512];
	struct tcp_listener l;
	int		    rc = -1;

	memset(out, 0, sizeof(*out));
	for (int v6 = 0; v6 < 2; v6++) {
		snprintf(path, sizeof(path), "%s/net/%s", proc,
		    v6 ? "tcp6" : "tcp");
		if ((f = fopen(path, "re")) == NULL) {
			if (v6 && errno == ENOENT)
				continue;
			log_debug("probe_failed", "path=%s error=\"%s\"", path,
			    strerror(errno));
			goto out;
		}
		while (fgets(line, sizeof(line), f) != NULL) {
			int whole = strchr(line, '\n') != NULL;

			/* A longer line than any kernel writes: skip it. */
			if (!whole) {
				int ch;

				while ((ch = fgetc(f)) != EOF && ch != '\n')
					;
				continue;
			}
			if (!probe_parse_tcp_line(line, &l))
				continue;
			for (size_t i = 0; i < nports; i++) {
				if (ports[i] != l.port)
					continue;
				if (out->n == CF_LISTENERS_MAX)
					out->overflow = 1;
				else
					out->l[out->n++] = l;
				break;
			}
		}
		if (ferror(f))
			goto out;
		fclose(f);
		f = NULL;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

/*
 * The fsuid of process pid (decimal text) from <proc>/<pid>/status, the
 * uid a socket records when the process creates it. 0 or -1.
 */
static int
process_uid(const char *proc, const char *pid, unsigned long *uid)
{
	char	      path[AGENT_PATH_MAX], *text = NULL, *end;
	const char   *s;
	unsigned long v;
	int	      rc = -1;

	errno = 0;
	v = strtoul(pid, &end, 10);
	if (errno != 0 || end == pid || *end != '\0' || v == 0)
		goto out; /* MainPID 0: no main process to vouch */
	snprintf(path, sizeof(path), "%s/%lu/status", proc, v);
	if ((text = file_read(path, 64 * 1024, NULL)) == NULL ||
	    (s = strstr(text, "\nUid:")) == NULL)
		goto out;
	/* "Uid:\treal\teffective\tsaved\tfs" */
	s += 5;
	for (int i = 0; i < 4; i++) {
		while (*s == '\t' || *s == ' ')
			s++;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno != 0 || end == s)
			goto out;
		s = end;
	}
	*uid = v;
	rc = 0;
out:
	free(text);
	return rc;
}

/*
 * 1 if port has at least one listening socket and every one of them was
 * created by uid: only then can the answer on that port be cloudflared's.
 * *foreign gets the uid of another listener, if any.
 */
static int
port_owned(const struct cf_listeners *ls, unsigned port, unsigned long uid,
    unsigned long *foreign, int *seen)
{
	int owned = 1;

	*seen = 0;
	if (ls->overflow)
		return 0;
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->l[i].port != port)
			continue;
		(*seen)++;
		if (ls->l[i].uid != uid) {
			*foreign = ls->l[i].uid;
			owned = 0;
		}
	}
	return owned && *seen > 0;
}

/* 1 if a and b hold the same sockets (inodes) on port. */
static int
same_sockets(const struct cf_listeners *a, const struct cf_listeners *b,
    unsigned port)
{
	size_t na = 0, nb = 0;

	for (size_t i = 0; i < b->n; i++)
		nb += b->l[i].port == port;
	for (size_t i = 0; i < a->n; i++) {
		size_t j;

		if (a->l[i].port != port)
			continue;
		na++;
		for (j = 0; j < b->n; j++)
			if (b->l[j].port == port &&
			    b->l[j].inode == a->l[i].inode)
				break;
		if (j == b->n)
			return 0;
	}
	return na == nb && !a->overflow && !b->overflow;
}

/* The port of a validated "host:port" (config.c checked it). */
static unsigned
metric_port(const char *hp)
{
	const char *colon = strrchr(hp, ':');

	return colon != NULL ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

/*
 * cloudflared's state. Any local user can listen on a free port among
 * 127.0.0.1:20241-20245 and answer /ready with 200, so an answer counts
 * only when it provably comes from cloudflared:
 *
 *   - systemd must have cloudflared.service loaded: without systemd, or
 *     with cloudflared run some other way, nothing can vouch for the
 *     socket, so the state is "unknown". Loaded but inactive or failed is
 *     "down"; only active (or reloading) goes on.
 *   - a metrics port is asked only when every socket listening on it
 *     (/proc/net/tcp and tcp6) was created by the user the unit's main
 *     process runs as (its fsuid in /proc/<MainPID>/status). Another user
 *     cannot create such a socket; root and cloudflared's own user could,
 *     but they can already stop or replace cloudflared.
 *   - the answer must come from that loopback port (not a proxy), and the
 *     same sockets (inodes) must still listen there afterwards, so the
 *     port cannot change hands during the request.
 *   - then 200 is "up" and any other status "down" (cloudflared says it
 *     has no edge connection). No believable answer is "unknown".
 *
 * An answer from somebody else is "unknown", not "down": a foreign
 * listener tells nothing about cloudflared, and "down" would let any local
 * user turn the node red at will. It is logged (once per port and user).
 * Cost per heartbeat with the unit active: three sd-bus properties, the
 * LISTEN lines of /proc/net/tcp{,6} read twice, one local HTTP request.
 */
const char *
probe_cloudflare(struct probes *p, struct client *c,
    const struct agent_config *cfg)
{
	struct cf_listeners before, after;
	struct http_resp    rs;
	char		    url[512], err[256], load[AGENT_STATE_LEN];
	char		    active[AGENT_STATE_LEN], pid[32];
	unsigned	    ports[AGENT_METRICS_MAX];
	unsigned long	    uid, foreign = 0;
	const char	   *state = "unknown";
	int		    seen;

	if (cf_prop(p, "LoadState", load, sizeof(load)) == -1 ||
	    strcmp(load, "loaded") != 0 ||
	    cf_prop(p, "ActiveState", active, sizeof(active)) == -1)
		goto out;
	if (strcmp(active, "inactive") == 0 || strcmp(active, "failed") == 0) {
		state = "down";
		goto out;
	}
	if ((strcmp(active, "active") != 0 &&
		strcmp(active, "reloading") != 0) ||
	    cf_prop(p, "MainPID", pid, sizeof(pid)) == -1 ||
	    process_uid(p->proc, pid, &uid) == -1)
		goto out;
	for (size_t i = 0; i < cfg->nmetrics; i++)
		ports[i] = metric_port(cfg->metrics[i]);
	if (read_listeners(p->proc, ports, cfg->nmetrics, &before) == -1)
		goto out;
	for (size_t i = 0; i < cfg->nmetrics; i++) {
		struct http_req rq = { .method = "GET",
			.url = url,
			.timeout_ms = 1000 };
		enum client_rc	rc;

		if (!port_owned(&before, ports[i], uid, &foreign, &seen)) {
			if (seen > 0 &&
			    (p->cf_warned_port != ports[i] ||
				p->cf_warned_uid != foreign)) {
				log_warn("cloudflared_metrics_foreign",
				    "port=%u listener_uid=%lu "
				    "cloudflared_uid=%lu msg=\"a process not "
				    "running as cloudflared's user listens on "
				    "a cloudflared metrics port: not asked\"",
				    ports[i], foreign, uid);
				p->cf_warned_port = ports[i];
				p->cf_warned_uid = foreign;
			}
			continue;
		}
		snprintf(url, sizeof(url), "http://%s/ready", cfg->metrics[i]);
		rc = client_request(c, &rq, &rs, err, sizeof(err));
		if (rc == CLIENT_STOPPED)
			goto out;
		if (rc != CLIENT_OK)
			continue;
		http_resp_free(&rs);
		if (rs.peer_port != (long)ports[i] ||
		    !host_is_loopback(rs.peer_ip) ||
		    read_listeners(p->proc, &ports[i], 1, &after) == -1 ||
		    !same_sockets(&before, &after, ports[i])) {
			log_debug("cloudflared_answer_dropped",
			    "port=%u "
			    "peer=%s:%ld msg=\"not provably cloudflared's "
			    "socket\"",
			    ports[i], rs.peer_ip, rs.peer_port);
			continue;
		}
		state = rs.status == 200 ? "up" : "down";
		goto out;
	}
out:
	return state;
}

static json_t *
read_proc_number(const char *path, int kind)
{
	char   *text;
	json_t *v = NULL;
	double	d;
	int64_t i;

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
	char	host[256], sent[32], state[AGENT_STATE_LEN], err[256];
	json_t *hb = NULL, *svcs = NULL, *disk;
	double	pct;

	probe_hostname(host, sizeof(host));
	if ((svcs = json_array()) == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->nservices; i++) {
		if (probes_unit_prop(p, cfg->services[i], "ActiveState", state,
			sizeof(state), err, sizeof(err)) == -1 ||
		    state[0] == '\0')
			snprintf(state, sizeof(state), "unknown");
		if (json_array_append_new(svcs,
			json_pack("{s:s,s:s}", "name", cfg->services[i],
			    "state", state)) == -1)
			goto fail;
	}
	disk = probe_disk_used_pct(cfg->root, &pct) == 0 ?
	    json_real(round(pct * 10) / 10) :
	    json_null();
	time_rfc3339(time(NULL), sent);
	hb = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:o,s:s}",
	    "node_id", node_id, "hostname", host, "os_profile", cfg->os_profile,
	    "agent_version", VM_VERSION, "uptime_secs",
	    read_proc_number("/proc/uptime", 0), "load1",
	    read_proc_number("/proc/loadavg", 1), "mem_used_pct",
	    read_proc_number("/proc/meminfo", 2), "root_disk_used_pct", disk,
	    "cloudflare", probe_cloudflare(p, c, cfg), "services", svcs,
	    "sent_at", sent);
	return hb;
fail:
	json_decref(svcs);
	return NULL;
}
