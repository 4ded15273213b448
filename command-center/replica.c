/*
 * replica: command centers sharing one database act as one. One thread
 * per replica listens to the database (store_replica_listen()):
 *  - a command queued elsewhere wakes the node's parked poll here at once
 *    (its queued count reached the fleet through the store's hook);
 *  - node rows changed elsewhere (enrollments, approvals, revocations,
 *    deletions, heartbeats, scans) are read every READ_MS, and at once
 *    when a status or token changed, and merged into the fleet;
 *  - one replica at a time leads (an advisory lock on the listening
 *    connection): it alone runs the scheduler, command expiry, delivery
 *    leases and the fleet's samples.
 * A replica whose last read began REPLICA_FRESH_MS ago or more refuses
 * agents (agent_api.c) and reports itself down (/healthz): a revocation
 * made elsewhere is never ignored here for longer than that.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "app.h"
#include "dispatch.h"
#include "fleet.h"
#include "log.h"
#include "metrics.h"
#include "replica.h"
#include "store.h"
#include "util.h"

#define READ_MS 250
#define RECOUNT_MS 60000 /* queued counts read again (drift heals) */

static struct {
	pthread_t	thread;
	int		started;
	_Atomic int	stop;
	_Atomic int	leads;
	_Atomic int64_t read_us; /* when the last good read began (mono) */
	pthread_mutex_t read_mu; /* one read at a time; guards cursor */
	int64_t		cursor;
	int		read_now; /* a status or token changed: read */
} rp = { .read_mu = PTHREAD_MUTEX_INITIALIZER };

static int
merge_cb(const struct node_rec *rec, void *arg)
{
	const uint64_t *since = arg;
	int		rc = fleet_merge(app.fleet, rec, *since);

	if (rc == 1) { /* its token stopped: a parked poll ends now */
		dispatch_wake(rec->node_id);
		log_info("replica_node_refused", "node_id=%s status=%s",
		    rec->node_id, status_name(rec->status));
	}
	return rc == -1 ? -1 : 0;
}

/* Reads the node rows changed since the last read (read_mu held). */
static int
read_changes(void)
{
	int64_t	 t0 = mono_us();
	uint64_t since = fleet_gen(app.fleet);

	if (store_nodes_changed(app.store, &rp.cursor, merge_cb, &since) == -1)
		return -1;
	atomic_store(&rp.read_us, t0);
	return 0;
}

static void
heard(enum store_note what, const char *node_id, int delta, int64_t lag_us,
    void *arg)
{
	(void)arg;
	if (what == STORE_NOTE_NODE) {
		rp.read_now = 1;
		return;
	}
	if (lag_us >= 0)
		metrics_notify_lag(lag_us);
	if (delta > 0)
		dispatch_wake(node_id);
}

static void *
replica_main(void *arg)
{
	int64_t next_read = 0, next_recount = 0, now;
	int	rc, was_up = 1;

	(void)arg;
	while (!atomic_load(&rp.stop)) {
		rc = store_replica_listen(app.store, READ_MS, heard, NULL);
		if (rc == -1) {
			atomic_store(&rp.leads, 0);
			if (was_up)
				log_err("replica_cut_off",
				    "error=\"the database cannot be reached\"");
			was_up = 0;
			struct timespec ts = { 0, READ_MS * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		now = mono_ms();
		if (rc == 1) {
			/*
			 * A new connection: what was told before it went
			 * unheard. Counts and rows are read again, and every
			 * parked poll looks for its commands itself.
			 */
			next_read = next_recount = 0;
			dispatch_wake_all();
		}
		if (rp.read_now || now >= next_read) {
			rp.read_now = 0;
			pthread_mutex_lock(&rp.read_mu);
			rc = read_changes();
			pthread_mutex_unlock(&rp.read_mu);
			if (rc == 0)
				next_read = now + READ_MS;
		}
		if (now >= next_recount && fleet_pending_reload(app.fleet) == 0)
			next_recount = now + RECOUNT_MS;
		rc = store_replica_lead(app.store);
		if (rc == 1 && !atomic_load(&rp.leads))
			log_info("replica_leads", "since_ms=%lld",
			    (long long)now);
		atomic_store(&rp.leads, rc == 1);
		if (!was_up && replica_fresh())
			log_info("replica_reconnected", "leads=%d", rc == 1);
		was_up = replica_fresh();
	}
	return NULL;
}

int
replica_start(void)
{
	if (!store_shared(app.store))
		return 0;
	/*
	 * Listening, then the first read, before any request: what changes
	 * from here on is heard (a failure here is the thread's to retry).
	 */
	(void)store_replica_listen(app.store, 0, heard, NULL);
	pthread_mutex_lock(&rp.read_mu);
	(void)read_changes();
	pthread_mutex_unlock(&rp.read_mu);
	if (pthread_create(&rp.thread, NULL, replica_main, NULL) != 0)
		return -1;
	rp.started = 1;
	return 0;
}

void
replica_stop(void)
{
	if (!rp.started)
		return;
	atomic_store(&rp.stop, 1);
	pthread_join(rp.thread, NULL);
	rp.started = 0;
}

int
replica_leads(void)
{
	if (!store_shared(app.store))
		return 1;
	return atomic_load(&rp.leads) && replica_fresh();
}

int64_t
replica_read_age_ms(void)
{
	int64_t at = atomic_load(&rp.read_us);

	if (!store_shared(app.store))
		return 0;
	return at == 0 ? INT64_MAX : (mono_us() - at) / 1000;
}

int
replica_fresh(void)
{
	return replica_read_age_ms() < REPLICA_FRESH_MS;
}

int
replica_catch_up(void)
{
	int64_t asked = mono_us();
	int	rc = 0;

	if (!store_shared(app.store))
		return 0;
	/*
	 * A read that began after the question serves it: callers that
	 * waited for one share it, and one read at a time runs.
	 */
	pthread_mutex_lock(&rp.read_mu);
	if (atomic_load(&rp.read_us) <= asked)
		rc = read_changes();
	pthread_mutex_unlock(&rp.read_mu);
	return rc;
}

int
replica_metrics(struct buf *b)
{
	int64_t age = replica_read_age_ms();

	if (!store_shared(app.store))
		return 0;
	buf_printf(b,
	    "# HELP vaultmesh_replica_leader 1 while this replica runs "
	    "the scheduler, expiry and samples.\n"
	    "# TYPE vaultmesh_replica_leader gauge\n"
	    "vaultmesh_replica_leader %d\n"
	    "# HELP vaultmesh_replica_read_age_seconds Since the last "
	    "read of the nodes other replicas changed began.\n"
	    "# TYPE vaultmesh_replica_read_age_seconds gauge\n"
	    "vaultmesh_replica_read_age_seconds %.3f\n",
	    replica_leads(), age == INT64_MAX ? -1.0 : (double)age / 1000.0);
	return buf_failed(b) ? -1 : 0;
}
