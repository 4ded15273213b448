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
