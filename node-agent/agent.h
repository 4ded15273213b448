/*
 * The node agent's private header: one section per file.
 * Only client.c includes curl.h; only probes.c uses sd-bus.
 *
 * Threads (see main.c): the main thread waits for signals; the heartbeat
 * thread (heartbeat.c) enrolls, sends heartbeats and flushes the result
 * spool; the poll thread (commands.c) keeps one long poll open and runs
 * the commands it receives, one at a time.
 */
#ifndef VM_AGENT_H
#define VM_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "command.h"
#include "util.h"

#define AGENT_PROG		"vaultmesh-node-agent"
#define AGENT_BODY_MAX		(1024 * 1024)	/* any answer from the network */
#define AGENT_TOKEN_MAX		512
#define AGENT_SERVICES_MAX	32
#define AGENT_METRICS_MAX	16
#define AGENT_PROFILE_MAX	64
#define AGENT_PATH_MAX		1024
#define AGENT_SECRET_MAX	256
#define AGENT_POLL_WAIT		30		/* seconds of long poll */
#define AGENT_STATE_LEN		32		/* systemd ActiveState etc. */
#define AGENT_SCAN_PORTS_MAX	64
#define AGENT_ENROLL_KEY_LEN	43		/* 32 bytes, base64url, no '=' */
#define AGENT_WD_GRACE_MS	60000		/* beyond what a thread announced */

/* The threads the watchdog watches (agent_watch_thread). */
enum agent_wd_slot { AGENT_WD_HEARTBEAT, AGENT_WD_POLL, AGENT_WD_SLOTS };

/* ---- config.c: configuration from the environment ------------------ */

struct agent_config {
	char		*cc_url;		/* no trailing '/' */
	char		 os_profile[AGENT_PROFILE_MAX + 1];
	char		*root;
	long		 heartbeat_secs;
	char		*enroll_secret;		/* NULL when unset; wiped */
	char		*cf_access_id;		/* Access service token, or NULL */
	char		*cf_access_secret;	/* wiped */
	char		*services[AGENT_SERVICES_MAX];
	size_t		 nservices;
	char		 log_level[8];
	long		 backoff_max_secs;
	char		*metrics[AGENT_METRICS_MAX];	/* "host:port" */
	size_t		 nmetrics;
	unsigned char	 cc_pubkey[32];		/* VAULTMESH_CC_PUBKEY */
	int		 have_cc_pubkey;
	char		*scan_root;		/* VAULTMESH_SCAN_ROOT */
	int		 scan_forwarding_allowed; /* VAULTMESH_SCAN_FORWARDING */
	uint16_t	 scan_ports[AGENT_SCAN_PORTS_MAX]; /* ..._ALLOWED_PORTS */
	size_t		 nscan_ports;
	char		*scan_rules_dir;	/* VAULTMESH_SCAN_RULES_DIR */
	char		 scan_packages[8];	/* auto, apt, pacman, none */
	char		*scan_apt;		/* VAULTMESH_SCAN_APT */
	char		*scan_pacman;		/* VAULTMESH_SCAN_PACMAN */
	char		*ca_file;		/* VAULTMESH_CA_FILE, or NULL */
	char		*ca_path;		/* VAULTMESH_CA_PATH, or NULL */
	/*
	 * 1 when VAULTMESH_INSECURE_HTTP_LAB=1 let a plain http:// URL to a
	 * host other than the loopback through (main warns at start).
	 */
	int		 insecure_http;
};

/*
 * Fills c from the environment (and sets the log level). 0, or -1 with one
 * line "NAME: what is wrong" in err; c is then already freed.
 */
int	 config_load(struct agent_config *c, char *err, size_t errlen);
/* Frees what config_load allocated and wipes the secret; NULL is fine. */
void	 config_free(struct agent_config *c);
/* Writes --help text to f. */
void	 config_usage(FILE *f);
/* 1 if unit is one of VAULTMESH_SERVICES. */
int	 config_has_service(const struct agent_config *c, const char *unit);
/* Removes VAULTMESH_ENROLL_SECRET from the environment, wiping its bytes. */
void	 config_scrub_env(void);
/*
 * 1 if host is the loopback: "localhost" (any case), an IPv4 address in
 * 127.0.0.0/8, or ::1 or ::ffff:127.x.y.z (with or without brackets).
 * Names other than localhost are not resolved: 0.
 */
