/*
 * writer: heartbeats written behind. A thread takes the nodes' dirty
 * heartbeats every FLUSH_MS, appends them to the store's log in one
 * transaction, and folds the oldest of the log into nodes, so an
 * acknowledged heartbeat is on disk within a second and a start after a
 * crash replays a bounded log.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet_int.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "writer.h"

/* Heartbeat seq is in the log now (numbers only grow). */
void
log_noted(struct fleet *f, int64_t seq)
{
	if (f->log_first == 0)
		f->log_first = seq;
	if (seq > f->log_last)
		f->log_last = seq;
}

/*
 * Moves each dirty node's heartbeat to the writer (w[i].json, nums[i] the
 * node's number): the node keeps it as hb_inflight, readable, until the
 * write is over. Hostname and version are copied (the node may change them).
 */
static void
take_dirty(struct fleet *f, struct hb_write **out, uint32_t **nums_out,
    size_t *nout)
{
	struct hb_write *w = NULL;
	uint32_t	*nums = NULL;
	size_t		 n = 0, keep = 0;

	pthread_mutex_lock(&f->mu);
	if (f->ndirty > 0 && (w = calloc(f->ndirty, sizeof(*w))) != NULL &&
	    (nums = calloc(f->ndirty, sizeof(*nums))) == NULL) {
		free(w);
		w = NULL;
	}
	for (size_t i = 0; w != NULL && i < f->ndirty; i++) {
		struct fnode *fn = f->node[f->dirty[i] - 1];

		memcpy(w[n].node_id, fn->r.node_id, 37);
		w[n].at = fn->r.last_heartbeat_at;
		w[n].hostname = strdup(fn->r.hostname);
		w[n].agent_version = strdup(fn->r.agent_version);
		w[n].cloudflare = (int)fn->cloudflare;
		w[n].services_down = fn->services_down;
		w[n].level = fn->level;
		w[n].reasons = fn->reasons;
		/* A revoked node's is not kept here: the store computes it. */
		w[n].due = fn->r.status == NODE_REVOKED ? 0 : fn->due;
		w[n].scan_at = fn->r.last_scan_at;
		w[n].critical = fn->r.findings[0];
		w[n].high = fn->r.findings[1];
		if (w[n].hostname == NULL || w[n].agent_version == NULL ||
		    fn->r.heartbeat == NULL) {
			free(w[n].hostname);
			free(w[n].agent_version);
			continue; /* stays dirty, next round */
		}
		w[n].json = fn->hb_inflight = fn->r.heartbeat;
		fn->r.heartbeat = NULL;
		fn->dirty = 0;
		nums[n++] = fn->num;
	}
	/* Keep the ones that could not be taken. */
	for (size_t i = 0; w != NULL && i < f->ndirty; i++)
		if (f->node[f->dirty[i] - 1]->dirty)
			f->dirty[keep++] = f->dirty[i];
	if (w != NULL)
		f->ndirty = keep;
	pthread_mutex_unlock(&f->mu);
	*out = w;
	*nums_out = nums;
	*nout = n;
}

/*
 * The write is over. Committed: the nodes let go of what the store now
 * has. Failed: each heartbeat goes back to its node, dirty again, unless a
 * newer one came meanwhile (that one is dirty already).
 */
static void
give_back(struct fleet *f, struct hb_write *w, const uint32_t *nums, size_t n,
    int committed)
{
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < n; i++) {
		struct fnode *fn = f->node[nums[i] - 1];

		if (fn->hb_inflight == w[i].json)
			fn->hb_inflight = NULL;
		if (committed) {
			fn->hb_seq = w[i].seq;
			if (w[i].seq > 0) /* 0: the store has no log */
				log_noted(f, w[i].seq);
			continue;
		}
		if (fn->r.heartbeat != NULL)
			continue;
		fn->r.heartbeat = w[i].json;
		w[i].json = NULL;
		if (!fn->dirty && f->ndirty < f->dirty_cap) {
			fn->dirty = 1;
			f->dirty[f->ndirty++] = fn->num;
		}
	}
	pthread_mutex_unlock(&f->mu);
}

/* Fold items in node id order: nodes' B-tree pages in order. */
static int
fold_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hb_fold *)a)->node_id,
	    ((const struct hb_fold *)b)->node_id);
}

/*
 * Folds the oldest heartbeats of the log into nodes (called with
 * flush_mu). The log keeps the fleet's size and an eighth (at least
 * LOG_ROWS_MIN heartbeats): at a 30 s heartbeat, the last 34 s. Past that
 * and a sixteenth more, the oldest down to it, at most LOG_FOLD_MAX at a
 * time (the store drops whole chunks: one that straddles the line waits
 * for the next fold); all of them when all is set. Only a node whose
 * latest heartbeat is among them is written into nodes: a live node has a
 * newer one in the log by then, so its old one is dropped, never
 * rewritten. What a start after a crash replays stays under 1.2 times the
 * fleet (plus a round and a chunk).
 */
