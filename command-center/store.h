/*
 * store: everything the command center keeps, behind one interface. The
 * callers see these functions and types only; each goes through the open
 * backend's table of operations (store_backend.h), split by table family.
 * SQLite (store_sqlite*.c) is the one backend today and the default.
 */
#ifndef VM_CC_STORE_H
#define VM_CC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store_rec.h"

struct store;

void store_close(struct store *s);
/* 1 when where names a database server (a PostgreSQL URI), not a file. */
int store_is_server(const char *where);
/*
 * where as the log may show it: a URI's password replaced by "***"
 * (postgresql://user:***@host/db). Returns out.
 */
const char *store_where_shown(const char *where, char *out, size_t n);
/* The backend's name ("sqlite"), for the log and /healthz. */
const char *store_backend(const struct store *s);
/*
 * Calls fn with the time of each write the store commits (for /metrics;
 * set before the store is shared).
 */
void store_on_write(struct store *s, void (*fn)(int64_t us));
/*
 * Calls fn with each change of a node's number of queued commands, as the
 * store makes it (queued, delivered, put back, answered before delivery,
 * expired, its lease ran out), outside the store's locks and before the
 * function that made it returns: the one source of that count (set before
 * the store is shared).
 */
void store_on_queued(struct store *s,
    void (*fn)(const char *node_id, int delta, void *arg), void *arg);
/*
 * Calls fn for each stored node (rec is borrowed; rec->heartbeat is NULL
 * unless the row predates its hb_* facts); 0 or -1.
 */
int store_load_nodes(struct store *s, store_node_fn fn, void *arg);
/*
 * Where the node enrolled from, into out ("" when unknown): 0, or -1.
 */
int store_node_enroll_peer(struct store *s, const char *node_id, char *out,
    size_t outlen);
/* Inserts a new node: 0, or -1 (logged). */
/*
 * Replaces a node's labels with labels (a compact JSON object, keys
 * sorted; "{}" for none): 0, or -1 (store error or unknown node).
 */
int
store_node_set_labels(struct store *s, const char *node_id, const char *labels);
int store_node_insert(struct store *s, const struct node_rec *rec);
/* Sets status and token (token_hash NULL clears it): 0 or -1. */
int store_node_set_status(struct store *s, const char *node_id,
    enum node_status st, const unsigned char *token_hash);
/*
 * The node's stored heartbeat JSON into *json (malloc'd, NULL if none):
 * the log's heartbeat seq when seq > 0, else the one folded into nodes. 0,
 * -1 on error, 1 when heartbeat seq is no longer in the log (folded
 * meanwhile: ask the fleet where the latest is now).
 */
int store_node_heartbeat(struct store *s, const char *node_id, int64_t seq,
    char **json);
/*
 * Appends heartbeats to the log (heartbeat_chunks) in one transaction,
 * numbering them (w[i].seq, growing): 0 or -1.
 */
int store_heartbeats(struct store *s, struct hb_write *w, size_t n);
/* Calls fn for each heartbeat in the log, oldest first: 0 or -1. */
int store_heartbeat_log(struct store *s, store_hb_logged_fn fn, void *arg);
/*
 * In one transaction: copies each fold[i] (a node's latest heartbeat, in
 * the log) into nodes and drops the log's chunks that end by upto; *cut is
 * the last heartbeat dropped (0: none; a chunk that straddles upto stays,
 * all of it). 0 or -1.
 */
int store_fold(struct store *s, const struct hb_fold *fold, size_t n,
    int64_t upto, int64_t *cut);

/*
 * Assigns the node's next seq, signs and inserts c in one transaction:
 * 0, -1 on error (nothing stored), -2 unknown node.
 */
int store_command_queue(struct store *s, struct cmd_new *c, sign_fn sign,
    void *arg);
/*
 * Marks up to max open commands of node_id delivered and returns them, in
 * seq order and none past an older one still delivered without a result
 * (the agent runs only rising seqs: a command whose answer was lost goes
 * out first again once its lease puts it back). One delivery of a node at
 * a time, across replicas too.
 */
int store_commands_deliver(struct store *s, const char *node_id, int64_t now,
    size_t max, struct cmd_wire **out, size_t *n);
