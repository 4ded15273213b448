/*
 * store: the callers' side of the store. Each function goes through the
 * open backend's table of operations (store_backend.h); what is the same
 * for every backend (the hooks, freeing what the store handed out) is
 * here. No SQL in this file.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_backend.h"
#include "test_hooks.h"

struct store *
store_open(const char *where, char *err, size_t errlen)
{
	if (store_is_server(where))
		return store_pg_open(where, err, errlen);
	return store_sqlite_open(where, err, errlen);
}

const char *
store_where_shown(const char *where, char *out, size_t n)
{
	const char *auth, *end, *at = NULL, *colon;

	snprintf(out, n, "%s", where);
	if (!store_is_server(where) || (auth = strstr(where, "://")) == NULL)
		return out;
	auth += 3;
	/* The authority ends at the path; its last '@' ends the user part. */
	end = auth + strcspn(auth, "/?");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL)
		snprintf(out, n, "%.*s***%s", (int)(colon + 1 - where), where,
		    at);
	return out;
}

int
store_is_server(const char *where)
{
	/* A libpq URI is PostgreSQL; anything else is a SQLite file. */
	return strncmp(where, "postgresql://", 13) == 0 ||
	    strncmp(where, "postgres://", 11) == 0;
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *
store_backend(const struct store *s)
{
	return s->ops->name;
}

void
store_on_write(struct store *s, void (*fn)(int64_t us))
{
	s->on_write = fn;
}

void
store_on_queued(struct store *s,
    void (*fn)(const char *node_id, int delta, void *arg), void *arg)
{
	s->on_queued = fn;
	s->on_queued_arg = arg;
}

int
store_ping(struct store *s)
{
	return s->ops->ping(s);
}

int
store_writer_busy(struct store *s)
{
	return s->ops->writer_busy(s);
}

/* ---- nodes ------------------------------------------------------------ */

int
store_load_nodes(struct store *s, store_node_fn fn, void *arg)
{
	return s->ops->node->load(s, fn, arg);
}

int
store_node_insert(struct store *s, const struct node_rec *rec)
{
	return s->ops->node->insert(s, rec);
}

int
store_node_set_status(struct store *s, const char *node_id, enum node_status st,
    const unsigned char *th)
{
	return s->ops->node->set_status(s, node_id, st, th);
}

int
store_node_enroll_peer(struct store *s, const char *node_id, char *out,
    size_t outlen)
{
	return s->ops->node->enroll_peer(s, node_id, out, outlen);
}

/* ---- the heartbeat log ------------------------------------------------ */

int
store_heartbeats(struct store *s, struct hb_write *w, size_t n)
{
	return s->ops->heartbeat->append(s, w, n);
}

int
store_heartbeat_log(struct store *s, store_hb_logged_fn fn, void *arg)
{
	return s->ops->heartbeat->replay(s, fn, arg);
}

int
store_fold(struct store *s, const struct hb_fold *fold, size_t n, int64_t upto,
    int64_t *cut)
{
	return s->ops->heartbeat->fold(s, fold, n, upto, cut);
}

int
store_node_heartbeat(struct store *s, const char *node_id, int64_t seq,
    char **json)
{
	return s->ops->heartbeat->document(s, node_id, seq, json);
}

/* ---- commands, scans, findings ---------------------------------------- */

int
store_command_queue(struct store *s, struct cmd_new *c, sign_fn sign, void *arg)
{
	return s->ops->command->queue(s, c, sign, arg);
}

int
store_commands_deliver(struct store *s, const char *node_id, int64_t now,
    size_t max, struct cmd_wire **out, size_t *n)
{
	return s->ops->command->deliver(s, node_id, now, max, out, n);
}

int
store_commands_undeliver(struct store *s, const char *node_id,
    const struct cmd_wire *w, size_t n)
{
	return s->ops->command->undeliver(s, node_id, w, n);
}

enum result_outcome
store_command_result(struct store *s, struct cmd_result *res)
{
	return s->ops->command->result(s, res);
}

int
store_commands_expire(struct store *s, int64_t now, int64_t grace,
    store_node_id_fn fn, void *arg)
{
	return s->ops->command->expire(s, now, grace, fn, arg);
}

int
store_commands_release(struct store *s, int64_t before, store_node_id_fn fn,
    void *arg)
{
	return s->ops->command->release(s, before, fn, arg);
}

int
store_commands_pending(struct store *s, store_pending_fn fn, void *arg)
{
	return s->ops->command->pending(s, fn, arg);
}

int
store_command_open(struct store *s, const char *node_id, const char *command)
{
	return s->ops->command->open(s, node_id, command);
}

int
store_commands_list(struct store *s, const char *node_id,
    const struct cmd_filter *flt, int limit, store_cmd_row_fn fn, void *arg)
{
	return s->ops->command->list(s, node_id, flt, limit, fn, arg);
}

int
store_command_counts(struct store *s, store_count_fn fn, void *arg)
{
	return s->ops->command->counts(s, fn, arg);
}

int
store_scans_list(struct store *s, const char *node_id, int limit,
    store_scan_fn fn, void *arg)
{
	return s->ops->command->scans(s, node_id, limit, fn, arg);
}

int
store_findings(struct store *s, const char *command_id, store_finding_fn fn,
    void *arg)
{
	return s->ops->command->findings(s, command_id, fn, arg);
}

/* ---- the audit log and the pictures' samples -------------------------- */

int
store_audit_add(struct store *s, const struct audit_rec *a)
{
	return s->ops->audit->add(s, a);
}

int
store_audit_list(struct store *s, const struct audit_filter *flt, int limit,
    store_audit_fn fn, void *arg)
{
	return s->ops->audit->list(s, flt, limit, fn, arg);
}

int
store_fleet_sample(struct store *s, const struct fleet_sample *fs,
    int64_t keep_after)
{
	return s->ops->sample->fleet_put(s, fs, keep_after);
}

int
store_fleet_history(struct store *s, int64_t since, int64_t step,
    store_fleet_sample_fn fn, void *arg)
{
	return s->ops->sample->fleet_history(s, since, step, fn, arg);
}

int
store_hb_samples_add(struct store *s, const struct hb_sample *w, size_t n,
    int64_t keep_after, size_t prune_max)
{
	return s->ops->sample->load_put(s, w, n, keep_after, prune_max);
}

int
store_hb_history(struct store *s, const char *node_id, int64_t since,
    store_hb_sample_fn fn, void *arg)
{
	return s->ops->sample->load_history(s, node_id, since, fn, arg);
}

int
store_shared(const struct store *s)
{
	return s->ops->replica != NULL;
}

int
store_replica_listen(struct store *s, int timeout_ms, store_note_fn fn,
    void *arg)
{
	if (s->ops->replica == NULL)
		return -1;
	return s->ops->replica->listen(s, timeout_ms, fn, arg);
}

int
store_nodes_changed(struct store *s, int64_t *cursor, store_node_fn fn,
    void *arg)
{
	if (s->ops->replica == NULL)
		return 0; /* nobody else changes them */
	return s->ops->replica->changed(s, cursor, fn, arg);
}

int
store_replica_lead(struct store *s)
{
	if (s->ops->replica == NULL)
		return 1;
	return s->ops->replica->lead(s);
}

int
store_node_set_labels(struct store *s, const char *node_id, const char *labels)
{
	return s->ops->node->set_labels(s, node_id, labels);
}

/* ---- jobs ---------------------------------------------------------- */

int
store_job_create(struct store *s, const struct job_rec *j,
    const struct job_node *nodes, size_t n)
{
	return s->ops->job->create(s, j, nodes, n);
}

int
store_job_wave_nodes(struct store *s, const char *job_id, int wave,
    store_node_id_fn fn, void *arg)
{
	return s->ops->job->wave_nodes(s, job_id, wave, fn, arg);
}

int
store_job_start_wave(struct store *s, const char *job_id, int wave,
    struct cmd_new *c, size_t n, sign_fn sign, void *arg)
{
	return s->ops->job->start_wave(s, job_id, wave, c, n, sign, arg);
}

int
store_job_get(struct store *s, const char *job_id, store_job_fn fn, void *arg)
{
	return s->ops->job->get(s, job_id, fn, arg);
}

int
store_job_list(struct store *s, int64_t before, const char *status, int limit,
    store_job_fn fn, void *arg)
{
	return s->ops->job->list(s, before, status, limit, fn, arg);
}

int
store_job_counts(struct store *s, const char *job_id, store_count_fn fn,
    void *arg)
{
	return s->ops->job->counts(s, job_id, fn, arg);
}

int
store_job_update(struct store *s, const char *job_id, const char *status,
    int64_t now, int64_t wave_done_at)
{
	return s->ops->job->update(s, job_id, status, now, wave_done_at);
}

int
store_job_cancel(struct store *s, const char *job_id, const char *status,
    int64_t now, store_node_id_fn fn, void *arg)
{
	return s->ops->job->cancel(s, job_id, status, now, fn, arg);
}

int
store_job_results(struct store *s, const struct job_result_q *q,
    store_job_result_fn fn, void *arg)
{
	return s->ops->job->results(s, q, fn, arg);
}

int
store_job_groups(struct store *s, const char *job_id, int limit,
    store_job_group_fn fn, void *arg)
{
	return s->ops->job->groups(s, job_id, limit, fn, arg);
}

int
store_schedule_add(struct store *s, const struct schedule_rec *sc)
{
	return s->ops->job->schedule_add(s, sc);
}

int
store_schedules(struct store *s, store_schedule_fn fn, void *arg)
{
	return s->ops->job->schedules(s, fn, arg);
}

int
store_schedule_ran(struct store *s, const char *schedule_id, int64_t due,
    int64_t next, const char *job_id)
{
	return s->ops->job->schedule_ran(s, schedule_id, due, next, job_id);
}

int
store_schedule_delete(struct store *s, const char *schedule_id, int64_t now)
{
	return s->ops->job->schedule_delete(s, schedule_id, now);
}

/* ---- approvals ------------------------------------------------------ */

int
store_approval_add(struct store *s, const struct approval_rec *a)
{
	return s->ops->approval->add(s, a);
}

int
store_approval_get(struct store *s, const char *id, store_approval_fn fn,
    void *arg)
{
	return s->ops->approval->get(s, id, fn, arg);
}

int
store_approvals(struct store *s, const char *status, const char *node_id,
    int limit, store_approval_fn fn, void *arg)
{
	return s->ops->approval->list(s, status, node_id, limit, fn, arg);
}

int
store_approval_decide(struct store *s, const char *id, const char *status,
    const char *by, int64_t at, const char *reason, struct cmd_new *c,
    sign_fn sign, void *arg)
{
	int rc = s->ops->approval->decide(s, id, status, by, at, reason, c,
	    sign, arg);

	if (rc == 1 && c != NULL)
		store_queued(s, c->node_id, 1);
	return rc;
}

int
store_approvals_expired(struct store *s, int64_t now, store_node_id_fn fn,
    void *arg)
{
	return s->ops->approval->expired(s, now, fn, arg);
}

/* ---- webhooks ------------------------------------------------------- */

int
store_outbox_add(struct store *s, const char *event, const char *body,
    const char *const *urls, size_t n, int64_t now)
{
	return s->ops->webhook->add(s, event, body, urls, n, now);
}

int
store_outbox_due(struct store *s, int64_t now, int limit, store_outbox_fn fn,
    void *arg)
{
	return s->ops->webhook->due(s, now, limit, fn, arg);
}

int
store_outbox_done(struct store *s, int64_t n, int64_t at)
{
	return s->ops->webhook->done(s, n, at);
}

int
store_outbox_failed(struct store *s, int64_t n, int64_t next_at,
    const char *error, int dead)
{
	return s->ops->webhook->failed(s, n, next_at, error, dead);
}

int
store_outbox_counts(struct store *s, int64_t *pending, int64_t *dead)
{
	return s->ops->webhook->counts(s, pending, dead);
}

int
store_outbox_prune(struct store *s, int64_t before)
{
	return s->ops->webhook->prune(s, before);
}

int
store_webhook_levels(struct store *s, store_level_fn fn, void *arg)
{
	return s->ops->webhook->levels(s, fn, arg);
}

int
store_webhook_level_set(struct store *s, const char *node_id, int level,
    unsigned reasons, int64_t at)
{
	return s->ops->webhook->level_set(s, node_id, level, reasons, at);
}

/* ---- signing keys ---------------------------------------------------- */

int
store_keys(struct store *s, store_key_fn fn, void *arg)
{
	return s->ops->key->all(s, fn, arg);
}

int
store_key_add(struct store *s, const struct key_rec *k)
{
	return s->ops->key->add(s, k);
}

int
store_key_retire(struct store *s, int64_t version, int64_t now)
{
	return s->ops->key->retire(s, version, now);
}

int64_t
store_key_version(struct store *s)
{
	return s->ops->key->version(s);
}

int
store_node_pinned(struct store *s, const char *node_id, const char *key_id)
{
	return s->ops->key->node_pinned(s, node_id, key_id);
}

int
store_views(const struct store *s)
{
	return s->ops->view != NULL;
}

int
store_view_attend(struct store *s, int64_t now, const struct thresholds *t)
{
	return s->ops->view != NULL ? s->ops->view->attend(s, now, t) : 0;
}

int
store_view_counts(struct store *s, int level, const char *q,
    struct store_view_counts *c)
{
	return s->ops->view != NULL ? s->ops->view->counts(s, level, q, c) : -1;
}

int
store_view_page(struct store *s, const struct store_view_q *q, store_view_fn fn,
    void *arg)
{
	return s->ops->view != NULL ? s->ops->view->page(s, q, fn, arg) : -1;
}

int
store_view_list(struct store *s, const char *after_id, int64_t limit,
    store_view_fn fn, void *arg)
{
	return s->ops->view != NULL ?
	    s->ops->view->list(s, after_id, limit, fn, arg) :
	    -1;
}

int
store_view_fold(struct store *s)
{
	return s->ops->view != NULL ? s->ops->view->fold(s) : 0;
}