static void
fold(struct fleet *f, int all)
{
	struct hb_fold *items;
	size_t		n = 0, cap, keep, slack;
	int64_t		rows, hi, cut;
	int		progress;

	for (;;) {
		pthread_mutex_lock(&f->mu);
		rows = f->log_first ? f->log_last - f->log_first + 1 : 0;
		keep = f->n + f->n / 8 > LOG_ROWS_MIN ? f->n + f->n / 8 :
							LOG_ROWS_MIN;
		slack = f->n / 16 > LOG_ROWS_MIN ? f->n / 16 : LOG_ROWS_MIN;
		if (rows == 0 || (!all && rows <= (int64_t)(keep + slack))) {
			pthread_mutex_unlock(&f->mu);
			return;
		}
		hi = all ? f->log_last : f->log_last - (int64_t)keep;
		if (hi - f->log_first + 1 > LOG_FOLD_MAX)
			hi = f->log_first + LOG_FOLD_MAX - 1;
		cap = (size_t)(hi - f->log_first + 1);
		if (cap > f->n)
			cap = f->n;
		if ((items = calloc(cap ? cap : 1, sizeof(*items))) == NULL) {
			pthread_mutex_unlock(&f->mu);
			return;
		}
		n = 0;
		for (size_t i = 0; i < f->n && n < cap; i++) {
			struct fnode *fn = f->node[i];

			if (fn->hb_seq >= f->log_first && fn->hb_seq <= hi) {
				memcpy(items[n].node_id, fn->r.node_id, 37);
				items[n++].seq = fn->hb_seq;
			}
		}
		pthread_mutex_unlock(&f->mu);
		qsort(items, n, sizeof(*items), fold_cmp);
		if (store_fold(f->store, items, n, hi, &cut) == -1) {
			log_err("heartbeat_fold_failed", "rows=%lld",
			    (long long)rows);
			free(items);
			return; /* the rows stay; next round */
		}
		pthread_mutex_lock(&f->mu);
		for (size_t i = 0; i < n; i++) {
			struct fnode *fn = find(f, items[i].node_id);

			if (fn != NULL && fn->hb_seq == items[i].seq)
				fn->hb_seq = 0; /* nodes has it now */
		}
		progress = cut >= f->log_first;
		if (progress)
			f->log_first = cut < f->log_last ? cut + 1 : 0;
		if (f->log_first == 0)
			f->log_last = 0;
		pthread_mutex_unlock(&f->mu);
		log_debug("heartbeat_fold", "rows=%lld folded=%zu cut=%lld",
		    (long long)rows, n, (long long)cut);
		free(items);
		/*
		 * One transaction a round; all of them at a stop, as long as
		 * chunks go (one holds far fewer than LOG_FOLD_MAX).
		 */
		if (!all || !progress)
			return;
	}
}

void
fleet_flush(struct fleet *f)
{
	struct hb_write *w;
	uint32_t	*nums;
	size_t		 n;
	int		 ok = 1;

	pthread_mutex_lock(&f->flush_mu); /* one flush at a time, in order */
	take_dirty(f, &w, &nums, &n);
	if (n > 0) {
		int64_t t0 = mono_ms();

		if (store_heartbeats(f->store, w, n) == -1) {
			log_err("heartbeat_flush_failed", "count=%zu", n);
			ok = 0;
		} else
			log_debug("heartbeat_flush", "count=%zu ms=%lld", n,
			    (long long)(mono_ms() - t0));
		give_back(f, w, nums, n, ok);
	}
	fold(f, 0);
	pthread_mutex_unlock(&f->flush_mu);
	for (size_t i = 0; i < n; i++) {
		free(w[i].json);
		free(w[i].hostname);
		free(w[i].agent_version);
	}
	free(w);
	free(nums);
}

void
fleet_fold_all(struct fleet *f)
{
	pthread_mutex_lock(&f->flush_mu);
	fold(f, 1);
	pthread_mutex_unlock(&f->flush_mu);
}

void *
fleet_writer_main(void *arg)
{
	struct fleet   *f = arg;
	struct timespec ts;
	int		stop = 0;

	while (!stop) {
		atomic_fetch_add(&f->writer_rounds, 1);
		pthread_mutex_lock(&f->mu);
		time_after(&ts, CLOCK_REALTIME, FLUSH_MS);
		while (!f->stop &&
		    pthread_cond_timedwait(&f->cv, &f->mu, &ts) != ETIMEDOUT)
			;
		stop = f->stop;
		pthread_mutex_unlock(&f->mu);
		fleet_flush(f);
	}
	return NULL;
}
