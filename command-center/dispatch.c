/*
 * dispatch: agents waiting in long polls. A waiting poll is a suspended
 * request (no thread held) in a bucket of its node; queueing a command
 * resumes the node's waiters at once, and a timer thread resumes the ones
 * whose wait ran out. One lock orders "check for queued commands, then
 * park" against "count the new command, then wake", so no wake-up is lost.
 * A node parks one poll at a time: its new poll ends the older one (with
 * an empty answer), so one node cannot take every slot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dispatch.h"
#include "log.h"
#include "util.h"

#define BUCKETS 4096

static _Atomic uint64_t timer_rounds; /* liveness, for the watchdog */
#define TICK_MS 100

struct waiter {
	const struct waiter_ops *ops;
	void			*ctx;
	char			 node_id[37];
	int64_t			 deadline_ms;
	int64_t			 woken_us; /* when a command woke it, or 0 */
	int			 parked;   /* in a bucket */
	int			 marked;   /* mark holds its bucket's wakes */
	uint64_t		 mark;
	int		superseded; /* a newer poll of its node took over */
	void	       *gift;	    /* handed commands (dispatch_hand) */
	size_t		ngift;
	struct waiter  *next;
	struct waiter **pprev;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t	cv;
	struct waiter  *bucket[BUCKETS];
	uint64_t	wakes[BUCKETS]; /* dispatch_wake()s so far */
	size_t		waiting;
	size_t		max_waiting;
	int		stopping;
	pthread_t	timer;
	int		started;
} d = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/*
 * Keyed (SipHash with a key drawn at start): agents choose their ids, so
 * ids sharing a prefix must not crowd one bucket.
 */
static unsigned char bucket_key[crypto_shorthash_KEYBYTES];

static unsigned
bucket_of(const char *node_id)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t      v;

	crypto_shorthash(h, (const unsigned char *)node_id, strlen(node_id),
	    bucket_key);
	memcpy(&v, h, sizeof(v));
	return (unsigned)(v % BUCKETS);
}

static void
unpark(struct waiter *w)
{
	if (!w->parked)
		return;
	*w->pprev = w->next;
	if (w->next != NULL)
		w->next->pprev = w->pprev;
	w->parked = 0;
	d.waiting--;
}

/* Resumes w (lock held): it leaves its bucket and its handler runs again. */
static void
wake(struct waiter *w)
{
	unpark(w);
	w->ops->resume(w->ctx);
}

