/*
 * store_backend: what a store backend implements, and what it shares with
 * store.c (which the callers reach). Included only by store.c and the
 * backends' own files.
 *
 * A backend is a table of operations split by table family, each family
 * its own table, every callback typed (store.h). Its handle begins with a
 * struct store; the operations get that and find the rest from it. A new
 * backend fills a struct store_ops and an open function, and store_open
 * learns its name: no caller changes.
 */
#ifndef VM_CC_STORE_BACKEND_H
#define VM_CC_STORE_BACKEND_H

#include <pthread.h>

#include "store_rec.h"

struct store;

/*
 * A caller's callback, of its own type, and its argument: what a backend's
 * row converter calls for each row of a walk.
 */
struct store_rows {
	union {
		store_node_fn	      node;
		store_hb_logged_fn    logged;
		store_pending_fn      pending;
		store_cmd_row_fn      cmd;
		store_finding_fn      finding;
		store_scan_fn	      scan;
		store_count_fn	      count;
		store_audit_fn	      audit;
		store_fleet_sample_fn fleet;
		store_job_fn	      job;
		store_job_result_fn   result;
		store_job_group_fn    group;
		store_schedule_fn     schedule;
		store_approval_fn     approval;
		store_view_fn	      view;
	} fn;
	void *arg;
};

/* nodes: enrollment, status, the token and enroll-key hashes. */
struct store_node_ops {
	int (*load)(struct store *s, store_node_fn fn, void *arg);
	int (*insert)(struct store *s, const struct node_rec *rec);
	int (*set_status)(struct store *s, const char *node_id,
	    enum node_status st, const unsigned char *token_hash);
	int (*enroll_peer)(struct store *s, const char *node_id, char *out,
	    size_t outlen);
	int (*set_labels)(struct store *s, const char *node_id,
	    const char *labels);
};

/* The heartbeat log and its folding into nodes. */
struct store_heartbeat_ops {
	int (*append)(struct store *s, struct hb_write *w, size_t n);
	int (*replay)(struct store *s, store_hb_logged_fn fn, void *arg);
	int (*fold)(struct store *s, const struct hb_fold *fold, size_t n,
	    int64_t upto, int64_t *cut);
	int (*document)(struct store *s, const char *node_id, int64_t seq,
	    char **json);
};

/* Signed commands, their results, scans and findings. */
struct store_command_ops {
	int (*queue)(struct store *s, struct cmd_new *c, sign_fn sign,
	    void *arg);
	int (*deliver)(struct store *s, const char *node_id, int64_t now,
	    size_t max, struct cmd_wire **out, size_t *n);
	int (*undeliver)(struct store *s, const char *node_id,
	    const struct cmd_wire *w, size_t n);
	enum result_outcome (*result)(struct store *s, struct cmd_result *res);
	int (*expire)(struct store *s, int64_t now, int64_t grace,
	    store_node_id_fn fn, void *arg);
	int (*release)(struct store *s, int64_t before, store_node_id_fn fn,
	    void *arg);
	int (*pending)(struct store *s, store_pending_fn fn, void *arg);
	int (*open)(struct store *s, const char *node_id, const char *command);
	int (*list)(struct store *s, const char *node_id,
	    const struct cmd_filter *flt, int limit, store_cmd_row_fn fn,
	    void *arg);
	int (*counts)(struct store *s, store_count_fn fn, void *arg);
	int (*scans)(struct store *s, const char *node_id, int limit,
	    store_scan_fn fn, void *arg);
	int (*findings)(struct store *s, const char *command_id,
	    store_finding_fn fn, void *arg);
};

/* The audit log of operator actions. */
struct store_audit_ops {
	int (*add)(struct store *s, const struct audit_rec *a);
	int (*list)(struct store *s, const struct audit_filter *flt, int limit,
	    store_audit_fn fn, void *arg);
};

/* The pictures' samples: the fleet's attention and each node's load. */
struct store_sample_ops {
	int (*fleet_put)(struct store *s, const struct fleet_sample *fs,
	    int64_t keep_after);
	int (*fleet_history)(struct store *s, int64_t since, int64_t step,
	    store_fleet_sample_fn fn, void *arg);
	int (*load_put)(struct store *s, const struct hb_sample *w, size_t n,
	    int64_t keep_after, size_t prune_max);
	int (*load_history)(struct store *s, const char *node_id, int64_t since,
	    store_hb_sample_fn fn, void *arg);
};

/* Jobs: one command for many nodes, in waves (store.h says what each does). */
struct store_job_ops {
	int (*create)(struct store *s, const struct job_rec *j,
	    const struct job_node *nodes, size_t n);
	int (*wave_nodes)(struct store *s, const char *job_id, int wave,
	    store_node_id_fn fn, void *arg);
	int (*start_wave)(struct store *s, const char *job_id, int wave,
	    struct cmd_new *c, size_t n, sign_fn sign, void *arg);
	int (*get)(struct store *s, const char *job_id, store_job_fn fn,
	    void *arg);
	int (*list)(struct store *s, int64_t before, const char *status,
	    int limit, store_job_fn fn, void *arg);
	int (*counts)(struct store *s, const char *job_id, store_count_fn fn,
	    void *arg);
	int (*update)(struct store *s, const char *job_id, const char *status,
	    int64_t now, int64_t wave_done_at);
	int (*cancel)(struct store *s, const char *job_id, const char *status,
	    int64_t now, store_node_id_fn fn, void *arg);
	int (*results)(struct store *s, const struct job_result_q *q,
	    store_job_result_fn fn, void *arg);
	int (*groups)(struct store *s, const char *job_id, int limit,
	    store_job_group_fn fn, void *arg);
	int (*schedule_add)(struct store *s, const struct schedule_rec *sc);
	int (*schedules)(struct store *s, store_schedule_fn fn, void *arg);
	int (*schedule_ran)(struct store *s, const char *schedule_id,
	    int64_t due, int64_t next, const char *job_id);
	int (*schedule_delete)(struct store *s, const char *schedule_id,
	    int64_t now);
};

