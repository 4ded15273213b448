/*
 * metrics: counters and histograms kept with atomics (no lock on the hot
 * path), rendered in the Prometheus text format by GET /metrics together
 * with gauges computed at scrape time from the fleet and the store.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "dispatch.h"
#include "http.h"
#include "metrics.h"

static const char *const counter_name[M_COUNTERS][2] = {
	[M_HEARTBEATS] = { "vaultmesh_heartbeats_total", NULL },
	[M_HEARTBEATS_REFUSED] = { "vaultmesh_heartbeats_refused_total", NULL },
	[M_ENROLL_APPROVED] = { "vaultmesh_enrollments_total", "approved" },
	[M_ENROLL_PENDING] = { "vaultmesh_enrollments_total", "pending" },
	[M_ENROLL_CONFLICT] = { "vaultmesh_enrollments_total", "conflict" },
	[M_ENROLL_REVOKED] = { "vaultmesh_enrollments_total", "revoked" },
	[M_ENROLL_KEY_MISMATCH] = { "vaultmesh_enrollments_total",
	    "key_mismatch" },
	[M_ENROLL_FAILED] = { "vaultmesh_enrollments_total", "failed" },
	[M_ENROLL_BAD_SECRET] = { "vaultmesh_enroll_bad_secret_total", NULL },
	[M_ENROLL_DELETED] = { "vaultmesh_enrollments_total", "deleted" },
	[M_ENROLL_LIMITED] = { "vaultmesh_enrollments_total", "limited" },
};

static _Atomic uint64_t counters[M_COUNTERS];

/* Upper bounds of the buckets, in microseconds. */
static const int64_t dispatch_le[] = { 1000, 5000, 10000, 25000, 50000, 100000,
	250000, 1000000, 5000000 };
static const int64_t store_le[] = { 100, 500, 1000, 5000, 10000, 50000, 100000,
	500000, 1000000 };
#define NBUCKETS 9

/*
 * Each observation is counted in exactly one slot: the first bucket whose
 * bound holds it, or bucket[NBUCKETS] above the last bound. There is no
 * separate total: the count is the sum of the slots, so the cumulative
 * buckets, +Inf and _count all come from one snapshot and agree however
 * observations race with a scrape.
 */
struct histogram {
	const char	*name;
	const char	*help;
	const int64_t	*le;
	_Atomic uint64_t bucket[NBUCKETS + 1];
	_Atomic uint64_t sum_us;
};

static struct histogram dispatch_h = { "vaultmesh_dispatch_delay_seconds",
	"Time from a command's commit to the answer of the agent's waiting poll.",
	dispatch_le, { 0 }, 0 };
static struct histogram notify_h = { "vaultmesh_replica_notify_lag_seconds",
	"Time from another replica's change of a queued command to its "
	"notice here (PostgreSQL; the two hosts' clocks).",
	dispatch_le, { 0 }, 0 };
static struct histogram store_h = { "vaultmesh_store_write_seconds",
	"Time of one store write transaction (commit included).", store_le,
	{ 0 }, 0 };

void
metrics_inc(enum metric_counter c)
{
	atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

static void
observe(struct histogram *h, int64_t us)
{
	int i = 0;

	if (us < 0)
		us = 0;
	while (i < NBUCKETS && us > h->le[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us,
	    memory_order_relaxed);
}

void
metrics_notify_lag(int64_t us)
{
	observe(&notify_h, us);
}

void
metrics_dispatch_delay(int64_t us)
{
	observe(&dispatch_h, us);
}

void
metrics_store_write(int64_t us)
{
	observe(&store_h, us);
}

/*
 * Prometheus wants cumulative buckets and +Inf == _count. Each slot is
 * read once into a local copy and everything printed is summed from that
 * copy: the buckets cannot decrease and +Inf, the sum of every slot, is
 * the _count printed. _sum is read on its own (it may run a few
 * observations ahead or behind, which the format allows).
 */
static void
render_histogram(struct buf *b, struct histogram *h)
{
	uint64_t snap[NBUCKETS + 1], cum = 0;

	for (int i = 0; i <= NBUCKETS; i++)
		snap[i] =
		    atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
	buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help,
	    h->name);
	for (int i = 0; i < NBUCKETS; i++) {
		cum += snap[i];
		buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", h->name,
		    (double)h->le[i] / 1e6, (unsigned long long)cum);
	}
	cum += snap[NBUCKETS];
	buf_printf(b,
	    "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
	    h->name, (unsigned long long)cum, h->name,
	    (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) /
		1e6,
	    h->name, (unsigned long long)cum);
}

static int
command_count(const char *command, const char *status, int n, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "vaultmesh_commands{command=\"%s\",status=\"%s\"} %d\n",
	    command, status, n);
	return 0;
}

