/*
 * views: the dashboard's table and GET /nodes. Replicas on one database
 * read them from the database (store_views()), so none needs the whole
 * fleet in memory to answer them; a lone command center reads its fleet
 * in memory (fleet_page(), fleet_list_range()).
 */
#ifndef VM_CC_VIEWS_H
#define VM_CC_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "fleet.h"

/*
 * Writes this replica's heartbeats not yet written, then brings the
 * attention the store keeps beside each row to now (the rows whose due
 * has come): 0 (also without views), or -1 when the store failed.
 * views_page() calls it; GET /nodes calls it before it answers.
 */
int views_ready(int64_t now);

/*
 * fleet_page()'s answer, from whichever holds the views: NULL when the
 * store failed or memory ran out.
 */
struct node_view *views_page(int64_t now, int level, const char *q,
    node_pred pred, const void *parg, size_t first, size_t max, size_t *n,
    struct fleet_counts *c);

/* Where GET /nodes has got to. */
struct views_cursor {
	size_t next;	  /* the fleet's next node */
	char   after[37]; /* the store's last node id */
	int    done;
};

/*
 * The next nodes of GET /nodes (deleted ones aside), up to max, with
 * their heartbeat documents (hb[i] malloc'd or NULL): the views, or NULL
 * when the store failed or memory ran out. cur->done when none is left.
 * From the store, pending is 0 (GET /nodes does not show it).
 */
struct node_view *views_list(int64_t now, struct views_cursor *cur, size_t max,
    size_t *n, char ***hb);

/* The leader's, once a second: views_ready(), a failure logged. */
void views_tick(int64_t now);

#endif