/* Requests that wait for a second operator. */
struct store_approval_ops {
	int (*add)(struct store *s, const struct approval_rec *a);
	int (*get)(struct store *s, const char *id, store_approval_fn fn,
	    void *arg);
	int (*list)(struct store *s, const char *status, const char *node_id,
	    int limit, store_approval_fn fn, void *arg);
	int (*decide)(struct store *s, const char *id, const char *status,
	    const char *by, int64_t at, const char *reason, struct cmd_new *c,
	    sign_fn sign, void *arg);
	int (*expired)(struct store *s, int64_t now, store_node_id_fn fn,
	    void *arg);
};

/* Webhooks: the outbox and the attention levels told. */
struct store_webhook_ops {
	int (*add)(struct store *s, const char *event, const char *body,
	    const char *const *urls, size_t n, int64_t now);
	int (*due)(struct store *s, int64_t now, int limit, store_outbox_fn fn,
	    void *arg);
	int (*done)(struct store *s, int64_t n, int64_t at);
	int (*failed)(struct store *s, int64_t n, int64_t next_at,
	    const char *error, int dead);
	int (*counts)(struct store *s, int64_t *pending, int64_t *dead);
	int (*prune)(struct store *s, int64_t before);
	int (*levels)(struct store *s, store_level_fn fn, void *arg);
	int (*level_set)(struct store *s, const char *node_id, int level,
	    unsigned reasons, int64_t at);
};

/* The command-signing keys, and which one each node confirmed. */
struct store_key_ops {
	int (*all)(struct store *s, store_key_fn fn, void *arg);
	int (*add)(struct store *s, const struct key_rec *k);
	int (*retire)(struct store *s, int64_t version, int64_t now);
	int64_t (*version)(struct store *s);
	int (*node_pinned)(struct store *s, const char *node_id,
	    const char *key_id);
};

/*
 * Replicas: other processes sharing the database (NULL for a backend that
 * is one process's alone).
 */
struct store_replica_ops {
	int (*listen)(struct store *s, int timeout_ms, store_note_fn fn,
	    void *arg);
	int (*changed)(struct store *s, int64_t *cursor, store_node_fn fn,
	    void *arg);
	int (*lead)(struct store *s);
};

/*
 * Views answered by the database itself (NULL for a backend whose one
 * process keeps the fleet in memory): the dashboard's order, counts and
 * pages, and GET /nodes, over an attention level kept beside each row.
 */
struct store_view_ops {
	int (*attend)(struct store *s, int64_t now, const struct thresholds *t);
	int (*counts)(struct store *s, int level, const char *q,
	    struct store_view_counts *c);
	int (*page)(struct store *s, const struct store_view_q *q,
	    store_view_fn fn, void *arg);
	int (*list)(struct store *s, const char *after_id, int64_t limit,
	    store_view_fn fn, void *arg);
	int (*fold)(struct store *s);
};

struct store_ops {
	const char *name;
	void (*close)(struct store *s);
	int (*ping)(struct store *s);
	/* 1 while another thread uses the write path (test_hooks.h). */
	int (*writer_busy)(struct store *s);
	const struct store_node_ops	 *node;
	const struct store_heartbeat_ops *heartbeat;
	const struct store_command_ops	 *command;
	const struct store_audit_ops	 *audit;
	const struct store_sample_ops	 *sample;
	const struct store_replica_ops	 *replica;
	const struct store_job_ops	 *job;
	const struct store_approval_ops	 *approval;
	const struct store_webhook_ops	 *webhook;
	const struct store_key_ops	 *key;
	const struct store_view_ops	 *view;
};

/* The head of every backend's handle. */
struct store {
	const struct store_ops *ops;
	void (*on_write)(int64_t us);
	void (*on_queued)(const char *node_id, int delta, void *arg);
	void *on_queued_arg;
};

/*
 * For a backend: a node's queued count changed by delta (call it outside
 * the backend's locks, before the operation returns).
 */
static inline void
store_queued(struct store *s, const char *node_id, int delta)
{
	if (s->on_queued != NULL && delta != 0)
		s->on_queued(node_id, delta, s->on_queued_arg);
}

/* 1 while another thread holds mu (a backend's writer_busy). */
static inline int
store_mutex_busy(pthread_mutex_t *mu)
{
	if (pthread_mutex_trylock(mu) != 0)
		return 1;
	pthread_mutex_unlock(mu);
	return 0;
}

/* The backends. */
struct store *store_sqlite_open(const char *path, char *err, size_t errlen);
struct store *store_pg_open(const char *conninfo, char *err, size_t errlen);

#endif
