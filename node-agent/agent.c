/*
 * The runtime state the agent's threads share: stop flag, waits that end
 * early on stop or SIGHUP, the token, the pinned key and the last seq.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "config.h"
#include "defs.h"
#include "keychain.h"
#include "log.h"
#include "state.h"

int
agent_init(struct agent *a, const struct agent_config *cfg, char *err,
    size_t errlen)
{
	pthread_condattr_t ca;
	int		   r, rc = -1;

	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->stop_pipe[0] = a->stop_pipe[1] = -1;
	a->lock_fd = -1;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->spool_mu, NULL);
	pthread_mutex_init(&a->key_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pipe2(a->stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if (state_prepare(cfg->root, err, errlen) == -1)
		goto out;
	/*
	 * One agent per root: two would both accept commands under one seq
	 * file and one token, and run what the other already ran.
	 */
	{
		char lock[PATH_MAX];
		long holder;

		snprintf(lock, sizeof(lock), "%s/agent.lock", cfg->root);
		if ((a->lock_fd = lockfile_take(lock, &holder)) == -1) {
			if (errno == EAGAIN)
				snprintf(err, errlen,
				    "VAULTMESH_ROOT: %s is in "
				    "use by another agent (pid %ld)",
				    cfg->root, holder);
			else
				snprintf(err, errlen,
				    "VAULTMESH_ROOT: cannot lock %s: %s", lock,
				    strerror(errno));
			goto out;
		}
	}
	if (state_node_id(cfg->root, a->node_id, err, errlen) == -1 ||
	    state_enroll_key(cfg->root, a->enroll_key, err, errlen) == -1)
		goto out;
	if ((r = state_load_token(cfg->root, a->token, sizeof(a->token))) ==
	    -1) {
		/* Unreadable or garbled: enroll again rather than send junk. */
		log_warn("token_invalid", "path=%s/node_token action=reenroll",
		    cfg->root);
		a->token[0] = '\0';
	}
	if ((r = state_load_pubkey(cfg->root, a->pinned, &a->pinned_version)) ==
	    -1) {
		snprintf(err, errlen,
		    "VAULTMESH_ROOT: %s/cc_ed25519.pub is not "
		    "a base64 Ed25519 key; fix or remove it",
		    cfg->root);
		goto out;
	}
	a->have_pinned = r == 1;
	if (state_load_seq(cfg->root, &a->last_seq) == -1) {
		/* Guessing a seq could run a replayed command: refuse. */
		snprintf(err, errlen,
		    "VAULTMESH_ROOT: %s/last_seq is corrupt; "
		    "it must hold the last accepted seq",
		    cfg->root);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	if (a->stop_pipe[0] != -1)
		close(a->stop_pipe[0]);
	if (a->stop_pipe[1] != -1)
		close(a->stop_pipe[1]);
	a->stop_pipe[0] = a->stop_pipe[1] = -1;
	if (a->lock_fd != -1)
		close(a->lock_fd);
	a->lock_fd = -1;
	sodium_memzero(a->token, sizeof(a->token));
	sodium_memzero(a->enroll_key, sizeof(a->enroll_key));
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->spool_mu);
	pthread_mutex_destroy(&a->key_mu);
}

void
agent_request_stop(struct agent *a)
{
	char c = 's';

	pthread_mutex_lock(&a->mu);
	atomic_store(&a->stop, 1);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	/* Full pipe: already readable, which is all that matters. */
	if (a->stop_pipe[1] != -1 && write(a->stop_pipe[1], &c, 1) == -1)
		log_debug("stop_pipe", "error=\"%s\"", strerror(errno));
}