static void *
timer_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&d.mu);
	for (unsigned tick = 0; !d.stopping; tick++) {
		atomic_fetch_add(&timer_rounds, 1);
		int64_t now = mono_ms();
		/*
		 * libmicrohttpd does not watch suspended connections, so once
		 * a second look for agents that hung up: their slot is freed.
		 */
		int check_gone = tick % (1000 / TICK_MS) == 0;

		for (size_t b = 0; b < BUCKETS; b++) {
			struct waiter *w = d.bucket[b], *next;

			for (; w != NULL; w = next) {
				next = w->next;
				if (w->deadline_ms <= now ||
				    (check_gone && w->ops->gone(w->ctx)))
					wake(w);
			}
		}
		time_after(&ts, CLOCK_REALTIME, TICK_MS);
		while (!d.stopping &&
		    pthread_cond_timedwait(&d.cv, &d.mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&d.mu);
	return NULL;
}

int
dispatch_start(size_t max_waiting)
{
	crypto_shorthash_keygen(bucket_key);
	d.max_waiting = max_waiting;
	if (pthread_create(&d.timer, NULL, timer_main, NULL) != 0)
		return -1;
	d.started = 1;
	return 0;
}

void
dispatch_shutdown(void)
{
	pthread_mutex_lock(&d.mu);
	d.stopping = 1;
	for (size_t b = 0; b < BUCKETS; b++)
		while (d.bucket[b] != NULL)
			wake(d.bucket[b]);
	pthread_cond_signal(&d.cv);
	pthread_mutex_unlock(&d.mu);
	if (d.started)
		pthread_join(d.timer, NULL);
	d.started = 0;
}

struct waiter *
dispatch_waiter_new(const struct waiter_ops *ops, void *ctx,
    const char *node_id, int64_t deadline_ms)
{
	struct waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->ops = ops;
	w->ctx = ctx;
	memcpy(w->node_id, node_id, 37);
	w->deadline_ms = deadline_ms;
	return w;
}

int
dispatch_park(struct waiter *w, int (*has_work)(const char *node_id))
{
	struct waiter **head;
	int		parked = 0;

	pthread_mutex_lock(&d.mu);
	head = &d.bucket[bucket_of(w->node_id)];
	/* The node's older poll ends now: one parked poll per node. */
	for (struct waiter *o = *head, *next; o != NULL; o = next) {
		next = o->next;
		if (strcmp(o->node_id, w->node_id) == 0) {
			o->superseded = 1;
			wake(o);
		}
	}
	if (d.stopping || d.waiting >= d.max_waiting ||
	    mono_ms() >= w->deadline_ms ||
	    (w->marked ? d.wakes[bucket_of(w->node_id)] != w->mark :
			 has_work(w->node_id)))
		goto out;
	w->next = *head;
	if (*head != NULL)
		(*head)->pprev = &w->next;
	w->pprev = head;
	*head = w;
	w->parked = 1;
	d.waiting++;
	w->ops->suspend(w->ctx);
	parked = 1;
	log_debug("poll_parked", "node_id=%s waiting=%zu", w->node_id,
	    d.waiting);
out:
	pthread_mutex_unlock(&d.mu);
	return parked;
}

void
dispatch_wake(const char *node_id)
{
	struct waiter *w, *next;

	pthread_mutex_lock(&d.mu);
	d.wakes[bucket_of(node_id)]++;
	for (w = d.bucket[bucket_of(node_id)]; w != NULL; w = next) {
		next = w->next;
		if (strcmp(w->node_id, node_id) == 0) {
			w->woken_us = mono_us();
			wake(w);
		}
	}
	pthread_mutex_unlock(&d.mu);
}

size_t
dispatch_claim(const char (*ids)[37], size_t n, struct waiter **claimed)
{
	size_t got = 0;

	pthread_mutex_lock(&d.mu);
	for (size_t i = 0; i < n; i++) {
		struct waiter *w = d.bucket[bucket_of(ids[i])];

		while (w != NULL && strcmp(w->node_id, ids[i]) != 0)
			w = w->next;
		claimed[i] = NULL;
		if (w == NULL || d.stopping)
			continue;
		/* An agent that hung up would be handed it in vain: it ends. */
		if (w->ops->gone(w->ctx)) {
			wake(w);
			continue;
		}
		unpark(w);
		claimed[i] = w;
		got++;
	}
	pthread_mutex_unlock(&d.mu);
	return got;
}

void
dispatch_hand(struct waiter *w, void *gift, size_t n)
{
	pthread_mutex_lock(&d.mu);
	w->gift = gift;
	w->ngift = gift != NULL ? n : 0;
	w->woken_us = mono_us();
	w->ops->resume(w->ctx);
	pthread_mutex_unlock(&d.mu);
}

void *
dispatch_handed(struct waiter *w, size_t *n)
{
	void *g;

	if (w == NULL) {
		*n = 0;
		return NULL;
	}
	pthread_mutex_lock(&d.mu);
	g = w->gift;
	*n = w->ngift;
	w->gift = NULL;
	w->ngift = 0;
	pthread_mutex_unlock(&d.mu);
	return g;
}

void
dispatch_mark(struct waiter *w)
{
	pthread_mutex_lock(&d.mu);
	w->mark = d.wakes[bucket_of(w->node_id)];
	w->marked = 1;
	pthread_mutex_unlock(&d.mu);
}

void
dispatch_wake_all(void)
{
	pthread_mutex_lock(&d.mu);
	for (size_t b = 0; b < BUCKETS; b++) {
		d.wakes[b]++;
		while (d.bucket[b] != NULL)
			wake(d.bucket[b]);
	}
	pthread_mutex_unlock(&d.mu);
}

void
dispatch_waiter_free(struct waiter *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&d.mu);
	unpark(w);
	pthread_mutex_unlock(&d.mu);
	free(w);
}

size_t
dispatch_waiting(void)
{
	size_t n;

	pthread_mutex_lock(&d.mu);
	n = d.waiting;
	pthread_mutex_unlock(&d.mu);
	return n;
}

int
dispatch_superseded(const struct waiter *w)
{
	int s;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&d.mu);
	s = w->superseded;
	pthread_mutex_unlock(&d.mu);
	return s;
}

int64_t
dispatch_woken_us(const struct waiter *w)
{
	return w != NULL ? w->woken_us : 0;
}

uint64_t
dispatch_timer_rounds(void)
{
	return atomic_load(&timer_rounds);
}