/*
 * Puts delivered commands back in the queue (the answer never left): how
 * many went back (a lease may have taken some already), or -1.
 */
int store_commands_undeliver(struct store *s, const char *node_id,
    const struct cmd_wire *w, size_t n);
/* Stores a result exactly once (and a scan's findings). */
enum result_outcome
store_command_result(struct store *s, struct cmd_result *res);
/*
 * Marks queued commands past expiry "expired" (fn is called, outside the
 * store's lock, with each one's node) and delivered ones still without a
 * result grace seconds past expiry "timeout". Returns the expired count.
 */
int store_commands_expire(struct store *s, int64_t now, int64_t grace,
    store_node_id_fn fn, void *arg);
/*
 * Queues again every delivered command still without a result that was
 * delivered at or before `before` (its lease ran out; INT64_MAX at a
 * start: every one), calling fn (outside the store's lock) with each
 * one's node. Returns how many, or -1.
 */
int store_commands_release(struct store *s, int64_t before, store_node_id_fn fn,
    void *arg);
/* Calls fn with each node's number of queued commands. */
int store_commands_pending(struct store *s, store_pending_fn fn, void *arg);

/* The node's commands that flt lets through (NULL: all), newest first. */
int store_commands_list(struct store *s, const char *node_id,
    const struct cmd_filter *flt, int limit, store_cmd_row_fn fn, void *arg);

int store_audit_add(struct store *s, const struct audit_rec *a);
/* 0 when the store answers a trivial query (its lock is not stuck). */
int store_ping(struct store *s);

/* The entries flt lets through (NULL: all), newest first. */
int store_audit_list(struct store *s, const struct audit_filter *flt, int limit,
    store_audit_fn fn, void *arg);

/* The node's scans, newest first. */
int store_scans_list(struct store *s, const char *node_id, int limit,
    store_scan_fn fn, void *arg);
/* Calls fn for each (command, status) with its count. */
int store_command_counts(struct store *s, store_count_fn fn, void *arg);
/* How many of the node's commands named command are queued or delivered. */
int
store_command_open(struct store *s, const char *node_id, const char *command);
/* A scan's findings, most severe first. */
int store_findings(struct store *s, const char *command_id, store_finding_fn fn,
    void *arg);

/* Adds one fleet sample and drops those older than keep_after. */
int store_fleet_sample(struct store *s, const struct fleet_sample *fs,
    int64_t keep_after);
/* Fleet samples since `since`, the newest of each step-second bucket, oldest first. */
int store_fleet_history(struct store *s, int64_t since, int64_t step,
    store_fleet_sample_fn fn, void *arg);
/*
 * Adds n load samples in one transaction and drops at most prune_max
 * samples older than keep_after: 0 or -1 (nothing added).
 */
int store_hb_samples_add(struct store *s, const struct hb_sample *w, size_t n,
    int64_t keep_after, size_t prune_max);
/* The node's load samples since `since`, oldest first. */
int store_hb_history(struct store *s, const char *node_id, int64_t since,
    store_hb_sample_fn fn, void *arg);

/*
 * Jobs (jobs.c). Stores a new job and its nodes (their waves, or -1 and
 * why they were left out) in one transaction: 0 or -1.
 */
int store_job_create(struct store *s, const struct job_rec *j,
    const struct job_node *nodes, size_t n);
/* Calls fn with each node of the job's wave. */
int store_job_wave_nodes(struct store *s, const char *job_id, int wave,
    store_node_id_fn fn, void *arg);
/*
 * Starts wave `wave` of a running job whose current wave is the one
 * before: queues c[0..n) (each signed by sign, part of the job; a node
 * that is gone gets seq 0 and no command) and makes it the current wave,
 * in one transaction. One marked delivered is stored so only if its
 * node has no older command queued or delivered (else queued, and its
 * mark cleared), so no command overtakes another of its node. How many
 * were queued, -3 when the job is not
 * running or the wave is started already (nothing done), or -1.
 */
int store_job_start_wave(struct store *s, const char *job_id, int wave,
    struct cmd_new *c, size_t n, sign_fn sign, void *arg);