int
metrics_render(struct buf *b, int64_t now)
{
	static const char *const st[] = { "pending", "approved", "revoked" };
	static const char *const lv[] = { "green", "yellow", "red" };
	struct fleet_summary	 fs;
	int			 up;

	fleet_summarize(app.fleet, now, &fs);
	buf_puts(b,
	    "# HELP vaultmesh_nodes Nodes by enrollment status.\n"
	    "# TYPE vaultmesh_nodes gauge\n");
	for (int i = 0; i < 3; i++)
		buf_printf(b, "vaultmesh_nodes{status=\"%s\"} %zu\n", st[i],
		    fs.by_status[i]);
	buf_puts(b,
	    "# HELP vaultmesh_nodes_attention Nodes by attention level."
	    "\n# TYPE vaultmesh_nodes_attention gauge\n");
	for (int i = 0; i < 3; i++)
		buf_printf(b, "vaultmesh_nodes_attention{level=\"%s\"} %zu\n",
		    lv[i], fs.by_level[i]);
	buf_puts(b,
	    "# HELP vaultmesh_nodes_never_scanned Approved nodes never "
	    "scanned.\n# TYPE vaultmesh_nodes_never_scanned gauge\n");
	buf_printf(b, "vaultmesh_nodes_never_scanned %zu\n", fs.never_scanned);
	buf_puts(b,
	    "# HELP vaultmesh_scan_age_max_seconds Age of the oldest "
	    "latest scan among scanned nodes.\n"
	    "# TYPE vaultmesh_scan_age_max_seconds gauge\n");
	buf_printf(b, "vaultmesh_scan_age_max_seconds %lld\n",
	    (long long)fs.scan_age_max);
	buf_puts(b,
	    "# HELP vaultmesh_longpolls_waiting Agents waiting in a long "
	    "poll.\n# TYPE vaultmesh_longpolls_waiting gauge\n");
	buf_printf(b, "vaultmesh_longpolls_waiting %zu\n", dispatch_waiting());
	{
		size_t max, pending = fleet_pending_nodes(app.fleet, &max);

		buf_puts(b,
		    "# HELP vaultmesh_nodes_pending_max Pending nodes "
		    "allowed at once (VAULTMESH_MAX_PENDING_NODES).\n"
		    "# TYPE vaultmesh_nodes_pending_max gauge\n");
		buf_printf(b, "vaultmesh_nodes_pending_max %zu\n", max);
		buf_puts(b,
		    "# HELP vaultmesh_nodes_pending Nodes waiting for an "
		    "operator's approval.\n"
		    "# TYPE vaultmesh_nodes_pending gauge\n");
		buf_printf(b, "vaultmesh_nodes_pending %zu\n", pending);
	}
	buf_puts(b,
	    "# HELP vaultmesh_http_body_bytes_held Request body bytes "
	    "reserved now (VAULTMESH_MAX_BODY_BYTES caps them).\n"
	    "# TYPE vaultmesh_http_body_bytes_held gauge\n");
	buf_printf(b, "vaultmesh_http_body_bytes_held %zu\n", http_body_held());
	buf_puts(b,
	    "# HELP vaultmesh_http_slow_clients_cut_total Connections "
	    "cut for late headers or a body below the minimum rate.\n"
	    "# TYPE vaultmesh_http_slow_clients_cut_total counter\n");
	buf_printf(b, "vaultmesh_http_slow_clients_cut_total %llu\n",
	    (unsigned long long)http_slow_cut());
	buf_puts(b,
	    "# HELP vaultmesh_http_evicted_total Connections waiting for "
	    "headers cut to make room at the connection limit.\n"
	    "# TYPE vaultmesh_http_evicted_total counter\n");
	buf_printf(b, "vaultmesh_http_evicted_total %llu\n",
	    (unsigned long long)http_evicted());

	/*
	 * One family (HELP, TYPE, then every outcome) per name, printed at
	 * its first counter: Prometheus wants a family's samples together,
	 * and outcomes added at the end of the enum still join theirs. A
	 * counter left out of counter_name is skipped, not dereferenced.
	 */
	for (int i = 0; i < M_COUNTERS; i++) {
		const char *name = counter_name[i][0];
		int	    seen = 0;

		for (int j = 0; j < i && name != NULL; j++)
			if (counter_name[j][0] != NULL &&
			    strcmp(counter_name[j][0], name) == 0)
				seen = 1;
		if (name == NULL || seen)
			continue;
		buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name,
		    i == M_HEARTBEATS ? "Heartbeats accepted." :
			i == M_HEARTBEATS_REFUSED ?
					"Heartbeats refused "
					"(bad token or body)." :
			i == M_ENROLL_BAD_SECRET ?
					"Enrollments with a wrong secret." :
					"Enrollment requests by outcome.",
		    name);
		for (int j = i; j < M_COUNTERS; j++) {
			uint64_t v = atomic_load_explicit(&counters[j],
			    memory_order_relaxed);

			if (counter_name[j][0] == NULL ||
			    strcmp(counter_name[j][0], name) != 0)
				continue;
			if (counter_name[j][1] != NULL)
				buf_printf(b, "%s{outcome=\"%s\"} %llu\n", name,
				    counter_name[j][1], (unsigned long long)v);
			else
				buf_printf(b, "%s %llu\n", name,
				    (unsigned long long)v);
		}
	}
	/* The store answers (a trivial query, its lock not stuck), by backend. */
	up = store_ping(app.store) == 0;
	buf_printf(b,
	    "# HELP vaultmesh_store_up 1 while the store answers a trivial "
	    "query.\n# TYPE vaultmesh_store_up gauge\n"
	    "vaultmesh_store_up{backend=\"%s\"} %d\n",
	    store_backend(app.store), up);
	buf_puts(b,
	    "# HELP vaultmesh_commands Commands in the store by name and "
	    "status.\n# TYPE vaultmesh_commands gauge\n");
	/* A store that does not answer leaves them out; the rest still counts. */
	if (up && store_command_counts(app.store, command_count, b) == -1)
		return -1;
	if (store_shared(app.store)) /* replicas (their gauges: replica.c) */
		render_histogram(b, &notify_h);
	render_histogram(b, &dispatch_h);
	render_histogram(b, &store_h);
	return buf_failed(b) ? -1 : 0;
}
