/*
 * store_jobs_sql: the SQL text of the jobs' reads that both backends run
 * as it is (store_sqlite.c, store_pg_jobs.c): a job's columns, a node's
 * line of a job's results, and the order that puts failures first.
 */
#ifndef VM_CC_STORE_JOBS_SQL_H
#define VM_CC_STORE_JOBS_SQL_H

/* A job's row as the jobs file reads it. */
#define JOB_COLUMNS                                                      \
	"job_id, n, command, args, reason, target, rollout, created_by," \
	" created_at, status, selected, waves, wave, wave_done_at,"      \
	" pause_secs, max_failure_pct, finished_at"
/* A request awaiting (or past) approval, as store_approval_fn reads it. */
#define APPROVAL_COLUMNS                                           \
	"id, kind, node_id, command, args, reason, requested_by,"  \
	" requested_at, expires_at, selected, status, decided_by," \
	" decided_at, decision_reason"
/* A node's line of a job's results. */
#define JOB_RESULT_COLUMNS                                               \
	"j.node_id, n.hostname, j.wave, coalesce(c.status, CASE WHEN"    \
	" j.wave < 0 THEN 'excluded' ELSE 'not_started' END), j.reason," \
	" c.exit_code, c.output, c.result_at, c.command_id"              \
	" FROM job_nodes j JOIN nodes n ON n.node_id = j.node_id"        \
	" LEFT JOIN commands c ON c.job_id = j.job_id"                   \
	" AND c.node_id = j.node_id"
/* Failures first, then what never ran, what runs, what waits, the rest. */
#define JOB_RANK                                                       \
	"CASE coalesce(c.status, CASE WHEN j.wave < 0 THEN 'excluded'" \
	" ELSE 'not_started' END) WHEN 'error' THEN 0 WHEN 'rejected'" \
	" THEN 0 WHEN 'timeout' THEN 0 WHEN 'expired' THEN 1"          \
	" WHEN 'cancelled' THEN 2 WHEN 'delivered' THEN 3"             \
	" WHEN 'queued' THEN 4 WHEN 'not_started' THEN 5"              \
	" WHEN 'ok' THEN 6 ELSE 7 END"
/*
 * A page of a job's results, failures first: the page's nodes ranked from
 * job_nodes and an index of commands alone (job_id, node_id, status), then
 * only those rows read whole. JOB, LIMIT, OFFSET: the placeholders.
 */
#define JOB_RESULTS_RANKED(JOB, LIMIT, OFFSET)                                \
	"SELECT r.node_id, n.hostname, r.wave, coalesce(c.status, CASE"       \
	" WHEN r.wave < 0 THEN 'excluded' ELSE 'not_started' END), r.reason," \
	" c.exit_code, c.output, c.result_at, c.command_id FROM (SELECT"      \
	" j.job_id AS job_id, j.node_id AS node_id, j.wave AS wave,"          \
	" j.reason AS reason, " JOB_RANK " AS rk FROM job_nodes j LEFT JOIN"  \
	" commands c ON c.job_id = j.job_id AND c.node_id = j.node_id"        \
	" WHERE j.job_id = " JOB " ORDER BY rk, j.node_id LIMIT " LIMIT       \
	" OFFSET " OFFSET ") r JOIN nodes n ON n.node_id = r.node_id"         \
	" LEFT JOIN commands c ON c.job_id = r.job_id AND c.node_id ="        \
	" r.node_id ORDER BY r.rk, r.node_id"
/*
 * A job's answers grouped by status and the output's hash, largest first,
 * counted from an index alone (job_id, status, output_hash).
 */
#define JOB_GROUPS(JOB, LIMIT)                                              \
	"SELECT status, output_hash, count(*) FROM commands WHERE job_id =" \
	" " JOB " AND status NOT IN ('queued', 'delivered') GROUP BY"       \
	" status, output_hash ORDER BY 3 DESC, 1 LIMIT " LIMIT
/* A recurring job's row. */
#define SCHEDULE_COLUMNS                                                   \
	"schedule_id, command, args, reason, target, rollout, created_by," \
	" created_at, every_secs, next_at, last_job_id"

#endif