/* Calls fn with the job: 0, -2 no such job, -1. */
int
store_job_get(struct store *s, const char *job_id, store_job_fn fn, void *arg);
/*
 * Jobs numbered below `before` (0: from the newest), newest first, those
 * in status only when status is not NULL.
 */
int store_job_list(struct store *s, int64_t before, const char *status,
    int limit, store_job_fn fn, void *arg);
/*
 * Calls fn (command NULL) with the number of the job's nodes in each
 * status: its commands' statuses, and "not_started" for the nodes of
 * waves not started.
 */
int store_job_counts(struct store *s, const char *job_id, store_count_fn fn,
    void *arg);
/*
 * Sets a running job's status (finished_at = now unless it is
 * "running") and the time its current wave finished: 1, 0 when it was
 * not running, -1.
 */
int store_job_update(struct store *s, const char *job_id, const char *status,
    int64_t now, int64_t wave_done_at);
/*
 * Ends a running (or waiting) job as status ("cancelled", "stopped"):
 * its commands still queued become "cancelled" (fn is called with each
 * one's node), in one transaction. How many, -2 when the job had ended
 * already, or -1.
 */
int store_job_cancel(struct store *s, const char *job_id, const char *status,
    int64_t now, store_node_id_fn fn, void *arg);
/* The job's results q selects. */
int store_job_results(struct store *s, const struct job_result_q *q,
    store_job_result_fn fn, void *arg);
/* The job's answers grouped by status and output, largest group first. */
int store_job_groups(struct store *s, const char *job_id, int limit,
    store_job_group_fn fn, void *arg);

/* Adds a recurring job: 0 or -1. */
int store_schedule_add(struct store *s, const struct schedule_rec *sc);
/* Calls fn with each recurring job not deleted, the next one due first. */
int store_schedules(struct store *s, store_schedule_fn fn, void *arg);
/*
 * Records a run of schedule_id that was due at due: its next run at next
 * and the job it made (NULL: none). 1, 0 when it had run already (or was
 * deleted), -1.
 */
int store_schedule_ran(struct store *s, const char *schedule_id, int64_t due,
    int64_t next, const char *job_id);
/* Deletes a recurring job (its jobs stay): 1, 0 unknown or deleted, -1. */
int
store_schedule_delete(struct store *s, const char *schedule_id, int64_t now);

/*
 * Replicas: command centers sharing one database (a server backend). 1
 * when the store is such a database (0: the process's own file).
 */
int store_shared(const struct store *s);
/*
 * Waits up to timeout_ms for what other replicas changed, and calls fn
 * for each (their queued counts reach store_on_queued()'s hook first):
 * 1 when the wait began on a new connection (what came before it was not
 * heard: read everything again), 0, or -1 when the database cannot be
 * reached. One thread's alone.
 */
int store_replica_listen(struct store *s, int timeout_ms, store_note_fn fn,
    void *arg);
/*
 * Calls fn with each node row changed since *cursor (0: every row), then
 * moves *cursor on: rows may come twice, none is missed; 0 or -1.
 */
int store_nodes_changed(struct store *s, int64_t *cursor, store_node_fn fn,
    void *arg);
/*
 * 1 while this process leads the replicas (runs what one of them must:
 * the scheduler, expiry, the samples); a store of its own always leads.
 * 0, or -1 when the database cannot be reached. The listening thread's.
 */
int store_replica_lead(struct store *s);

/* ---- approvals (issue 19: two-person approval) --------------------- */

/* Stores a request awaiting approval: 0, or -1. */
int store_approval_add(struct store *s, const struct approval_rec *a);
/* The request id: 1 (fn called), 0 unknown, -1. */
int store_approval_get(struct store *s, const char *id, store_approval_fn fn,
    void *arg);
/*
 * Requests, newest first, at most limit: those of status (NULL: any) and of
 * node_id (NULL: any). 0, or -1.
 */
int store_approvals(struct store *s, const char *status, const char *node_id,
    int limit, store_approval_fn fn, void *arg);
/*
 * Decides a request still awaiting approval, in one transaction: its
 * status (approved, rejected or expired) with who, when and why; a job's
 * row too (approved: running, its first wave queued by the next tick;
 * else cancelled); and for an approved command, c (its id the request's)
 * queued, signed by sign with its seq. 1 decided, 0 no longer awaiting
 * (nothing changed), -2 the command's node is gone (nothing changed), -1.
 */