void
agent_hup(struct agent *a)
{
	pthread_mutex_lock(&a->mu);
	a->hup = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

int
agent_take_hup(struct agent *a)
{
	int h;

	pthread_mutex_lock(&a->mu);
	h = a->hup;
	a->hup = 0;
	pthread_mutex_unlock(&a->mu);
	return h;
}

int
agent_sleep(struct agent *a, int64_t ms, int on_hup)
{
	struct timespec ts;
	int		rc;

	watchdog_expect(ms);
	time_after(&ts, CLOCK_MONOTONIC, ms);
	pthread_mutex_lock(&a->mu);
	while (!atomic_load(&a->stop) && !(on_hup && a->hup) &&
	    pthread_cond_timedwait(&a->cond, &a->mu, &ts) != ETIMEDOUT)
		;
	rc = atomic_load(&a->stop) ? -1 : 0;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int
agent_token(struct agent *a, char *out, size_t n)
{
	int ok;

	pthread_mutex_lock(&a->mu);
	ok = a->token[0] != '\0' && !a->revoked && strlen(a->token) < n;
	if (ok)
		memcpy(out, a->token, strlen(a->token) + 1);
	else if (n > 0)
		out[0] = '\0';
	pthread_mutex_unlock(&a->mu);
	return ok;
}

void
agent_set_token(struct agent *a, const char *token)
{
	pthread_mutex_lock(&a->mu);
	sodium_memzero(a->token, sizeof(a->token));
	snprintf(a->token, sizeof(a->token), "%s", token);
	a->revoked = 0;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

void
agent_set_revoked(struct agent *a, const char *why)
{
	int was;

	pthread_mutex_lock(&a->mu);
	was = a->revoked;
	a->revoked = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	if (!was)
		log_err("revoked",
		    "node_id=%s reason=%s msg=\"the command "
		    "center refused this node's token: heartbeats and commands "
		    "stop; approve the node again on the dashboard, then send "
		    "SIGHUP (systemctl reload vaultmesh-node-agent) to enroll "
		    "again\"",
		    a->node_id, why);
}

int
agent_is_revoked(struct agent *a)
{
	int r;

	pthread_mutex_lock(&a->mu);
	r = a->revoked;
	pthread_mutex_unlock(&a->mu);
	return r;
}

int
agent_wait_usable(struct agent *a)
{
	int rc;

	/* Waiting for the heartbeat thread to enroll may take forever: healthy. */
	watchdog_expect(INT64_MAX);
	pthread_mutex_lock(&a->mu);
	while (!atomic_load(&a->stop) && (a->token[0] == '\0' || a->revoked))
		pthread_cond_wait(&a->cond, &a->mu);
	rc = atomic_load(&a->stop) ? -1 : 0;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int
agent_verify_key(struct agent *a, unsigned char pk[32])
{
	int rc = -1;

	if (a->cfg->have_cc_pubkey) {
		memcpy(pk, a->cfg->cc_pubkey, 32);
		return 0;
	}
	pthread_mutex_lock(&a->mu);
	if (a->have_pinned) {
		memcpy(pk, a->pinned, 32);
		rc = 0;
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int
agent_key_id(struct agent *a, char id[33])
{
	unsigned char pk[32];

	if (agent_verify_key(a, pk) == -1)
		return 0;
	key_id_of(pk, id);
	return 1;
}

int
agent_follow_chain(struct agent *a, json_t *chain)
{
	unsigned char pk[32], was[32];
	int64_t	      version, was_version;
	char	      why[192], q[200], id[KEY_ID_LEN + 1];
	int	      taken;

	if (chain == NULL || a->cfg->have_cc_pubkey)
		return 0;
	pthread_mutex_lock(&a->key_mu);
	pthread_mutex_lock(&a->mu);
	taken = a->have_pinned;
	memcpy(pk, a->pinned, 32);
	version = a->pinned_version;
	pthread_mutex_unlock(&a->mu);
	if (!taken) {
		pthread_mutex_unlock(&a->key_mu);
		return 0;
	}
	memcpy(was, pk, 32);
	was_version = version;
	taken = keychain_walk(chain, pk, &version, why, sizeof(why));
	if (taken == -1)
		log_warn("key_chain_refused", "reason=%s",
		    log_quote(q, sizeof(q), why));
	if (sodium_memcmp(pk, was, 32) != 0) {
		/* On disk first: a crash never leaves an unpersisted pin. */
		if (state_save_pubkey(a->cfg->root, pk, version) == -1) {
			log_err("state_write_failed",
			    "file=cc_ed25519.pub msg=\"the new key is not "
			    "pinned; the chain is walked again next time\"");
			pthread_mutex_unlock(&a->key_mu);
			return -1;
		}
		pthread_mutex_lock(&a->mu);
		memcpy(a->pinned, pk, 32);
		a->pinned_version = version;
		pthread_mutex_unlock(&a->mu);
		key_id_of(pk, id);
		log_info("key_pinned",
		    "key_id=%s version=%lld from_version=%lld", id,
		    (long long)version, (long long)was_version);
	}
	pthread_mutex_unlock(&a->key_mu);
	return taken;
}

void
agent_reload_pin(struct agent *a)
{
	unsigned char pk[32];
	int64_t	      version;
	char	      id[KEY_ID_LEN + 1];
	int	      changed = 0;

	pthread_mutex_lock(&a->key_mu);
	if (state_load_pubkey(a->cfg->root, pk, &version) != 1) {
		pthread_mutex_unlock(&a->key_mu);
		return;
	}
	pthread_mutex_lock(&a->mu);
	if (!a->have_pinned || sodium_memcmp(a->pinned, pk, 32) != 0 ||
	    a->pinned_version != version) {
		memcpy(a->pinned, pk, 32);
		a->pinned_version = version;
		a->have_pinned = 1;
		changed = 1;
	}
	pthread_mutex_unlock(&a->mu);
	pthread_mutex_unlock(&a->key_mu);
	if (changed) {
		key_id_of(pk, id);
		log_info("key_pinned", "key_id=%s version=%lld source=file", id,
		    (long long)version);
	}
}

void
agent_notify_ready(struct agent *a)
{
	if (a->ready_sent)
		return;
	a->ready_sent = 1;
	(void)sd_notify(0, "READY=1\nSTATUS=running");
}

void
backoff_init(struct backoff *b, long max_secs)
{
	b->max_ms = (int64_t)max_secs * 1000;
	backoff_reset(b);
}

void
backoff_reset(struct backoff *b)
{
	b->cur_ms = 1000 < b->max_ms ? 1000 : b->max_ms;
}

int64_t
backoff_next(struct backoff *b)
{
	int64_t d = b->cur_ms, half = d / 2;

	b->cur_ms = d * 2 < b->max_ms ? d * 2 : b->max_ms;
	/* Uniform in [d/2, d]: agents that lost the CC together spread out. */
	return half + (int64_t)randombytes_uniform((uint32_t)(d - half + 1));
}

char *
agent_url(const struct agent *a, const char *path)
{
	size_t n = strlen(a->cfg->cc_url) + strlen(path) + 1;
	char  *u;

	if ((u = malloc(n)) != NULL)
		snprintf(u, n, "%s%s", a->cfg->cc_url, path);
	return u;
}
