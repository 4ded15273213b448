/*
 * watchdog: the deadlines of the agent's worker threads (watchdog.c). A
 * worker thread registers with watchdog_watch(); before anything that may
 * block it announces how long with watchdog_expect(ms) (agent_sleep,
 * every HTTP request and every command do), which moves its deadline to
 * now + ms + AGENT_WD_GRACE_MS. The main thread pings systemd
 * (WATCHDOG=1) only while no deadline has passed, so a wedged thread gets
 * the agent restarted. watchdog_expect() is a no-op on unwatched threads.
 */
#ifndef VM_AGENT_WATCHDOG_H
#define VM_AGENT_WATCHDOG_H

#include <stdint.h>

/* The threads the watchdog watches. */
enum agent_wd_slot { AGENT_WD_HEARTBEAT, AGENT_WD_POLL, AGENT_WD_SLOTS };

struct watchdog {
	/* Monotonic ms by which each watched thread must be back; 0: none. */
	_Atomic int64_t deadline[AGENT_WD_SLOTS];
};

/* The calling thread is watched in slot of w from now on. */
void watchdog_watch(struct watchdog *w, enum agent_wd_slot slot);
void watchdog_expect(int64_t ms);
/* 1 when no watched thread is past its deadline at now (mono ms); else 0, *late set. */
int watchdog_alive(struct watchdog *w, int64_t now, enum agent_wd_slot *late);

#endif
