/*
 * history: the samples behind the pictures. Every scheduler tick records
 * how many nodes are at each attention level (kept FLEET_SAMPLE_KEEP); at
 * most every HB_SAMPLE_SECS it records each node's load and memory from
 * its latest heartbeat (kept HB_SAMPLE_KEEP). Only nodes that sent a
 * heartbeat since the previous round are sampled, in batches of HB_BATCH
 * rows per transaction so the store's lock is never held for long, even
 * with 100,000 nodes. Runs on the main thread only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "history.h"
#include "log.h"
#include "views.h"

#define HB_BATCH 5000 /* samples per transaction */
#define HB_VIEWS 1024 /* node views copied per take of the fleet lock */

static void
sample_fleet(int64_t now)
{
	struct fleet_counts c;
	struct fleet_sample fs;
	struct node_view   *none;
	size_t		    n;

	/* The dashboard's own counts (from the database on replicas). */
	if ((none = views_page(now, -1, NULL, NULL, NULL, 0, 0, &n, &c)) ==
	    NULL) {
		log_err("history", "what=fleet error=views_failed");
		return;
	}
	free(none);
	fs.at = now;
	for (int l = 0; l < 3; l++)
		fs.count[l] = (int)c.by_level[l];
	if (store_fleet_sample(app.store, &fs, now - FLEET_SAMPLE_KEEP) == -1)
		log_err("history", "what=fleet error=store_failed");
}

/* Writes the k samples in w in one transaction: 0 or -1 (logged). */
static int
flush_samples(const struct hb_sample *w, size_t k, int64_t now)
{
	if (store_hb_samples_add(app.store, w, k, now - HB_SAMPLE_KEEP,
		2 * HB_BATCH) == -1) {
		log_err("history", "what=heartbeats error=store_failed");
		return -1;
	}
	return 0;
}

/* Nodes whose heartbeat arrived after `after`: one sample each. */
static void
sample_heartbeats(int64_t now, int64_t after)
{
	struct node_view *v = NULL;
	struct hb_sample *w;
	size_t		  n, k = 0, rows = 0, total = 0;

	if ((w = calloc(HB_BATCH, sizeof(*w))) == NULL) {
		log_err("history", "what=heartbeats error=out_of_memory");
		return;
	}
	/* The nodes in batches of views: the fleet's lock is held briefly. */
	do {
		if ((v = fleet_list_range(app.fleet, now, total, HB_VIEWS, &n,
			 NULL)) == NULL) {
			log_err("history",
			    "what=heartbeats error=out_of_memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			/* Values of heartbeats received since the start only. */
			if (v[i].status == NODE_DELETED ||
			    v[i].last_heartbeat_at <= after ||
			    (isnan(v[i].load1) && isnan(v[i].mem_used_pct)))
				continue;
			snprintf(w[k].node_id, sizeof(w[k].node_id), "%s",
			    v[i].node_id);
			w[k].at = v[i].last_heartbeat_at;
			w[k].load1 = v[i].load1;
			w[k].mem_used_pct = v[i].mem_used_pct;
			/* A full batch: one transaction. */
			if (++k == HB_BATCH) {
				if (flush_samples(w, k, now) == -1)
					goto out;
				rows += k;
				k = 0;
			}
		}
		total += n;
		free(v);
		v = NULL;
	} while (n == HB_VIEWS);
	/* The rest; with nothing new, still drop what is too old. */
	if ((k > 0 || rows == 0) && flush_samples(w, k, now) == 0)
		rows += k;
	log_debug("history", "what=heartbeats nodes=%zu samples=%zu", total,
	    rows);
out:
	free(w);
	free(v);
}

int64_t
hb_sample_secs(size_t nodes)
{
	/*
	 * Past 5,000 nodes the interval grows with the fleet, so the samples
	 * table stays near 1.4 million rows a day however large it is.
	 */
	int64_t by_size = (int64_t)(nodes * 60 / 1000);

	return by_size > HB_SAMPLE_SECS ? by_size : HB_SAMPLE_SECS;
}

void
history_sample(int64_t now)
{
	static int64_t last_hb;
	int64_t	       every = hb_sample_secs(fleet_size(app.fleet));

	sample_fleet(now);
	if (last_hb != 0 && now - last_hb < every)
		return;
	/* After a start, only heartbeats of the last interval count. */
	sample_heartbeats(now, last_hb != 0 ? last_hb : now - every);
	last_hb = now;
}
