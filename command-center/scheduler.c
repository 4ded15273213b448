/*
 * scheduler: every VAULTMESH_SCHEDULER_TICK_SECONDS, a job (the built-in
 * recurring one, created by "scheduler") of a signed sovereign-scan for
 * each approved node whose policy allows scans and whose last scan is
 * older than VAULTMESH_SCAN_INTERVAL_HOURS (or that was never scanned),
 * unless one is already queued or delivered. Every decision is logged:
 * due ones at info, the others at debug. Each tick also records
 * the samples the dashboard's pictures are drawn from (history.c).
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "history.h"
#include "jobs.h"
#include "policy.h"
#include "scheduler.h"
#include "log.h"

#define SCAN "sovereign-scan"
#define SCHED_VIEWS 1024 /* node views copied per take of the fleet lock */

enum sched_decision
scheduler_decide(enum node_status st, int64_t last_scan_at,
    int policy_allows_scan, int scan_open, int64_t now, int64_t interval_secs)
{
	if (st != NODE_APPROVED)
		return SCHED_NOT_APPROVED;
	if (!policy_allows_scan)
		return SCHED_FORBIDDEN;
	if (last_scan_at != 0 && now - last_scan_at < interval_secs)
		return SCHED_NOT_DUE;
	if (scan_open)
		return SCHED_PENDING;
	return SCHED_DUE;
}

const char *
sched_decision_name(enum sched_decision d)
{
	switch (d) {
	case SCHED_DUE:
		return "due";
	case SCHED_NOT_DUE:
		return "not_due";
	case SCHED_FORBIDDEN:
		return "forbidden_by_policy";
	case SCHED_PENDING:
		return "already_pending";
	default:
		return "not_approved";
	}
}

size_t
scheduler_budget(size_t nodes, int64_t tick_secs, int64_t interval_secs)
{
	/* Twice the pace that scans the whole fleet once per interval. */
	size_t pace = (size_t)(((uint64_t)nodes * (uint64_t)tick_secs * 2 +
				   (uint64_t)interval_secs - 1) /
	    (uint64_t)interval_secs);

	return pace > SCHED_MIN_BUDGET ? pace : SCHED_MIN_BUDGET;
}

/* The nodes due this tick (within the budget). */
struct due_nodes {
	char (*id)[37];
	size_t n, cap;
	size_t deferred;
};

/* Decides for one node and takes it when due and within the budget. */
static void
schedule_one(const struct node_view *v, int64_t now, int64_t interval,
    size_t budget, struct due_nodes *due)
{
	enum sched_decision d;
	char(*nid)[37];
	int allowed, open = 0;

	allowed = policy_allows(v->os_profile, SCAN);
	/* Ask the store only for nodes that could be due. */
	d = scheduler_decide(v->status, v->last_scan_at, allowed, 0, now,
	    interval);
	if (d == SCHED_DUE) {
		open = store_command_open(app.store, v->node_id, SCAN);
		d = scheduler_decide(v->status, v->last_scan_at, allowed,
		    open != 0, now, interval);
	}
	if (d != SCHED_DUE) {
		log_debug("scheduler", "node_id=%s decision=%s", v->node_id,
		    sched_decision_name(d));
		return;
	}
	if (due->n >= budget) {
		due->deferred++;
		return;
	}
	if (due->n == due->cap) {
		due->cap = due->cap ? due->cap * 2 : 64;
		if ((nid = realloc(due->id, due->cap * sizeof(*nid))) == NULL) {
			log_err("scheduler", "error=out_of_memory");
			due->cap = due->n;
			return;
		}
		due->id = nid;
	}
	snprintf(due->id[due->n++], 37, "%s", v->node_id);
	log_info("scheduler", "node_id=%s decision=due", v->node_id);
}

/*
 * The tick's scans as one job, the built-in recurring one: created by
 * "scheduler", every due node at once, on the jobs page like any other.
 */
static void
scan_job(struct due_nodes *due, int64_t interval)
{
	struct job_spec	   spec;
	struct job_preview p;
	char		   reason[128], job_id[37];
	json_t		  *args = json_object();

	memset(&spec, 0, sizeof(spec));
	memset(&p, 0, sizeof(p));
	snprintf(reason, sizeof(reason),
	    "scheduled scan: never scanned, or last scan over %lld h ago",
	    (long long)(interval / 3600));
	spec.command = SCAN;
	spec.args = args;
	spec.reason = reason;
	spec.created_by = "scheduler";
	spec.ro.max_failure_pct = -1;
	spec.target_text = "{\"builtin\":\"scheduled-scan\"}";
	p.ids = due->id;
	p.n = due->n;
	p.waves = 1;
	if (args == NULL || jobs_create(&spec, &p, job_id) == -1)
		log_err("scheduler", "nodes=%zu error=queue_failed", due->n);
	else
		log_info("scheduler_job", "job_id=%s nodes=%zu", job_id,
		    due->n);
	json_decref(args);
}

void
scheduler_tick(int64_t now)
{
	struct node_view *v;
	struct due_nodes  due = { NULL, 0, 0, 0 };
	size_t		  n, total = 0, budget;
	int64_t		  interval = app.cfg.scan_interval_hours * 3600;

	/*
	 * A budget per tick: a large fleet that is all due at once (a first
	 * start, a long outage) is scanned over the interval, not in one
	 * storm of commits on this thread and scans on every node.
	 */
	budget = scheduler_budget(fleet_size(app.fleet),
	    app.cfg.scheduler_tick_seconds, interval);
	/* The nodes in batches: the fleet's lock is held for one at a time. */
	do {
		if ((v = fleet_list_range(app.fleet, now, total, SCHED_VIEWS,
			 &n, NULL)) == NULL) {
			log_err("scheduler", "error=out_of_memory");
			break;
		}
		for (size_t i = 0; i < n; i++)
			schedule_one(&v[i], now, interval, budget, &due);
		total += n;
		free(v);
	} while (n == SCHED_VIEWS);
	if (due.n > 0)
		scan_job(&due, interval);
	if (due.deferred > 0)
		log_info("scheduler_deferred",
		    "due=%zu budget=%zu msg=\"the rest at the next ticks\"",
		    due.deferred, budget);
	log_debug("scheduler_tick", "nodes=%zu queued=%zu", total, due.n);
	free(due.id);
	/* The pictures: attention per level, load and memory per node. */
	history_sample(now);
}