int	 host_is_loopback(const char *host);

/* ---- state.c: files under VAULTMESH_ROOT ---------------------------- */

/*
 * Creates root (0700, parents too) and root/spool, and removes leftover
 * temporary files. 0, or -1 with one line in err.
 */
int	 state_prepare(const char *root, char *err, size_t errlen);
/* Loads root/node_id, creating a new UUID v4 there if missing. 0 or -1. */
int	 state_node_id(const char *root, char out[UUID_STRLEN + 1],
	    char *err, size_t errlen);
/*
 * Loads root/enroll_key (AGENT_ENROLL_KEY_LEN characters of base64url, the
 * secret this agent proves itself with when enrolling), creating 32 random
 * bytes there if missing. 0, or -1 with one line in err (out is then not
 * a key). The caller wipes out.
 */
int	 state_enroll_key(const char *root, char out[AGENT_ENROLL_KEY_LEN + 1],
	    char *err, size_t errlen);
/*
 * Loads root/node_token into out (size n, wiped by the caller): 1 loaded,
 * 0 absent, -1 unreadable or invalid.
 */
int	 state_load_token(const char *root, char *out, size_t n);
/* Persists the token (0600, atomic). 0 or -1 with errno. */
int	 state_save_token(const char *root, const char *token);
/* Loads the pinned CC key: 1 loaded, 0 absent, -1 invalid. */
int	 state_load_pubkey(const char *root, unsigned char pk[32]);
/* Pins pk (base64 in root/cc_ed25519.pub, 0600, atomic). 0 or -1. */
int	 state_save_pubkey(const char *root, const unsigned char pk[32]);
/* Loads root/last_seq into *seq (0 when absent). 0, or -1 if corrupt. */
int	 state_load_seq(const char *root, int64_t *seq);
/* Persists seq durably (fsync'd, atomic) before a command runs. 0 or -1. */
int	 state_save_seq(const char *root, int64_t seq);

/* 1 if name is "<uuid>.json", a spool entry. */
int	 spool_name_valid(const char *name);
/* 1 if root/spool/<command_id>.json exists (a result not yet acknowledged). */
int	 spool_has(const char *root, const char *command_id);
/* Writes root/spool/<command_id>.json (0600, atomic). 0 or -1 with errno. */
int	 spool_write(const char *root, const char *command_id,
	    const char *json, size_t len);
/*
 * Lists the command ids in the spool, oldest first, into a malloc'd array
 * of malloc'd strings (free with spool_list_free). 0 or -1.
 */
int	 spool_list(const char *root, char ***ids, size_t *n);
void	 spool_list_free(char **ids, size_t n);
/* The spooled result JSON (malloc'd), or NULL. */
char	*spool_read(const char *root, const char *command_id, size_t *len);
/* Removes one entry; 0 (also when already gone) or -1. */
int	 spool_delete(const char *root, const char *command_id);

/* ---- client.c: HTTP through libcurl ---------------------------------- */

struct client;

struct http_req {
	const char	*method;	/* "GET" or "POST" */
	const char	*url;
	const char	*bearer;	/* NULL: no Authorization */
	const char	*body;		/* JSON for POST */
	size_t		 body_len;
	long		 timeout_ms;
};

struct http_resp {
	long	 status;
	char	*body;			/* NUL-terminated, at most AGENT_BODY_MAX */
	size_t	 len;
	char	 peer_ip[64];		/* the address that answered */
	long	 peer_port;
};

/* A command center URL as libcurl parses it. */
struct cc_url {
	char	*url;			/* normalized, no trailing '/'; malloc'd */
	int	 https;			/* else plain http */
	char	 host[256];		/* IPv6 in brackets, IPv4 normalized */
};

enum client_rc { CLIENT_OK = 0, CLIENT_FAIL = -1, CLIENT_STOPPED = -2 };

/*
 * Parses url with libcurl's URL API: http or https, a host, a port from 1
 * to 65535 if any, no user name or password, no query or fragment, no
 * spaces, controls or backslashes. 0 with out filled (free out->url), or
 * -1 with the reason in why (without the variable's name).
 */
int	 client_url_parse(const char *url, struct cc_url *out, char *why,
	    size_t whylen);
