/*
 * fleet: every node in memory, the source of truth for reads, with the
 * store behind it: the hash indexes by id and by token, the dashboard's
 * order and the nodes per level, the views, token checks, heartbeats and
 * operator actions (written through to the store before they are
 * answered). Enrollment's rules are in enroll.c, the heartbeat writer in
 * writer.c; what the three share is in fleet_int.h.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fleet.h"
#include "fleet_int.h"
#include "test_hooks.h"
#include "log.h"
#include "util.h"
#include "writer.h"

/* ---- attention and the dashboard's order -------------------------- */

static int
is_deleted(const struct fnode *n)
{
	return n->r.status == NODE_DELETED;
}

/*
 * Where a node sits in the dashboard's order: pending and approved nodes
 * by attention (0), then revoked ones, apart from the attention counts
 * (1), then deleted ones, kept (their ids stay taken) but never shown (2).
 */
static int
rank_of(const struct fnode *n)
{
	return n->r.status == NODE_DELETED ? 2 :
	    n->r.status == NODE_REVOKED	   ? 1 :
					     0;
}

static int
order_cmp(const struct fnode *x, const struct fnode *y)
{
	int c;

	if (rank_of(x) != rank_of(y))
		return rank_of(x) - rank_of(y);
	/* Revoked nodes by name: their level is not kept (attend()). */
	if (rank_of(x) == 0 && x->level != y->level)
		return (int)y->level - (int)x->level; /* red first */
	if ((c = strcmp(x->r.hostname, y->r.hostname)) != 0)
		return c;
	return strcmp(x->r.node_id, y->r.node_id);
}

static int
order_qcmp(const void *a, const void *b)
{
	return order_cmp(*(struct fnode *const *)a, *(struct fnode *const *)b);
}

/*
 * The most entries one change may shift before the order is left to be
 * rebuilt (sorted once, at the next read) instead: a burst of changes (a
 * fleet coming back from an outage, mass enrollment) then costs one sort,
 * not a long memmove each.
 */
static size_t
order_move_max(const struct fleet *f)
{
	return f->n / 16 > 64 ? f->n / 16 : 64;
}

