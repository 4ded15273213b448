/*
 * watchdog: each watched worker thread's deadline, moved forward before
 * anything that may block; the main thread pings systemd while none has
 * passed (see watchdog.h).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "defs.h"
#include "util.h"
#include "watchdog.h"

/* The calling thread's deadline, when it is watched. */
static _Thread_local _Atomic int64_t *wd_cell;

void
watchdog_watch(struct watchdog *w, enum agent_wd_slot slot)
{
	wd_cell = &w->deadline[slot];
	watchdog_expect(0);
}

void
watchdog_expect(int64_t ms)
{
	const int64_t cap = INT64_MAX / 4; /* "forever" without overflow */

	if (wd_cell == NULL)
		return;
	if (ms < 0)
		ms = 0;
	atomic_store(wd_cell,
	    mono_ms() + (ms < cap ? ms : cap) + AGENT_WD_GRACE_MS);
}

int
watchdog_alive(struct watchdog *w, int64_t now, enum agent_wd_slot *late)
{
	for (int i = 0; i < AGENT_WD_SLOTS; i++) {
		int64_t d = atomic_load(&w->deadline[i]);

		if (d != 0 && now > d) {
			*late = (enum agent_wd_slot)i;
			return 0;
		}
	}
	return 1;
}
