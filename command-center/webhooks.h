/*
 * webhooks: alerts to chat and paging services (issue 19, part 4;
 * webhooks.c). VAULTMESH_WEBHOOKS_PATH names a JSON list of endpoints,
 * {"url", "secret", "events"}, as CONTRACT.md pins it. An event becomes one
 * row per subscribed endpoint in a durable outbox in the store, written
 * where the event happens; the leader's delivery thread sends each
 * endpoint's rows in order, signed
 *
 *   X-VaultMesh-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 *   "<t>.<body>" under the endpoint's secret>
 *
 * and retries failures with backoff: nothing is lost across restarts, an
 * event may come twice (its body's "id" tells). Events: node.attention_changed
 * (the leader compares every node's level with the last one it told, once a
 * second; at most one event per node in VAULTMESH_WEBHOOK_FLAP_SECONDS, the
 * net change told when it has passed), node.pending, job.finished,
 * approval.requested.
 */
#ifndef VM_CC_WEBHOOKS_H
#define VM_CC_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WEBHOOKS_FILE_MAX (256u * 1024) /* bytes of the file */
#define WEBHOOKS_MAX 32			/* endpoints */
#define WEBHOOK_URL_MAX 2048		/* bytes of a url */
#define WEBHOOK_SECRET_MIN 16		/* bytes of a secret */
#define WEBHOOK_SECRET_MAX 256
#define WEBHOOK_TRIES 20	 /* then a row is dead */
#define WEBHOOK_BACKOFF_MAX 3600 /* seconds between two tries, at most */
#define WEBHOOK_TIMEOUT_MS 10000 /* one request */

/* The events, as bits of an endpoint's subscription. */
enum webhook_event {
	WH_ATTENTION = 1u << 0, /* node.attention_changed */
	WH_PENDING = 1u << 1,	/* node.pending */
	WH_JOB = 1u << 2,	/* job.finished */
	WH_APPROVAL = 1u << 3,	/* approval.requested */
};

/* Checks a webhooks document (label names it in err): 0, or -1 with why. */
int webhooks_check_text(const char *label, const char *text, size_t len,
    char *err, size_t errlen);
/*
 * Loads the file (path NULL: no endpoints) and, with endpoints, readies
 * libcurl: call before threads start. 0, or -1 with "file: why".
 */
int webhooks_init(const char *path, char *err, size_t errlen);
/* Reads the same file again; on failure the old endpoints stay. */
int webhooks_reload(char *err, size_t errlen);
/* Starts the delivery thread (it delivers while this replica leads). */
int webhooks_start(void);
/* Stops the thread (a delivery under way ends first) and frees all. */
void webhooks_stop(void);
/*
 * Queues event (one of the four names) with the members of fields
 * (borrowed; "event", "at" and "id" are added) for every endpoint that
 * subscribes to it, in one transaction; wakes the delivery thread.
 */
void webhooks_emit(enum webhook_event ev, json_t *fields);
/*
 * The leader, every few seconds: each node's attention level against the
 * last one told; a change (not within VAULTMESH_WEBHOOK_FLAP_SECONDS of the
 * node's last event) is node.attention_changed.
 */
void webhooks_tick(int64_t now);
/* The webhook gauges and counters for /metrics: 0, or -1. */
struct buf;
int webhooks_metrics(struct buf *b);

#endif