/* The first index in [lo, hi) whose entry is not before n. */
static size_t
order_lower_in(const struct fleet *f, const struct fnode *n, size_t lo,
    size_t hi)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (order_cmp(f->order[mid], n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Where n sits before its level or hostname changes, or SIZE_MAX. */
static size_t
order_pos(struct fleet *f, const struct fnode *n)
{
	size_t i;

	if (f->order_dirty)
		return SIZE_MAX;
	i = order_lower_in(f, n, 0, f->n);
	if (i < f->n && f->order[i] == n)
		return i;
	f->order_dirty = 1; /* not where it should be: rebuild */
	return SIZE_MAX;
}

/*
 * After n's key changed: moves n from index i (order_pos before the change)
 * to its new place, shifting only the entries in between, or leaves the
 * order dirty when that is more than order_move_max() entries.
 */
static void
order_fix(struct fleet *f, struct fnode *n, size_t i)
{
	size_t j;

	if (i == SIZE_MAX || f->order_dirty)
		return;
	if (i > 0 && order_cmp(f->order[i - 1], n) > 0) {
		/* Moves up: to the first entry of [0, i) not before it. */
		j = order_lower_in(f, n, 0, i);
		if (i - j > order_move_max(f)) {
			f->order_dirty = 1;
			return;
		}
		memmove(&f->order[j + 1], &f->order[j],
		    (i - j) * sizeof(*f->order));
		f->order[j] = n;
	} else if (i + 1 < f->n && order_cmp(n, f->order[i + 1]) > 0) {
		/* Moves down: just before the first entry after it not before it. */
		j = order_lower_in(f, n, i + 1, f->n) - 1;
		if (j - i > order_move_max(f)) {
			f->order_dirty = 1;
			return;
		}
		memmove(&f->order[i], &f->order[i + 1],
		    (j - i) * sizeof(*f->order));
		f->order[j] = n;
	}
}

static void
order_rebuild(struct fleet *f)
{
	if (!f->order_dirty)
		return;
	if (f->n > 0) {
		memcpy(f->order, f->node, f->n * sizeof(*f->order));
		qsort(f->order, f->n, sizeof(*f->order), order_qcmp);
	}
	f->order_dirty = 0;
}

static void
attn_input_of(const struct fnode *n, struct attn_input *in)
{
	in->last_heartbeat_at = n->r.last_heartbeat_at;
	in->last_scan_at = n->r.last_scan_at;
	in->cloudflare = n->cloudflare;
	in->services_down = n->services_down;
	in->critical = n->r.findings[0];
	in->high = n->r.findings[1];
}

/*
 * Evaluates n's attention at now and keeps the counts and the order true.
 * Its reasons then hold until n->due (a heartbeat or a scan going stale)
 * unless the node changes, which calls this again. 1 if the level changed.
 */
static int
attend(struct fleet *f, struct fnode *n, int64_t now)
{
	struct attn_input in;
	enum level	  l;
	size_t		  pos;

	if (rank_of(n) != 0) { /* not counted by level */
		n->due = INT64_MAX;
		return 0;
	}
	attn_input_of(n, &in);
	n->reasons = attention_reasons(&in, now, &f->thr);
	n->due = attention_due(&in, n->reasons, &f->thr);
	if (n->due < f->next_due)
		f->next_due = n->due;
	if ((l = attention_level(n->reasons)) == n->level)
		return 0;
	pos = order_pos(f, n);
	f->by_level[n->level]--;
	n->level = l;
	f->by_level[l]++;
	order_fix(f, n, pos);
	return 1;
}

/*
 * Brings every node's attention to now: only the nodes whose due has come
 * are evaluated, and only when one has (a walk over the nodes at most
 * once per staleness event). Many changes at once rebuild the order.
 */
static void
attend_all(struct fleet *f, int64_t now)
{
	size_t changed = 0;

	if (now >= f->next_due) {
		f->next_due = INT64_MAX;
		for (size_t i = 0; i < f->n; i++) {
			struct fnode *n = f->node[i];

			if (n->due > now) {
				if (n->due < f->next_due)
					f->next_due = n->due;
			} else if (attend(f, n, now) && ++changed == 64)
				f->order_dirty = 1;
		}
	}
	order_rebuild(f);
}

/* With the lock: adds (d 1) or takes (d -1) n to the counts it is in. */
static void
count(struct fleet *f, const struct fnode *n, int d)
{
	size_t *c = rank_of(n) == 2 ? &f->nhidden :
	    rank_of(n) == 1	    ? &f->nrevoked :
				      &f->by_level[n->level];

	*c = d > 0 ? *c + 1 : *c - 1;
	if (n->r.status == NODE_PENDING)
		f->npending = d > 0 ? f->npending + 1 : f->npending - 1;
}

/*
 * With the lock: n's status becomes st (committed already); its token
 * stops working unless it stays approved, and its counts and its place in
 * the order follow.
 */
void
status_move(struct fleet *f, struct fnode *n, enum node_status st)
{
	size_t pos;

	if (n->r.has_token && st != NODE_APPROVED) {
		token_index_del(f, n->num);
		n->r.has_token = 0;
		sodium_memzero(n->r.token_hash, TOKEN_HASH_LEN);
	}
	n->gen = ++f->gen;
	pos = order_pos(f, n);
	count(f, n, -1);
	n->r.status = st;
	count(f, n, 1);
	order_fix(f, n, pos);
	/* Back among the levels: its level is evaluated (and moved) now. */
	if (rank_of(n) == 0)
		(void)attend(f, n, time(NULL));
}

/* Appends a copy of rec; 0 or -1. Caller holds the lock (or is alone). */
int
fleet_add(struct fleet *f, const struct node_rec *rec)
{
	struct fnode *n;

	if (f->n == f->cap) {
		size_t	       ncap = f->cap ? f->cap * 2 : 1024;
		struct fnode **nn = realloc(f->node, ncap * sizeof(*nn));

		if (nn == NULL)
			return -1;
		f->node = nn;
		if ((nn = realloc(f->order, ncap * sizeof(*nn))) == NULL)
			return -1;
		f->order = nn;
		f->cap = ncap;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	n->r = *rec;
	n->r.hostname = strdup(rec->hostname);
	n->r.os_profile = strdup(rec->os_profile);
	n->r.agent_version = strdup(rec->agent_version);
	n->r.heartbeat = NULL;	 /* the store has it */
	n->r.enroll_peer = NULL; /* the store has it (a page asks) */
	n->r.labels = NULL;
	if (rec->labels != NULL && strcmp(rec->labels, "{}") != 0 &&
	    (n->r.labels = strdup(rec->labels)) == NULL)
		goto fail;
	n->load1 = n->mem_used_pct = NAN;
	if (n->r.hostname == NULL || n->r.os_profile == NULL ||
	    n->r.agent_version == NULL)
		goto fail;
	/*
	 * Facts attention needs: stored beside the heartbeat; derived from it
	 * once for rows written before they were (schema 4 and older).
	 */
	if (rec->hb_cloudflare >= 0 && rec->hb_services_down >= 0) {
		n->cloudflare = (enum cf_state)rec->hb_cloudflare;
		n->services_down = rec->hb_services_down;
	} else if (rec->heartbeat != NULL) {
		json_t		*root = json_loads(rec->heartbeat, 0, NULL);
		struct heartbeat hb;
		char		 err[128];

		if (root != NULL &&
		    validate_heartbeat_raw(root, rec->heartbeat,
			strlen(rec->heartbeat), &hb, err, sizeof(err)) == 0) {
			n->cloudflare = hb.cloudflare;
			n->services_down = hb.services_down;
			free(hb.json);
		}
		json_decref(root);
	}
	f->node[f->n++] = n;
	n->num = (uint32_t)f->n;
	n->gen = ++f->gen;
	if (index_add(f, &f->by_id, (uint32_t)f->n) == -1 ||
	    (n->r.has_token &&
		index_add(f, &f->by_token, (uint32_t)f->n) == -1)) {
		f->n--;
		goto fail;
	}
	/* Counted green and placed last, then evaluated and moved. */
	n->level = LEVEL_GREEN;
	count(f, n, 1);
	f->order[f->n - 1] = n;
	order_fix(f, n, f->order_dirty ? SIZE_MAX : f->n - 1);
	attend(f, n, time(NULL));
	return 0;
fail:
	node_rec_free(&n->r);
	free(n);
	return -1;
}

static int
load_cb(const struct node_rec *rec, void *arg)
{
	return fleet_add(arg, rec);
}

static int set_str(char **dst, const char *src);

/* A start replays the log over what nodes holds (no JSON read). */
static int
replay_cb(const struct hb_logged *l, void *arg)
{
	struct fleet *f = arg;
	struct fnode *n = find(f, l->node_id);

	log_noted(f, l->seq);
	if (n == NULL)
		return 0; /* not a node (any more): folded away later */
	if (set_str(&n->r.hostname, l->hostname) == -1 ||
	    set_str(&n->r.agent_version, l->agent_version) == -1)
		return -1;
	n->r.last_heartbeat_at = l->at;
	n->cloudflare = (enum cf_state)l->cloudflare;
	n->services_down = l->services_down;
	n->hb_seq = l->seq;
	attend(f, n, time(NULL));
	return 0;
}

static void
pending_cb(const char *node_id, int n, void *arg)
{
	struct fnode *fn = find(arg, node_id);

	if (fn != NULL)
		fn->pending = n;
}

/*
 * The store queued, delivered, put back, expired or took a result for one
 * of the node's commands (called outside the store's locks).
 */
static void
queued_cb(const char *node_id, int delta, void *arg)
{
	struct fleet *f = arg;
	struct fnode *n;

	pthread_mutex_lock(&f->mu);
	/* Not clamped: a clamp would lose a decrement for good. */
	if ((n = find(f, node_id)) != NULL)
		n->pending += delta;
	pthread_mutex_unlock(&f->mu);
}

struct fleet *
fleet_open(struct store *st, const struct thresholds *t, char *err,
    size_t errlen)
{
	struct fleet *f;
	int64_t	      t0, t1;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->flush_mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	pthread_cond_init(&f->settled_cv, NULL);
	f->store = st;
	f->thr = *t;
	f->next_due = INT64_MAX;
	f->order_dirty = 1;	   /* sorted once, after the load */
	f->max_pending = SIZE_MAX; /* fleet_set_limits() sets the real ones */
	f->pending_rate = f->pending_burst = f->pending_tokens = 1e9;
	crypto_shorthash_keygen(f->hkey);
	t0 = mono_ms();
	if (store_load_nodes(st, load_cb, f) == -1) {
		snprintf(err, errlen, "loading nodes from the store failed");
		goto fail;
	}
	t1 = mono_ms();
	if (store_heartbeat_log(st, replay_cb, f) == -1) {
		snprintf(err, errlen, "replaying the heartbeat log failed");
		goto fail;
	}
	log_info("fleet_loaded",
	    "nodes=%zu log_heartbeats=%lld load_ms=%lld replay_ms=%lld", f->n,
	    f->log_first ? (long long)(f->log_last - f->log_first + 1) : 0LL,
	    (long long)(t1 - t0), (long long)(mono_ms() - t1));
	/*
	 * Commands delivered before this start and still without a result:
	 * the answer may never have left (we stopped between the commit and
	 * the send), so each is offered again at its node's next poll.
	 */
	/*
	 * (Not when replicas share the store: their deliveries are in
	 * flight; the leases put back what a dead one delivered.)
	 */
	if (!store_shared(st) &&
	    (t1 = store_commands_release(st, INT64_MAX, NULL, NULL)) > 0)
		log_warn("commands_reoffered", "count=%lld reason=restart",
		    (long long)t1);
	if (store_commands_pending(st, pending_cb, f) == -1) {
		snprintf(err, errlen, "loading queued commands failed");
		goto fail;
	}
	store_on_queued(st, queued_cb, f);
	order_rebuild(f);
	f->dirty_cap = f->cap ? f->cap : 1024;
	if ((f->dirty = calloc(f->dirty_cap, sizeof(uint32_t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pthread_create(&f->writer, NULL, fleet_writer_main, f) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	f->writer_started = 1;
	return f;
fail:
	fleet_close(f);
	return NULL;
}

void
fleet_close(struct fleet *f)
{
	if (f == NULL)
		return;
	store_on_queued(f->store, NULL, NULL);
	if (f->writer_started) {
		pthread_mutex_lock(&f->mu);
		f->stop = 1;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->writer, NULL); /* it flushes once more */
		fleet_fold_all(f); /* a clean stop leaves the log empty */
	}
	for (size_t i = 0; i < f->n; i++) {
		node_rec_free(&f->node[i]->r);
		free(f->node[i]->hb_inflight);
		free(f->node[i]);
	}
	free(f->node);
	free(f->order);
	free(f->by_id.slot);
	free(f->by_token.slot);
	free(f->dirty);
	pthread_cond_destroy(&f->cv);
	pthread_cond_destroy(&f->settled_cv);
	pthread_mutex_destroy(&f->flush_mu);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void
token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN])
{
	crypto_generichash(out, TOKEN_HASH_LEN, (const unsigned char *)token,
	    strlen(token), NULL, 0);
}

/* Makes room in the dirty list for every node (called with the lock). */
int
dirty_reserve(struct fleet *f)
{
	if (f->dirty_cap < f->cap) {
		uint32_t *nd = realloc(f->dirty, f->cap * sizeof(uint32_t));

		if (nd == NULL)
			return -1;
		f->dirty = nd;
		f->dirty_cap = f->cap;
	}
	return 0;
}

/* With f->mu held: is node_id's row being committed? */
static int
is_settling(const struct fleet *f, const char *node_id)
{
	for (size_t i = 0; i < f->nsettling; i++)
		if (strncmp(f->settling[i], node_id, 36) == 0)
			return 1;
	return 0;
}

/*
 * With f->mu held: waits until node_id's row is not being committed and a
 * slot is free, then takes one for it (the mutex released meanwhile).
 */
void
settle_begin(struct fleet *f, const char *node_id)
{
	while (is_settling(f, node_id) || f->nsettling == SETTLING_MAX)
		pthread_cond_wait(&f->settled_cv, &f->mu);
	snprintf(f->settling[f->nsettling++], sizeof(f->settling[0]), "%s",
	    node_id);
}

/* With f->mu held: node_id's row is settled; wakes who waits for it. */
void
settle_end(struct fleet *f, const char *node_id)
{
	for (size_t i = 0; i < f->nsettling; i++)
		if (strncmp(f->settling[i], node_id, 36) == 0) {
			memcpy(f->settling[i], f->settling[--f->nsettling],
			    sizeof(f->settling[i]));
			break;
		}
	pthread_cond_broadcast(&f->settled_cv);
}

/* A count that f->mu guards, read under it. */
static size_t
locked_count(struct fleet *f, const size_t *count)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = *count;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t
fleet_settling(struct fleet *f)
{
	return locked_count(f, &f->nsettling);
}

int
fleet_token_known(struct fleet *f, const char *token,
    unsigned char th[TOKEN_HASH_LEN])
{
	int known;

	if (token == NULL || strlen(token) > 128)
		return 0;
	token_hash(token, th);
	pthread_mutex_lock(&f->mu);
	known = find_token(f, th) != NULL;
	pthread_mutex_unlock(&f->mu);
	return known;
}

int
fleet_hostname(struct fleet *f, const char *node_id, char *out, size_t outlen)
{
	struct fnode *n;
	int	      rc = -1;

	pthread_mutex_lock(&f->mu);
	if ((n = find(f, node_id)) != NULL) {
		snprintf(out, outlen, "%s", n->r.hostname);
		rc = 0;
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int
fleet_known(struct fleet *f, const char *node_id)
{
	int known;

	pthread_mutex_lock(&f->mu);
	known = find(f, node_id) != NULL;
	pthread_mutex_unlock(&f->mu);
	return known;
}

int
fleet_set_pinned(struct fleet *f, const char *node_id, const char *key_id)
{
	struct fnode *n;
	int	      changed = 0, rc;

	pthread_mutex_lock(&f->mu);
	if ((n = find(f, node_id)) != NULL &&
	    strcmp(n->r.pinned_key_id, key_id) != 0) {
		snprintf(n->r.pinned_key_id, sizeof(n->r.pinned_key_id), "%s",
		    key_id);
		changed = 1;
	}
	pthread_mutex_unlock(&f->mu);
	if (!changed)
		return 0;
	/* Rare (once a node per rotation): written as it comes. */
	if ((rc = store_node_pinned(f->store, node_id, key_id)) == 0)
		return 1;
	pthread_mutex_lock(&f->mu);
	if ((n = find(f, node_id)) != NULL &&
	    strcmp(n->r.pinned_key_id, key_id) == 0)
		n->r.pinned_key_id[0] =
		    '\0'; /* written at its next heartbeat */
	pthread_mutex_unlock(&f->mu);
	return -1;
}

int
fleet_pinned(struct fleet *f, const char *node_id, char out[33])
{
	struct fnode *n;
	int	      rc = 0;

	pthread_mutex_lock(&f->mu);
	if ((n = find(f, node_id)) != NULL && n->r.pinned_key_id[0] != '\0') {
		memcpy(out, n->r.pinned_key_id, 33);
		rc = 1;
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

long
fleet_unmoved(struct fleet *f, const char *key_id)
{
	long n = 0;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++)
		if (f->node[i]->r.status == NODE_APPROVED &&
		    strcmp(f->node[i]->r.pinned_key_id, key_id) != 0)
			n++;
	pthread_mutex_unlock(&f->mu);
	return n;
}

int
fleet_approved(struct fleet *f, const char *node_id)
{
	struct fnode *n;
	int	      ok;

	pthread_mutex_lock(&f->mu);
	n = find(f, node_id);
	ok = n != NULL && n->r.status == NODE_APPROVED && n->r.has_token;
	pthread_mutex_unlock(&f->mu);
	return ok;
}

/* fleet_auth() with the token's hash, called with the lock; *np the node. */
static enum auth_result
auth_locked(struct fleet *f, const char *node_id,
    const unsigned char th[TOKEN_HASH_LEN], struct fnode **np)
{
	struct fnode *n = find(f, node_id);

	*np = n;
	if (n != NULL && n->r.has_token && n->r.status == NODE_APPROVED &&
	    sodium_memcmp(n->r.token_hash, th, TOKEN_HASH_LEN) == 0)
		return AUTH_OK;
	if (find_token(f, th) != NULL)
		return AUTH_FORBIDDEN; /* a valid token, for another node */
	return AUTH_UNAUTHORIZED;
}

enum auth_result
fleet_auth_hash(struct fleet *f, const char *node_id,
    const unsigned char th[TOKEN_HASH_LEN])
{
	struct fnode	*n;
	enum auth_result res;

	pthread_mutex_lock(&f->mu);
	res = auth_locked(f, node_id, th, &n);
	pthread_mutex_unlock(&f->mu);
	return res;
}

enum auth_result
fleet_auth(struct fleet *f, const char *node_id, const char *token)
{
	unsigned char	 th[TOKEN_HASH_LEN];
	struct fnode	*n;
	enum auth_result res;

	if (token == NULL || strlen(token) > 128)
		return AUTH_UNAUTHORIZED;
	token_hash(token, th);
	pthread_mutex_lock(&f->mu);
	res = auth_locked(f, node_id, th, &n);
	pthread_mutex_unlock(&f->mu);
	return res;
}

/* Replaces *dst with a copy of src when they differ; -1 on OOM. */
static int
set_str(char **dst, const char *src)
{
	char *p;

	if (*dst != NULL && strcmp(*dst, src) == 0)
		return 0;
	if ((p = strdup(src)) == NULL)
		return -1;
	free(*dst);
	*dst = p;
	return 0;
}

/* Records hb for n (called with the lock); -1 out of memory. */
static int
heartbeat_locked(struct fleet *f, struct fnode *n, struct heartbeat *hb)
{
	if (strcmp(n->r.hostname, hb->hostname) != 0) {
		/* The hostname places the node in the dashboard's order. */
		size_t pos = order_pos(f, n);
		int    rc = set_str(&n->r.hostname, hb->hostname);

		order_fix(f, n, pos);
		if (rc == -1)
			return -1;
	}
	if (set_str(&n->r.agent_version, hb->agent_version) == -1)
		return -1;
	free(n->r.heartbeat);
	n->r.heartbeat = hb->json;
	hb->json = NULL;
	n->r.last_heartbeat_at = time(NULL);
	n->cloudflare = hb->cloudflare;
	n->services_down = hb->services_down;
	n->load1 = hb->load1;
	n->mem_used_pct = hb->mem_used_pct;
	attend(f, n, n->r.last_heartbeat_at);
	if (!n->dirty && f->ndirty < f->dirty_cap) {
		n->dirty = 1;
		f->dirty[f->ndirty++] = n->num;
	}
	return 0;
}

int
fleet_heartbeat(struct fleet *f, struct heartbeat *hb)
{
	struct fnode *n;
	int	      rc = -1;

	pthread_mutex_lock(&f->mu);
	if ((n = find(f, hb->node_id)) != NULL)
		rc = heartbeat_locked(f, n, hb);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

enum auth_result
fleet_heartbeat_auth(struct fleet *f, struct heartbeat *hb,
    const unsigned char th[TOKEN_HASH_LEN], int *pending, int *failed)
{
	struct fnode	*n;
	enum auth_result res;

	*pending = 0;
	*failed = 0;
	pthread_mutex_lock(&f->mu);
	if ((res = auth_locked(f, hb->node_id, th, &n)) == AUTH_OK) {
		*failed = heartbeat_locked(f, n, hb) == -1;
		*pending = n->pending > 0 ? n->pending : 0;
	}
	pthread_mutex_unlock(&f->mu);
	return res;
}

/*
 * A node's status becomes st (NODE_DELETED: deleted), only from pending
 * when only_pending: 0, -1 store error, -2 unknown or deleted, -3 not
 * pending.
 */
static int
status_change(struct fleet *f, const char *node_id, enum node_status st,
    int only_pending)
{
	struct fnode *n;
	int	      rc = -2;

	pthread_mutex_lock(&f->mu);
	settle_begin(f, node_id);
	if ((n = find(f, node_id)) == NULL || is_deleted(n))
		goto out;
	rc = -3;
	if (only_pending && n->r.status != NODE_PENDING)
		goto out;
	rc = 0;
	if (st == n->r.status)
		goto out;
	/*
	 * Committed first, with the mutex released: a token that stops
	 * working here stays stopped. Tokens exist only for approved nodes.
	 * Revoking or deleting drops the token before it is answered;
	 * approving (a pending or a revoked node) leaves the node without
	 * one, so its next enrollment is answered with a new token.
	 */
	pthread_mutex_unlock(&f->mu);
	rc = store_node_set_status(f->store, node_id, st, NULL);
	pthread_mutex_lock(&f->mu);
	if (rc == -1)
		goto out;
	/* A deleted node leaves the counts for the end of the order. */
	status_move(f, n, st);
out:
	settle_end(f, node_id);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int
fleet_set_status(struct fleet *f, const char *node_id, enum node_status st)
{
	return status_change(f, node_id, st, 0);
}

int
fleet_delete(struct fleet *f, const char *node_id, int only_pending)
{
	return status_change(f, node_id, NODE_DELETED, only_pending);
}

int
fleet_set_labels(struct fleet *f, const char *node_id, const char *labels)
{
	struct fnode *n;
	char	     *copy = NULL;
	int	      rc = -2;

	if (strcmp(labels, "{}") != 0 && (copy = strdup(labels)) == NULL)
		return -1;
	pthread_mutex_lock(&f->mu);
	settle_begin(f, node_id);
	if ((n = find(f, node_id)) == NULL || is_deleted(n))
		goto out;
	/* Committed first, with the mutex released, as a status is. */
	pthread_mutex_unlock(&f->mu);
	rc = store_node_set_labels(f->store, node_id, labels);
	pthread_mutex_lock(&f->mu);
	if (rc == -1)
		goto out;
	free(n->r.labels);
	n->r.labels = copy;
	copy = NULL;
	n->gen = ++f->gen;
out:
	settle_end(f, node_id);
	pthread_mutex_unlock(&f->mu);
	free(copy);
	return rc;
}

static void
view_of(const struct fleet *f, const struct fnode *n, int64_t now,
    struct node_view *v)
{
	struct attn_input in;

	node_view_of_rec(&n->r, v);
	v->pending = n->pending > 0 ? n->pending : 0;
	v->load1 = n->load1;
	v->mem_used_pct = n->mem_used_pct;
	attn_input_of(n, &in);
	v->reasons = attention_reasons(&in, now, &f->thr);
	v->level = attention_level(v->reasons);
}

/*
 * Copies n's heartbeat if memory holds it (with the lock held): 1 when the
 * store has the latest one instead (*seq: where), 0 otherwise.
 */
static int
hb_copy(const struct fnode *n, char **out, int64_t *seq)
{
	const char *src = n->r.heartbeat ? n->r.heartbeat : n->hb_inflight;

	*out = NULL;
	*seq = n->hb_seq;
	if (src != NULL) {
		*out = strdup(src);
		return 0;
	}
	return n->r.last_heartbeat_at != 0;
}

/*
 * Reads the committed heartbeat at seq (without the lock). A fold may
 * drop it meanwhile (a newer one, or nodes, has the latest then):
 * ask where it is now, a few times, then take what nodes holds.
 */
static int
hb_from_store(struct fleet *f, const char *node_id, int64_t seq, char **out)
{
	int rc;

	for (int tries = 0;; tries++) {
		rc = store_node_heartbeat(f->store, node_id,
		    tries < 4 ? seq : 0, out);
		if (rc != 1)
			return rc;
		pthread_mutex_lock(&f->mu);
		{
			struct fnode *n = find(f, node_id);

			seq = n != NULL ? n->hb_seq : 0;
		}
		pthread_mutex_unlock(&f->mu);
	}
}

int
fleet_get(struct fleet *f, const char *node_id, int64_t now,
    struct node_view *v, char **heartbeat)
{
	struct fnode *n;
	int64_t	      seq = 0;
	int	      rc = -1, in_store = 0;

	if (heartbeat != NULL)
		*heartbeat = NULL;
	pthread_mutex_lock(&f->mu);
	if ((n = find(f, node_id)) != NULL && !is_deleted(n)) {
		view_of(f, n, now, v);
		if (heartbeat != NULL)
			in_store = hb_copy(n, heartbeat, &seq);
		rc = 0;
	}
	pthread_mutex_unlock(&f->mu);
	/* Committed (it may be newer than the view by then: never older). */
	if (in_store && hb_from_store(f, v->node_id, seq, heartbeat) == -1)
		*heartbeat = NULL;
	return rc;
}

struct node_view *
fleet_list_range(struct fleet *f, int64_t now, size_t start, size_t max,
    size_t *count, char ***heartbeats)
{
	struct node_view *v;
	char		**hb = NULL;
	int64_t		 *in_store = NULL; /* seq + 1, or 0 */
	size_t		  n;

	pthread_mutex_lock(&f->mu);
	n = start < f->n ? f->n - start : 0;
	if (n > max)
		n = max;
	*count = n;
	v = calloc(n ? n : 1, sizeof(*v));
	if (v != NULL && heartbeats != NULL &&
	    (hb = calloc(n ? n : 1, sizeof(*hb))) == NULL) {
		free(v);
		v = NULL;
	}
	if (v != NULL && hb != NULL &&
	    (in_store = calloc(n ? n : 1, sizeof(*in_store))) == NULL) {
		free(v);
		free(hb);
		v = NULL;
		hb = NULL;
	}
	for (size_t i = 0; v != NULL && i < n; i++) {
		const struct fnode *fn = f->node[start + i];
		int64_t		    seq;

		view_of(f, fn, now, &v[i]);
		if (hb != NULL && hb_copy(fn, &hb[i], &seq))
			in_store[i] = seq + 1;
	}
	pthread_mutex_unlock(&f->mu);
	/* The store's are committed: never older than the view, maybe newer. */
	for (size_t i = 0; in_store != NULL && i < n; i++)
		if (in_store[i] &&
		    hb_from_store(f, v[i].node_id, in_store[i] - 1, &hb[i]) ==
			-1)
			hb[i] = NULL;
	free(in_store);
	if (heartbeats != NULL)
		*heartbeats = hb;
	return v;
}

struct node_view *
fleet_list(struct fleet *f, int64_t now, size_t *count, char ***heartbeats)
{
	return fleet_list_range(f, now, 0, SIZE_MAX, count, heartbeats);
}

/* What a selector sees of n (its strings borrowed). */
static void
facts_of_node(const struct fnode *n, struct node_facts *nf)
{
	nf->node_id = n->r.node_id;
	nf->hostname = n->r.hostname;
	nf->os_profile = n->r.os_profile;
	nf->labels = n->r.labels != NULL ? n->r.labels : "{}";
	nf->pinned_key_id = n->r.pinned_key_id;
	nf->status = n->r.status;
	nf->level = n->level;
	nf->reasons = n->reasons;
}

static int
page_match(const struct fnode *n, const char *q, node_pred pred,
    const void *parg)
{
	struct node_facts nf;

	if (q != NULL && *q != '\0' && strcasestr(n->r.hostname, q) == NULL &&
	    strcasestr(n->r.node_id, q) == NULL &&
	    strcasestr(n->r.os_profile, q) == NULL)
		return 0;
	if (pred == NULL)
		return 1;
	facts_of_node(n, &nf);
	return pred(&nf, parg);
}

static void
select_one(const struct fnode *n, node_pred pred, const void *parg,
    void (*fn)(const struct node_facts *nf, int offline, void *arg), void *arg)
{
	struct node_facts nf;

	if (is_deleted(n))
		return;
	facts_of_node(n, &nf);
	if (pred == NULL || pred(&nf, parg))
		fn(&nf,
		    (n->reasons & R_HEARTBEAT_STALE) != 0 ||
			n->r.last_heartbeat_at == 0,
		    arg);
}

void
fleet_select(struct fleet *f, int64_t now, node_pred pred, const void *parg,
    const char (*ids)[37], size_t					   nids,
    void (*fn)(const struct node_facts *nf, int offline, void *arg), void *arg)
{
	struct fnode *n;

	pthread_mutex_lock(&f->mu);
	attend_all(f, now);
	if (ids != NULL) {
		for (size_t i = 0; i < nids; i++)
			if ((n = find(f, ids[i])) != NULL)
				select_one(n, pred, parg, fn, arg);
	} else
		for (size_t i = 0; i < f->n; i++)
			select_one(f->node[i], pred, parg, fn, arg);
	pthread_mutex_unlock(&f->mu);
}

void
node_view_of_rec(const struct node_rec *r, struct node_view *v)
{
	memcpy(v->node_id, r->node_id, 37);
	snprintf(v->hostname, sizeof(v->hostname), "%s", r->hostname);
	snprintf(v->os_profile, sizeof(v->os_profile), "%s", r->os_profile);
	snprintf(v->agent_version, sizeof(v->agent_version), "%s",
	    r->agent_version);
	v->status = r->status;
	v->enrolled_at = r->enrolled_at;
	v->last_heartbeat_at = r->last_heartbeat_at;
	v->last_scan_at = r->last_scan_at;
	memcpy(v->findings, r->findings, sizeof(v->findings));
	snprintf(v->labels, sizeof(v->labels), "%s",
	    r->labels != NULL ? r->labels : "{}");
	memcpy(v->pinned_key_id, r->pinned_key_id, sizeof(v->pinned_key_id));
}

void
node_facts_of(const struct node_view *v, struct node_facts *nf)
{
	nf->node_id = v->node_id;
	nf->hostname = v->hostname;
	nf->os_profile = v->os_profile;
	nf->labels = v->labels;
	nf->pinned_key_id = v->pinned_key_id;
	nf->status = v->status;
	nf->level = v->level;
	nf->reasons = v->reasons;
}

struct node_view *
fleet_page(struct fleet *f, int64_t now, int level, const char *q,
    node_pred pred, const void *parg, size_t first, size_t max, size_t *count,
    struct fleet_counts *c)
{
	struct node_view *v;
	size_t		  lo = 0, hi, n = 0;

	if ((v = calloc(max ? max : 1, sizeof(*v))) == NULL)
		return NULL;
	pthread_mutex_lock(&f->mu);
	attend_all(f, now);
	memcpy(c->by_level, f->by_level, sizeof(c->by_level));
	c->total = f->n - f->nhidden;
	c->revoked = f->nrevoked;
	/*
	 * The order runs red, yellow, green, then the revoked nodes, then
	 * the deleted ones: a level is one stretch of it.
	 */
	hi = f->n - f->nhidden;
	if (level == FLEET_REVOKED)
		lo = hi - f->nrevoked;
	else if (level >= 0) {
		for (int l = LEVEL_RED; l > level; l--)
			lo += f->by_level[l];
		hi = lo + f->by_level[level];
	}
	if ((q == NULL || *q == '\0') && pred == NULL) {
		c->matched = hi - lo;
		for (size_t i = lo + first; i < hi && n < max; i++)
			view_of(f, f->order[i], now, &v[n++]);
	} else {
		c->matched = 0;
		for (size_t i = lo; i < hi; i++) {
			if (!page_match(f->order[i], q, pred, parg))
				continue;
			if (c->matched++ >= first && n < max)
				view_of(f, f->order[i], now, &v[n++]);
		}
	}
	pthread_mutex_unlock(&f->mu);
	*count = n;
	return v;
}

int
fleet_pending(struct fleet *f, const char *node_id)
{
	struct fnode *n;
	int	      rc = -1;

	pthread_mutex_lock(&f->mu);
	if ((n = find(f, node_id)) != NULL)
		rc = n->pending;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

void
fleet_scan(struct fleet *f, const char *node_id, int64_t at,
    const int counts[FINDING_SEVERITIES])
{
	struct fnode *n;

	pthread_mutex_lock(&f->mu);
	if ((n = find(f, node_id)) != NULL) {
		n->r.last_scan_at = at;
		memcpy(n->r.findings, counts, sizeof(n->r.findings));
		attend(f, n, time(NULL));
	}
	pthread_mutex_unlock(&f->mu);
}

void
fleet_summarize(struct fleet *f, int64_t now, struct fleet_summary *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->mu);
	/* The levels are kept (the same counts the dashboard shows). */
	attend_all(f, now);
	memcpy(out->by_level, f->by_level, sizeof(out->by_level));
	for (size_t i = 0; i < f->n; i++) {
		const struct fnode *n = f->node[i];

		if (is_deleted(n))
			continue;
		out->by_status[n->r.status]++;
		if (n->r.status != NODE_APPROVED)
			continue;
		if (n->r.last_scan_at == 0)
			out->never_scanned++;
		else if (now - n->r.last_scan_at > out->scan_age_max)
			out->scan_age_max = now - n->r.last_scan_at;
	}
	pthread_mutex_unlock(&f->mu);
}

uint64_t
fleet_writer_rounds(struct fleet *f)
{
	return atomic_load(&f->writer_rounds);
}

size_t
fleet_size(struct fleet *f)
{
	return locked_count(f, &f->n);
}

/* ---- replicas: what another command center changed --------------------- */

uint64_t
fleet_gen(struct fleet *f)
{
	uint64_t g;

	pthread_mutex_lock(&f->mu);
	g = f->gen;
	pthread_mutex_unlock(&f->mu);
	return g;
}

/* With the lock: n takes rec's status and token (another replica's). */
static void
merge_status(struct fleet *f, struct fnode *n, const struct node_rec *rec)
{
	int live = rec->status == NODE_APPROVED && rec->has_token;

	if (rec->status != n->r.status)
		status_move(f, n, rec->status); /* drops a token it loses */
	if (n->r.has_token &&
	    (!live ||
		sodium_memcmp(n->r.token_hash, rec->token_hash,
		    TOKEN_HASH_LEN) != 0)) {
		token_index_del(f, n->num);
		n->r.has_token = 0;
		sodium_memzero(n->r.token_hash, TOKEN_HASH_LEN);
	}
	if (live && !n->r.has_token) {
		memcpy(n->r.token_hash, rec->token_hash, TOKEN_HASH_LEN);
		n->r.has_token = 1;
		if (index_add(f, &f->by_token, n->num) == -1) {
			/* Out of memory: refused here until the next read. */
			n->r.has_token = 0;
			log_err("fleet_error",
			    "op=merge node_id=%s error=out_of_memory",
			    n->r.node_id);
		}
	}
	n->r.has_key = rec->has_key;
	memcpy(n->r.key_hash, rec->key_hash, TOKEN_HASH_LEN);
	if (rec->pinned_key_id[0] != '\0')
		memcpy(n->r.pinned_key_id, rec->pinned_key_id,
		    sizeof(n->r.pinned_key_id));
	if (rec->labels == NULL || strcmp(rec->labels, "{}") == 0) {
		free(n->r.labels);
		n->r.labels = NULL;
	} else if (set_str(&n->r.labels, rec->labels) == -1)
		log_err("fleet_error",
		    "op=merge node_id=%s error=out_of_memory", n->r.node_id);
}

/* With the lock: n takes rec's heartbeat facts when they are newer. */
static int
merge_heartbeat(struct fleet *f, struct fnode *n, const struct node_rec *rec)
{
	/* One of ours still on its way to the store is the newest. */
	if (rec->last_heartbeat_at <= n->r.last_heartbeat_at ||
	    n->r.heartbeat != NULL || n->hb_inflight != NULL)
		return 0;
	if (strcmp(n->r.hostname, rec->hostname) != 0) {
		size_t pos = order_pos(f, n);
		int    rc = set_str(&n->r.hostname, rec->hostname);

		order_fix(f, n, pos);
		if (rc == -1)
			return -1;
	}
	if (set_str(&n->r.agent_version, rec->agent_version) == -1)
		return -1;
	n->r.last_heartbeat_at = rec->last_heartbeat_at;
	if (rec->hb_cloudflare >= 0 && rec->hb_services_down >= 0) {
		n->cloudflare = (enum cf_state)rec->hb_cloudflare;
		n->services_down = rec->hb_services_down;
	}
	n->hb_seq = 0;			  /* the store's row holds it */
	n->load1 = n->mem_used_pct = NAN; /* another replica's to know */
	return 0;
}

int
fleet_merge(struct fleet *f, const struct node_rec *rec, uint64_t since)
{
	struct fnode *n;
	int	      was, rc = 0;

	pthread_mutex_lock(&f->mu);
	/*
	 * A row this process is committing (an enrollment, a status, a
	 * token) is its own to apply; the next read brings it again.
	 */
	if (is_settling(f, rec->node_id)) {
		pthread_mutex_unlock(&f->mu);
		return 0;
	}
	if ((n = find(f, rec->node_id)) == NULL) {
		rc = fleet_add(f, rec) == 0 && dirty_reserve(f) == 0 ? 0 : -1;
		pthread_mutex_unlock(&f->mu);
		return rc;
	}
	was = n->r.status == NODE_APPROVED && n->r.has_token;
	/*
	 * A status or token this process changed since the read began, or
	 * is committing now, is newer than the row read: the next read
	 * brings the row again.
	 */
	if (n->gen <= since)
		merge_status(f, n, rec);
	if (merge_heartbeat(f, n, rec) == -1)
		rc = -1;
	if (rec->last_scan_at > n->r.last_scan_at) {
		n->r.last_scan_at = rec->last_scan_at;
		memcpy(n->r.findings, rec->findings, sizeof(n->r.findings));
	}
	if (!is_deleted(n))
		attend(f, n, time(NULL));
	if (rc == 0 && was && !(n->r.status == NODE_APPROVED && n->r.has_token))
		rc = 1;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

struct counts {
	struct pending_count {
		char node_id[37];
		int  n;
	} * v;
	size_t n, cap;
	int    oom;
};

static void
count_cb(const char *node_id, int n, void *arg)
{
	struct counts *c = arg;

	if (c->n == c->cap) {
		size_t		      ncap = c->cap ? c->cap * 2 : 256;
		struct pending_count *nv = realloc(c->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			c->oom = 1;
			return;
		}
		c->v = nv;
		c->cap = ncap;
	}
	snprintf(c->v[c->n].node_id, sizeof(c->v[0].node_id), "%s", node_id);
	c->v[c->n++].n = n;
}

int
fleet_pending_reload(struct fleet *f)
{
	struct counts c = { 0 };

	if (store_commands_pending(f->store, count_cb, &c) == -1 || c.oom) {
		free(c.v);
		return -1;
	}
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++)
		f->node[i]->pending = 0;
	for (size_t i = 0; i < c.n; i++) {
		struct fnode *n = find(f, c.v[i].node_id);

		if (n != NULL)
			n->pending = c.v[i].n;
	}
	pthread_mutex_unlock(&f->mu);
	free(c.v);
	return 0;
}