/* Calls curl_global_init once, before any thread starts. 0 or -1. */
int	 client_global_init(void);
void	 client_global_cleanup(void);
/*
 * A client owning one reused easy handle; transfers abort soon after *stop
 * becomes nonzero and client_wakeup() is called. NULL on failure.
 */
struct client *client_new(const atomic_int *stop);
void	 client_free(struct client *c);
/* Interrupts a transfer in progress (thread-safe). */
void	 client_wakeup(struct client *c);
/*
 * Performs one request. CLIENT_OK when an HTTP answer came (any status; rs
 * filled, free with http_resp_free), CLIENT_FAIL with err on transport
 * failure or an oversized answer, CLIENT_STOPPED when *stop was set.
 */
/*
 * Sends a Cloudflare Access service token with every request from now on
 * (the strings must outlive the clients; NULL sends none).
 */
void	 client_set_access(const char *id, const char *secret);
/*
 * The CAs https requests verify the CC with: file (PEM) when not NULL,
 * else the hashed directory path when not NULL, else libcurl's defaults
 * (the strings must outlive the clients).
 */
void	 client_set_tls(const char *file, const char *path);
enum client_rc client_request(struct client *c, const struct http_req *rq,
	    struct http_resp *rs, char *err, size_t errlen);
void	 http_resp_free(struct http_resp *rs);

/* ---- probes.c: host facts -------------------------------------------- */

struct probes;

/* A probe context; the system bus is opened lazily. NULL on OOM. */
struct probes *probes_new(void);
void	 probes_free(struct probes *p);
/*
 * Reads a string property of org.freedesktop.systemd1.Unit for unit into
 * out. 0, or -1 with err (no system bus, unknown property, ...).
 */
int	 probes_unit_prop(struct probes *p, const char *unit, const char *prop,
	    char *out, size_t n, char *err, size_t errlen);
/* Asks systemd to restart unit ("replace"); the job path goes in out. */
int	 probes_unit_restart(struct probes *p, const char *unit, char *out,
	    size_t n, char *err, size_t errlen);
/* Parsers over /proc text: 0, or -1 when the text does not fit. */
int	 probe_parse_meminfo(const char *text, double *used_pct);
int	 probe_parse_uptime(const char *text, int64_t *secs);
int	 probe_parse_loadavg(const char *text, double *load1);
/* Used percentage of the file system holding path. 0 or -1. */
int	 probe_disk_used_pct(const char *path, double *pct);
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
typedef int (*probe_unit_fn)(void *arg, const char *prop, char *out,
	    size_t n);
/*
 * Replaces the systemd questions with fn(arg, ...) (NULL: systemd again)
 * and "/proc" with proc (NULL: "/proc"; the string must outlive p).
 */
void	 probes_set_cf_source(struct probes *p, probe_unit_fn fn, void *arg,
	    const char *proc);

/* One listening TCP socket, as /proc/net/tcp and tcp6 show it. */
struct tcp_listener {
	unsigned	 port;
	unsigned long	 uid;		/* who created the socket */
	unsigned long	 inode;		/* which socket it is */
};
/*
 * Parses one line of /proc/net/tcp or tcp6: 1 with l filled for a socket in
 * LISTEN state, 0 for any other line (the header, other states, garbage).
 */
int	 probe_parse_tcp_line(const char *line, struct tcp_listener *l);
/* The heartbeat body of CONTRACT.md (new reference), or NULL on OOM. */
json_t	*probes_heartbeat(struct probes *p, struct client *c,
	    const struct agent_config *cfg, const char *node_id);
/* gethostname() into out, "unknown" if that fails. */
void	 probe_hostname(char *out, size_t n);

/* ---- agent.c: shared runtime state ------------------------------------ */

struct agent {
	const struct agent_config *cfg;
	char		 node_id[UUID_STRLEN + 1];
	char		 enroll_key[AGENT_ENROLL_KEY_LEN + 1];	/* wiped */
	atomic_int	 stop;
	int		 stop_pipe[2];	/* readable once stopping */
	int		 lock_fd;	/* VAULTMESH_ROOT/agent.lock, held */
	pthread_mutex_t	 mu;		/* guards the fields below and cond */
	pthread_cond_t	 cond;		/* CLOCK_MONOTONIC */
	int		 hup;		/* SIGHUP seen, not yet consumed */
	int		 revoked;	/* 401/403: idle until SIGHUP */
	char		 token[AGENT_TOKEN_MAX + 1];	/* "" until enrolled */
	unsigned char	 pinned[32];
	int		 have_pinned;
	int64_t		 last_seq;
	pthread_mutex_t	 spool_mu;	/* one sender of spooled results */
	int		 ready_sent;
	/* Monotonic ms by which each watched thread must be back; 0: none. */
	_Atomic int64_t	 wd_deadline[AGENT_WD_SLOTS];
};

