/*
 * routes: the handlers and gates of every route (agent_api.c, operator.c,
 * commands.c, html.c) and the table that names them (routes.c).
 */
#ifndef VM_CC_ROUTES_H
#define VM_CC_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "http.h"
#include "model.h"
#include "roles.h"
#include "store.h"

/* agent_api.c */
json_t *parse_body(struct req *r);
/* The agent routes' gate: 401 unless the bearer token is a live one. */
int  agent_gate(struct req *r);
int  heartbeat_gate(struct req *r);
int  agent_token_known(struct req *r, unsigned char th[TOKEN_HASH_LEN]);
int  agent_auth(struct req *r, const char *node_id,
     const unsigned char th[TOKEN_HASH_LEN]);
void h_enroll(struct req *r);
void h_heartbeat(struct req *r);
void h_nodes_json(struct req *r);
void h_dashboard(struct req *r);
void h_node_page(struct req *r);
void h_node_approve(struct req *r);
void h_node_revoke(struct req *r);
void h_node_reject(struct req *r);
void h_node_delete(struct req *r);
/* PUT (JSON) or POST (JSON or a form) /nodes/<id>/labels. */
void h_node_labels(struct req *r);
/* GET /nodes/<id>/{revoke,reject,delete}: the page that asks first. */
void h_node_confirm(struct req *r);
void h_healthz(struct req *r);
void h_metrics(struct req *r);
/* operator.c */
/*
 * The operator routes' gate: 421 for a Host that is not this CC's, 403
 * without a valid Access JWT when Access is configured (its identity is
 * recorded), 403 for a cross-site state change: 0 to go on, -1 answered.
 */
int operator_gate(struct req *r);
/*
 * The same for routes that need more than a viewer (roles.h): 403
 * {"error": "role_required", "role": ...} for an operator below it.
 * Without Access the local operator is an admin.
 */
int operator_gate_operator(struct req *r);
int operator_gate_approver(struct req *r);
int operator_gate_admin(struct req *r);
/* The role the gate granted r. */
enum role operator_role(struct req *r);
/* The Host check alone (see operator_gate): 0, or -1 answered 421. */
int	    host_gate(struct req *r);
const char *node_id_param(struct req *r);
const char *operator_of(struct req *r);
/* Where the operator is: Cloudflare's client address, or the peer. */
const char *operator_peer(struct req *r);
/* Records an operator action of r in the audit log (and the log). */
void audit(struct req *r, const char *action, const char *target,
    const char *detail, const char *result);
void h_audit(struct req *r);
/* Answers the node page (status, with error shown when not NULL). */
void node_page(struct req *r, const char *node_id, unsigned status,
    const char *error);
/*
 * The same after the command form for command was refused (error): the
 * refusal next to that form, with what the operator typed in it.
 */
void node_page_refused(struct req *r, const char *node_id, unsigned status,
    const char *error, const char *command);
/* keys_api.c: GET /keys, POST /keys/rotate. */
void h_keys(struct req *r);
void h_keys_rotate(struct req *r);
/* commands.c */
void h_queue_command(struct req *r);
/* The member "key": t as RFC 3339 (null for 0), after a comma. */
void json_time_field(struct buf *b, const char *key, int64_t t);
/* A command's args from a form's unit and lines fields (NULL: no memory). */
json_t *command_form_args(struct req *r);
/* approvals_api.c: two-person approval (CONTRACT, second set). */
void h_approvals(struct req *r);
void h_command_approve(struct req *r);
void h_command_reject(struct req *r);
void h_job_approve(struct req *r);
void h_job_reject(struct req *r);
/*
 * The rows (html_approval_row, with r's reader) of request id, or of the
 * requests awaiting approval for node_id, as a table into b: how many, or
 * -1.
 */
int approvals_rows(struct buf *b, struct req *r, const char *node_id,
    const char *id);
/* A request as the JSON lists show it. */
void approval_json(struct buf *b, const struct approval_rec *a);
/* jobs_api.c: the jobs' routes (CONTRACT: "Operator endpoints, second set"). */
void h_jobs(struct req *r);
void h_job_create(struct req *r);
void h_job_new(struct req *r);
void h_job(struct req *r);
void h_job_results(struct req *r);
void h_job_cancel(struct req *r);
void h_schedules(struct req *r);
void h_schedule_delete(struct req *r);
/*
 * Validates a command result body (root borrowed; res's strings point into
 * it, or into out when the output was cut): 0, or -1 with the field and
 * why in err. *f is malloc'd findings (free it).
 */
int  result_parse(json_t *root, struct cmd_result *res, struct finding **f,
     struct buf *out, char *err, size_t errlen);
void h_agent_commands(struct req *r);
void h_command_result(struct req *r);
void h_node_commands_json(struct req *r);
/* GET /nodes/<id>/history: the command history page (filters, paging). */
void h_node_history(struct req *r);

/* The route table (routes.c). */
extern const struct route routes[];

#endif
