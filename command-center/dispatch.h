/*
 * dispatch: agents waiting in long polls (dispatch.c).
 */
#ifndef VM_CC_DISPATCH_H
#define VM_CC_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

struct waiter;

/*
 * What a parked poll is to dispatch: the route's request behind three
 * functions (dispatch knows no HTTP). suspend parks it (called with the
 * lock resume's callers take), resume makes its handler run again (any
 * thread), gone says whether its client hung up.
 */
struct waiter_ops {
	void (*suspend)(void *ctx);
	void (*resume)(void *ctx);
	int (*gone)(void *ctx);
};

/* Starts the timer thread; at most max_waiting polls park at once. */
int dispatch_start(size_t max_waiting);
/* Resumes every waiting poll and stops the timer. */
void	       dispatch_shutdown(void);
struct waiter *dispatch_waiter_new(const struct waiter_ops *ops, void *ctx,
    const char *node_id, int64_t deadline_ms);
/*
 * Parks the request unless has_work(node_id), the deadline passed, too many
 * wait or we are stopping: 1 parked (suspended), 0 answer now.
 */
int dispatch_park(struct waiter *w, int (*has_work)(const char *node_id));
/*
 * Instead of has_work: the caller looks for work itself after this, and
 * dispatch_park() (has_work NULL) then parks w only if no dispatch_wake()
 * of its node (or of a node sharing its bucket) came since.
 */
void dispatch_mark(struct waiter *w);
/* Resumes every poll of node_id. */
void dispatch_wake(const char *node_id);
/* Resumes every poll (what woke them may have gone unheard). */
void dispatch_wake_all(void);
/*
 * Jobs: takes the parked poll of each of ids out of its bucket without
 * resuming it (claimed[i]; NULL when the node has none parked), so the
 * caller can deliver its command in the very transaction that queues it.
 * Every claimed poll must then go to dispatch_hand(). How many.
 */
size_t dispatch_claim(const char (*ids)[37], size_t n, struct waiter **claimed);
/*
 * Resumes a claimed poll with what it is handed (the caller's gift of n
 * commands, taken; NULL: nothing, it answers as if woken).
 */
void dispatch_hand(struct waiter *w, void *gift, size_t n);
/* What w was handed (now the caller's), or NULL. */
void *dispatch_handed(struct waiter *w, size_t *n);
/* Takes w out of its bucket (if there) and frees it. */
void   dispatch_waiter_free(struct waiter *w);
size_t dispatch_waiting(void);
/* Rounds of the timer thread so far (it must keep turning). */
uint64_t dispatch_timer_rounds(void);
/* 1 when a newer poll of w's node ended w (it answers empty). */
int dispatch_superseded(const struct waiter *w);
/* When a queued command woke w (monotonic µs), or 0. */
int64_t dispatch_woken_us(const struct waiter *w);

#endif