/*
 * Initializes a from cfg: prepares the root, loads the node id, enroll
 * key, token, pinned key and last seq. 0, or -1 with one line in err.
 */
int	 agent_init(struct agent *a, const struct agent_config *cfg,
	    char *err, size_t errlen);
/*
 * Releases a and wipes the token and enroll key; safe after a failed
 * agent_init.
 */
void	 agent_free(struct agent *a);
/*
 * The watchdog. A worker thread registers with agent_watch_thread(); before
 * anything that may block it announces how long with agent_expect(ms)
 * (agent_sleep, every HTTP request and every command do), which moves its
 * deadline to now + ms + AGENT_WD_GRACE_MS. The main thread pings systemd
 * (WATCHDOG=1) only while no deadline has passed, so a wedged thread gets
 * the agent restarted. agent_expect() is a no-op on unwatched threads.
 */
void	 agent_watch_thread(struct agent *a, enum agent_wd_slot slot);
void	 agent_expect(int64_t ms);
/* 1 when no watched thread is past its deadline at now (mono ms); else 0, *late set. */
int	 agent_threads_alive(struct agent *a, int64_t now,
	    enum agent_wd_slot *late);
/* Sets the stop flag and wakes every waiter (not from a signal handler). */
void	 agent_request_stop(struct agent *a);
/* Records a SIGHUP and wakes every waiter. */
void	 agent_hup(struct agent *a);
/*
 * Sleeps ms, or less when stopping or (on_hup) when a SIGHUP is pending
 * (the caller consumes it with agent_take_hup). 0, or -1 when stopping.
 */
int	 agent_sleep(struct agent *a, int64_t ms, int on_hup);
/* Copies the token into out (size n); 1 if there is one and not revoked. */
int	 agent_token(struct agent *a, char *out, size_t n);
/* Stores a new token (not persisted here) and clears revoked. */
void	 agent_set_token(struct agent *a, const char *token);
/* Marks the node revoked: heartbeats and polls stop until SIGHUP. */
void	 agent_set_revoked(struct agent *a, const char *why);
int	 agent_is_revoked(struct agent *a);
/* Consumes a pending SIGHUP: 1 if there was one. */
int	 agent_take_hup(struct agent *a);
/* Waits until the agent has a usable token; 0, or -1 when stopping. */
int	 agent_wait_usable(struct agent *a);
/* The key that verifies commands (override, else pinned); 0 or -1. */
int	 agent_verify_key(struct agent *a, unsigned char pk[32]);
/* Sends READY=1 to systemd once (no-op without systemd). */
void	 agent_notify_ready(struct agent *a);

/* Exponential backoff with jitter: 1 s, 2 s, 4 s ... capped. */
struct backoff {
	int64_t	 cur_ms;
	int64_t	 max_ms;
};
void	 backoff_init(struct backoff *b, long max_secs);
void	 backoff_reset(struct backoff *b);
/* The next delay: uniformly in [d/2, d], then d doubles up to the cap. */
int64_t	 backoff_next(struct backoff *b);

/* Builds "<cc_url><path>" into a malloc'd string, or NULL. */
char	*agent_url(const struct agent *a, const char *path);

/* ---- heartbeat.c: enrollment, heartbeats, spool flush ------------------ */

/* The heartbeat thread's body; arg is a struct thread_args *. */
void	*heartbeat_thread(void *arg);

struct thread_args {
	struct agent	*agent;
	struct client	*client;
};

/*
 * Sends every spooled result (under spool_mu); drops a result the CC
 * refuses for good (404, 403, 409, 400 ...). 0 when the spool is empty
 * afterwards, 1 when something is left for later, -1 on revocation/stop.
 */
int	 results_flush(struct agent *a, struct client *c);

/* ---- commands.c: long poll, verification, results ---------------------- */

