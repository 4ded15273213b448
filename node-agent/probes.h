/*
 * probes: host facts for the heartbeat (probes.c, the only file that uses
 * sd-bus).
 */
#ifndef VM_AGENT_PROBES_H
#define VM_AGENT_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "defs.h"

struct agent_config;
struct client;

struct probes;

/* A probe context; the system bus is opened lazily. NULL on OOM. */
struct probes *probes_new(void);
void	       probes_free(struct probes *p);
/*
 * Reads a string property of org.freedesktop.systemd1.Unit for unit into
 * out. 0, or -1 with err (no system bus, unknown property, ...).
 */
int probes_unit_prop(struct probes *p, const char *unit, const char *prop,
    char *out, size_t n, char *err, size_t errlen);
/* Asks systemd to restart unit ("replace"); the job path goes in out. */
int probes_unit_restart(struct probes *p, const char *unit, char *out, size_t n,
    char *err, size_t errlen);
/* Parsers over /proc text: 0, or -1 when the text does not fit. */
int probe_parse_meminfo(const char *text, double *used_pct);
int probe_parse_uptime(const char *text, int64_t *secs);
int probe_parse_loadavg(const char *text, double *load1);
/* Used percentage of the file system holding path. 0 or -1. */
int probe_disk_used_pct(const char *path, double *pct);
/*
 * "up", "down" or "unknown" (see probes.c for the rules): "up" only when
 * systemd runs cloudflared.service and a metrics port whose every listening
 * socket belongs to that service's user answers /ready with 200.
 */
const char *probe_cloudflare(struct probes *p, struct client *c,
    const struct agent_config *cfg);
/*
 * Where probe_cloudflare learns about cloudflared.service: a property
 * ("LoadState", "ActiveState", "MainPID" as decimal text) into out; 0, or
 * -1 when nobody can say (no systemd). The default asks systemd over
 * sd-bus; tests put their own here with probes_set_cf_source().
 */
typedef int (*probe_unit_fn)(void *arg, const char *prop, char *out, size_t n);
/*
 * Replaces the systemd questions with fn(arg, ...) (NULL: systemd again)
 * and "/proc" with proc (NULL: "/proc"; the string must outlive p).
 */
void probes_set_cf_source(struct probes *p, probe_unit_fn fn, void *arg,
    const char *proc);

/* One listening TCP socket, as /proc/net/tcp and tcp6 show it. */
struct tcp_listener {
	unsigned      port;
	unsigned long uid;   /* who created the socket */
	unsigned long inode; /* which socket it is */
};
/*
 * Parses one line of /proc/net/tcp or tcp6: 1 with l filled for a socket in
 * LISTEN state, 0 for any other line (the header, other states, garbage).
 */
int probe_parse_tcp_line(const char *line, struct tcp_listener *l);
/* The heartbeat body of CONTRACT.md (new reference), or NULL on OOM. */
json_t *probes_heartbeat(struct probes *p, struct client *c,
    const struct agent_config *cfg, const char *node_id);
/* gethostname() into out, "unknown" if that fails. */
void probe_hostname(char *out, size_t n);

#endif
