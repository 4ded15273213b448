/*
 * enroll: the rules of enrollment. A node's first request records it
 * (approved with a token when it brings an enroll secret, pending without,
 * within a cap and a rate); later requests are answered by its status, and
 * a token goes only to the agent that first came with the node's enroll
 * key. Rows are committed with the fleet's mutex released.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fleet.h"
#include "fleet_int.h"
#include "log.h"
#include "util.h"

/* A new token (43 base64url chars) and its hash. */
static void
token_new(char token[64], unsigned char th[TOKEN_HASH_LEN])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, 64, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	token_hash(token, th);
}

void
fleet_set_limits(struct fleet *f, size_t max_pending, double per_minute)
{
	pthread_mutex_lock(&f->mu);
	f->max_pending = max_pending;
	f->pending_rate = per_minute / 60.0;
	/* A burst of a minute's worth: a rack powered on at once fits. */
	f->pending_burst = per_minute > 1 ? per_minute : 1;
	f->pending_tokens = f->pending_burst;
	f->pending_refill_ms = mono_ms();
	pthread_mutex_unlock(&f->mu);
}

/*
 * With f->mu held: may a new pending node be recorded now? (The cap, then
 * the token bucket; a refused one takes no token.)
 */
static enum enroll_outcome
pending_admit(struct fleet *f)
{
	int64_t now = mono_ms();

	/* Those admitted and still committing count: the lock is let go. */
	if (f->npending + f->pending_inflight >= f->max_pending)
		return ENROLL_PENDING_FULL;
	f->pending_tokens +=
	    (double)(now - f->pending_refill_ms) / 1000.0 * f->pending_rate;
	f->pending_refill_ms = now;
	if (f->pending_tokens > f->pending_burst)
		f->pending_tokens = f->pending_burst;
	if (f->pending_tokens < 1.0)
		return ENROLL_THROTTLED;
	f->pending_tokens -= 1.0;
	f->pending_inflight++;
	return ENROLL_PENDING;
}

size_t
fleet_pending_nodes(struct fleet *f, size_t *max)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->npending;
	if (max != NULL)
		*max = f->max_pending;
	pthread_mutex_unlock(&f->mu);
	return n;
}

enum enroll_outcome
fleet_enroll(struct fleet *f, const struct enroll_req *er, int secret_ok,
    char token[64])
{
	struct fnode	   *n;
	struct node_rec	    rec;
	unsigned char	    th[TOKEN_HASH_LEN];
	enum enroll_outcome out = ENROLL_FAILED;
	int		    stored, added;

	token[0] = '\0';
	pthread_mutex_lock(&f->mu);
	/* The same id's row being committed: wait for it, then decide. */
	settle_begin(f, er->node_id);
	if ((n = find(f, er->node_id)) == NULL) {
		/* Without the secret, strangers are bounded in number and rate. */
		if (!secret_ok && (out = pending_admit(f)) != ENROLL_PENDING)
			goto out;
		out = ENROLL_FAILED;
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.node_id, er->node_id, 37);
		rec.hostname = (char *)(uintptr_t)er->hostname;
		rec.os_profile = (char *)(uintptr_t)er->os_profile;
		rec.agent_version = (char *)(uintptr_t)er->agent_version;
		rec.status = secret_ok ? NODE_APPROVED : NODE_PENDING;
		rec.enrolled_at = time(NULL);
		rec.enroll_peer = er->peer;
		if (er->enroll_key != NULL) {
			token_hash(er->enroll_key, rec.key_hash);
			rec.has_key = 1;
		}
		if (secret_ok) {
			token_new(token, rec.token_hash);
			rec.has_token = 1;
		}
		pthread_mutex_unlock(&f->mu);
		stored = store_node_insert(f->store, &rec);
		pthread_mutex_lock(&f->mu);
		added = stored == 0 && fleet_add(f, &rec) == 0 &&
		    dirty_reserve(f) == 0;
		if (!secret_ok) { /* counted in npending now, or not at all */
			f->pending_inflight--;
			if (!added)
				f->pending_tokens += 1.0;
		}
		if (stored == 0 && !added)
			log_err("fleet_error",
			    "op=enroll node_id=%s error=out_of_memory",
			    er->node_id);
		if (added)
			out = secret_ok ? ENROLL_APPROVED : ENROLL_PENDING;
		goto out;
	}
	switch (n->r.status) {
	case NODE_DELETED:
		out = ENROLL_DELETED;
		goto out;
	case NODE_REVOKED:
		out = ENROLL_REVOKED;
		goto out;
	case NODE_APPROVED:
		if (n->r.has_token) {
			out = ENROLL_CONFLICT;
			goto out;
		}
		break;
	case NODE_PENDING:
		if (!secret_ok) {
			out = ENROLL_PENDING;
			goto out;
		}
		break;
	}
	/*
	 * Approved without a token yet, or pending with the right secret: the
	 * token goes only to the agent that first enrolled the node, if it
	 * came with a key (whoever else learned the node's id cannot race it).
	 */
	if (n->r.has_key) {
		unsigned char kh[TOKEN_HASH_LEN];
		int	      ok;

		if (er->enroll_key == NULL) {
			out = ENROLL_KEY_MISMATCH;
			goto out;
		}
		token_hash(er->enroll_key, kh);
		ok = sodium_memcmp(kh, n->r.key_hash, TOKEN_HASH_LEN) == 0;
		sodium_memzero(kh, sizeof(kh));
		if (!ok) {
			out = ENROLL_KEY_MISMATCH;
			goto out;
		}
	}
	token_new(token, th);
	pthread_mutex_unlock(&f->mu);
	stored =
	    store_node_set_status(f->store, n->r.node_id, NODE_APPROVED, th);
	pthread_mutex_lock(&f->mu);
	if (stored == -1)
		goto out;
	status_move(f, n, NODE_APPROVED);
	memcpy(n->r.token_hash, th, TOKEN_HASH_LEN);
	n->r.has_token = 1;
	if (index_add(f, &f->by_token, n->num) == -1) {
		/*
		 * Out of memory: the token is not sent, so the node stays
		 * without one here and its next enrollment gets a new one
		 * (the store keeps this hash until then: after a restart
		 * first, revoke and approve the node).
		 */
		n->r.has_token = 0;
		sodium_memzero(n->r.token_hash, TOKEN_HASH_LEN);
		log_err("fleet_error",
		    "op=enroll node_id=%s error=out_of_memory", er->node_id);
		goto out;
	}
	out = ENROLL_APPROVED;
out:
	settle_end(f, er->node_id);
	pthread_mutex_unlock(&f->mu);
	if (out != ENROLL_APPROVED)
		sodium_memzero(token, 64);
	sodium_memzero(th, sizeof(th));
	return out;
}