enum verdict {
	VERDICT_RUN,		/* verified: p is filled */
	VERDICT_REJECT,		/* report "rejected": p->command_id is set */
	VERDICT_DROP,		/* no usable command_id: log only */
};

struct decide_ctx {
	const unsigned char	*pk;		/* 32 bytes */
	const char		*node_id;
	int64_t			 now;		/* Unix seconds */
	int64_t			 last_seq;
	const struct agent_config *cfg;
};

/*
 * Decides what to do with one element of "commands" (the contract's
 * checks, in order: signature, payload, node id, expiry, seq, catalog and
 * args, service list). p is always initialized; cmd_payload_free() it.
 */
enum verdict command_decide(const struct decide_ctx *ctx, json_t *elem,
	    struct cmd_payload *p, char *why, size_t whylen);
/* The poll thread's body; arg is a struct thread_args *. */
void	*poll_thread(void *arg);

/* ---- runner.c: one command in a child process ------------------------ */

struct run_result {
	const char	*status;	/* "ok", "error", "rejected", "timeout" */
	int		 exit_code;	/* -1 when nothing exited on its own */
	char		*output;	/* malloc'd, valid UTF-8 */
	json_t		*findings;	/* sovereign-scan only */
	time_t		 started;
	time_t		 finished;
};

/* The child side of a command: output on fds 1 and 2, returns exit status. */
typedef int (*runner_fn)(struct agent *a, const struct cmd_payload *p);

/*
 * Runs a verified command of the catalog (runner_exec with its spec).
 * Always fills r (free with run_result_free).
 */
void	 runner_run(struct agent *a, const struct cmd_payload *p,
	    struct run_result *r);
/*
 * The engine: forks, runs fn in the child in its own session (so its own
 * process group), keeps the first cap bytes of output, kills the whole
 * group after timeout_secs ("timeout") or when the agent stops. Fills r.
 */
void	 runner_exec(struct agent *a, const struct cmd_payload *p,
	    int timeout_secs, size_t cap, runner_fn fn, struct run_result *r);
void	 run_result_free(struct run_result *r);
/*
 * Result JSON of the contract for r, compact; malloc'd or NULL on OOM.
 */
char	*result_json(const char *node_id, const char *command_id,
	    const struct run_result *r, size_t *len);
/* The agent-info text: version, node id, config without secrets, seq. */
char	*agent_info_text(const struct agent_config *cfg, const char *node_id,
	    int64_t last_seq);

/* ---- scan.c: sovereign-scan (see scan.h for the internals) ------------ */

/* What a unit lookup returns when there is no systemd to ask. */
#define SCAN_NO_SYSTEMD		(-2)

/*
 * Reads a property of a systemd unit into out: 0, SCAN_NO_SYSTEMD, or -1
 * with err. The default (NULL in scan_opts) asks systemd through probes.c;
 * tests put their own here.
 */
typedef int (*scan_unit_fn)(void *arg, const char *unit, const char *prop,
	    char *out, size_t n, char *err, size_t errlen);

struct scan_opts {
	const char	*root;		/* prefix of system files, "/" normally */
	const char	*vm_root;	/* VAULTMESH_ROOT, read as is */
	char *const	*services;	/* VAULTMESH_SERVICES */
	size_t		 nservices;
	const uint16_t	*allowed_ports;	/* wildcard listeners allowed */
	size_t		 nallowed_ports;
	int		 forwarding_allowed;
	const char	*rules_dir;	/* absolute, read under root */
	const char	*packages;	/* "auto", "apt", "pacman", "none" */
	const char	*apt;		/* programs of the live host */
	const char	*pacman;
	scan_unit_fn	 unit_prop;	/* NULL: systemd through probes.c */
	void		*unit_arg;
	const char	*only;		/* run this check only (tests); NULL all */
};

/* Fills o from the agent's configuration (o points into c). */
void	 scan_opts_from_config(struct scan_opts *o,
	    const struct agent_config *c);
/*
 * Runs every check of the scan table (or o->only). System files are read
 * under o->root; the agent's own files under o->vm_root. Returns a JSON
 * array of findings {"id", "severity", "title", "detail", "remediation"},
 * at most 1000 and each within the command center's limits, or NULL with
 * err (out of memory, a root that does not fit, an unknown o->only).
 */
json_t	*scan_run(const struct scan_opts *o, char *err, size_t errlen);

#endif