int store_approval_decide(struct store *s, const char *id, const char *status,
    const char *by, int64_t at, const char *reason, struct cmd_new *c,
    sign_fn sign, void *arg);
/* The ids of requests still awaiting approval at now past expiry. */
int store_approvals_expired(struct store *s, int64_t now, store_node_id_fn fn,
    void *arg);

/* ---- webhooks (issue 19: alerts) ------------------------------------ */

/* An event's body for each of urls[0..n), in one transaction: 0, or -1. */
int store_outbox_add(struct store *s, const char *event, const char *body,
    const char *const *urls, size_t n, int64_t now);
/*
 * What is due at now, at most limit rows: of each endpoint only its oldest
 * row still pending (its order kept), and only once its next try is due.
 */
int store_outbox_due(struct store *s, int64_t now, int limit,
    store_outbox_fn fn, void *arg);
/* Row n was taken (a 2xx): 0, or -1. */
int store_outbox_done(struct store *s, int64_t n, int64_t at);
/* Row n failed: tried again at next_at, or given up (dead). 0, or -1. */
int store_outbox_failed(struct store *s, int64_t n, int64_t next_at,
    const char *error, int dead);
/* Rows still pending, and given up. 0, or -1. */
int store_outbox_counts(struct store *s, int64_t *pending, int64_t *dead);
/* Deletes rows delivered or given up that were made before before. */
int store_outbox_prune(struct store *s, int64_t before);
/* Every node's attention level last told to the webhooks. */
int store_webhook_levels(struct store *s, store_level_fn fn, void *arg);
int store_webhook_level_set(struct store *s, const char *node_id, int level,
    unsigned reasons, int64_t at);

/* ---- signing keys (issue 19: rotation) ----------------------------- */

/* Every key, oldest first: 0, or -1. */
int store_keys(struct store *s, store_key_fn fn, void *arg);
/*
 * Adds k as the current key, in one transaction: the key that was current
 * becomes retiring until k->retire_by, the overlap's end (k->emergency:
 * every older key is retired and its secret destroyed). 1 added; 0 when k->version is not the next version
 * (another rotation came first: nothing changed); -1 on error.
 */
int store_key_add(struct store *s, const struct key_rec *k);
/* Retires version (its secret destroyed) at now: 0, or -1. */
int store_key_retire(struct store *s, int64_t version, int64_t now);
/* The newest key's version (0: none), or -1. */
int64_t store_key_version(struct store *s);
/* The key a node confirmed it pinned: 0, or -1. */
int store_node_pinned(struct store *s, const char *node_id, const char *key_id);

/*
 * Views from the database (a shared store): 1 when the store answers the
 * dashboard's order, counts and pages and GET /nodes itself, so no
 * replica needs the whole fleet in memory for them.
 */
int store_views(const struct store *s);
/*
 * Brings the attention kept beside each row to now for the rows whose due
 * has come (or that a change marked), at most a few thousand a call, the
 * rows another caller holds skipped: 0 when none is left due, 1 when more
 * are, -1.
 */
int store_view_attend(struct store *s, int64_t now, const struct thresholds *t);
/*
 * The dashboard's counts; matched: the nodes at level (as in struct
 * store_view_q) containing q (NULL or "": all). 0, or -1.
 */
int store_view_counts(struct store *s, int level, const char *q,
    struct store_view_counts *c);
/* The rows of q's stretch of the dashboard's order, to fn: 0, or -1. */
int store_view_page(struct store *s, const struct store_view_q *q,
    store_view_fn fn, void *arg);
/*
 * GET /nodes: up to limit nodes (deleted ones aside) by node id after
 * after_id ("" from the first), with their heartbeat documents: 0, or -1.
 */
int store_view_list(struct store *s, const char *after_id, int64_t limit,
    store_view_fn fn, void *arg);
/*
 * The leader's, now and then: the changes the counts are kept as folded
 * into one total a rank (they stay correct either way): 0, or -1.
 */
int store_view_fold(struct store *s);

#endif
