/*
 * agent: the runtime state the agent's threads share (agent.c): the stop
 * flag, waits that end early on stop or SIGHUP, the token, the pinned key
 * and the last seq, the watchdog.
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

#include <jansson.h>

#include "defs.h"
#include "util.h"
#include "watchdog.h"

struct agent_config;
struct client;

struct agent {
	const struct agent_config *cfg;
	char			   node_id[UUID_STRLEN + 1];
	char		enroll_key[AGENT_ENROLL_KEY_LEN + 1]; /* wiped */
	atomic_int	stop;
	int		stop_pipe[2]; /* readable once stopping */
	int		lock_fd;      /* VAULTMESH_ROOT/agent.lock, held */
	pthread_mutex_t mu;	      /* guards the fields below and cond */
	pthread_cond_t	cond;	      /* CLOCK_MONOTONIC */
	int		hup;	      /* SIGHUP seen, not yet consumed */
	int		revoked;      /* 401/403: idle until SIGHUP */
	char		token[AGENT_TOKEN_MAX + 1]; /* "" until enrolled */
	unsigned char	pinned[32];
	int64_t		pinned_version; /* 0: not known */
	int		have_pinned;
	pthread_mutex_t key_mu; /* one walk of a key chain at a time */
	int64_t		last_seq;
	pthread_mutex_t spool_mu; /* one sender of spooled results */
	int		ready_sent;
	struct watchdog wd; /* its worker threads' deadlines */
};

/*
 * Initializes a from cfg: prepares the root, loads the node id, enroll
 * key, token, pinned key and last seq. 0, or -1 with one line in err.
 */
int agent_init(struct agent *a, const struct agent_config *cfg, char *err,
    size_t errlen);
/*
 * Releases a and wipes the token and enroll key; safe after a failed
 * agent_init.
 */
void agent_free(struct agent *a);
/* Sets the stop flag and wakes every waiter (not from a signal handler). */
void agent_request_stop(struct agent *a);
/* Records a SIGHUP and wakes every waiter. */
void agent_hup(struct agent *a);
/*
 * Sleeps ms, or less when stopping or (on_hup) when a SIGHUP is pending
 * (the caller consumes it with agent_take_hup). 0, or -1 when stopping.
 */
int agent_sleep(struct agent *a, int64_t ms, int on_hup);
/* Copies the token into out (size n); 1 if there is one and not revoked. */
int agent_token(struct agent *a, char *out, size_t n);
/* Stores a new token (not persisted here) and clears revoked. */
void agent_set_token(struct agent *a, const char *token);
/* Marks the node revoked: heartbeats and polls stop until SIGHUP. */
void agent_set_revoked(struct agent *a, const char *why);
int  agent_is_revoked(struct agent *a);
/* Consumes a pending SIGHUP: 1 if there was one. */
int agent_take_hup(struct agent *a);
/* Waits until the agent has a usable token; 0, or -1 when stopping. */
int agent_wait_usable(struct agent *a);
/* The key that verifies commands (override, else pinned); 0 or -1. */
int agent_verify_key(struct agent *a, unsigned char pk[32]);
/*
 * The id of the key that verifies commands into id: 1, or 0 (none yet).
 */
int agent_key_id(struct agent *a, char id[33]);
/*
 * Walks a key chain from a command center's answer (keychain.h) from the
 * pinned key, and pins the key it reaches (persisted first): the number
 * of links taken; 0 with nothing to do (no chain, VAULTMESH_CC_PUBKEY set,
 * nothing pinned yet); -1 when a link was refused (logged; what was
 * reached before it is kept).
 */
int agent_follow_chain(struct agent *a, json_t *chain);
/*
 * SIGHUP: reads the pinned key again (vaultmesh-node-agent --pin wrote
 * it); a changed one is logged and used from then on.
 */
void agent_reload_pin(struct agent *a);
/* Sends READY=1 to systemd once (no-op without systemd). */
void agent_notify_ready(struct agent *a);

/* Exponential backoff with jitter: 1 s, 2 s, 4 s ... capped. */
struct backoff {
	int64_t cur_ms;
	int64_t max_ms;
};
void backoff_init(struct backoff *b, long max_secs);
void backoff_reset(struct backoff *b);
/* The next delay: uniformly in [d/2, d], then d doubles up to the cap. */
int64_t backoff_next(struct backoff *b);

/* Builds "<cc_url><path>" into a malloc'd string, or NULL. */
char *agent_url(const struct agent *a, const char *path);

/* What each of the two threads is started with. */
struct thread_args {
	struct agent  *agent;
	struct client *client;
};

#endif
