/* The route table: method, pattern, body limit, handler, flags. */
#include <stddef.h>

#include "app.h"
#include "html.h"
#include "routes.h"
#include "static.h"

#define KiB 1024
#define A ROUTE_AGENT
#define O ROUTE_OPERATOR
#define H ROUTE_HEALTH
/* Each operator route's gate names the role it needs (roles.h). */
#define G operator_gate		  /* viewer: sees, changes nothing */
#define GO operator_gate_operator /* queues commands, jobs, labels */
#define GP operator_gate_approver /* approves what waits for a second */
#define GA operator_gate_admin	  /* nodes' trust, keys */

const struct route routes[] = {
	/* Agents (node tokens, checked before the body is read). */
	{ "POST", "/api/agent/enroll", 16 * KiB, h_enroll, A, NULL },
	{ "POST", "/api/agent/heartbeat", 64 * KiB, h_heartbeat, A,
	    heartbeat_gate },
	{ "GET", "/api/agent/commands", 0, h_agent_commands, A, agent_gate },
	{ "POST", "/api/agent/command-result", 1024 * KiB, h_command_result, A,
	    agent_gate },
	/* Operators (Host, Cloudflare Access, CSRF: operator_gate). */
	{ "GET", "/", 0, h_dashboard, O, G },
	{ "GET", "/nodes", 0, h_nodes_json, O, G },
	{ "GET", "/nodes/*", 0, h_node_page, O, G },
	{ "DELETE", "/nodes/*", 0, h_node_delete, O, GA },
	{ "GET", "/nodes/*/revoke", 0, h_node_confirm, O, GA },
	{ "GET", "/nodes/*/reject", 0, h_node_confirm, O, GA },
	{ "GET", "/nodes/*/delete", 0, h_node_confirm, O, GA },
	{ "POST", "/nodes/*/approve", 4 * KiB, h_node_approve, O, GA },
	{ "POST", "/nodes/*/revoke", 4 * KiB, h_node_revoke, O, GA },
	{ "POST", "/nodes/*/reject", 4 * KiB, h_node_reject, O, GA },
	{ "POST", "/nodes/*/delete", 4 * KiB, h_node_delete, O, GA },
	{ "POST", "/nodes/*/commands", 16 * KiB, h_queue_command, O, GO },
	{ "PUT", "/nodes/*/labels", 8 * KiB, h_node_labels, O, GO },
	{ "POST", "/nodes/*/labels", 8 * KiB, h_node_labels, O, GO },
	{ "GET", "/nodes/*/commands", 0, h_node_commands_json, O, G },
	{ "GET", "/nodes/*/history", 0, h_node_history, O, G },
	{ "GET", "/jobs", 0, h_jobs, O, G },
	{ "POST", "/jobs", 2048 * KiB, h_job_create, O, GO },
	{ "GET", "/jobs/new", 0, h_job_new, O, GO },
	{ "GET", "/jobs/*", 0, h_job, O, G },
	{ "GET", "/jobs/*/results", 0, h_job_results, O, G },
	{ "POST", "/jobs/*/cancel", 4 * KiB, h_job_cancel, O, GO },
	{ "POST", "/jobs/*/approve", 4 * KiB, h_job_approve, O, GP },
	{ "POST", "/jobs/*/reject", 4 * KiB, h_job_reject, O, GP },
	{ "POST", "/commands/*/approve", 4 * KiB, h_command_approve, O, GP },
	{ "POST", "/commands/*/reject", 4 * KiB, h_command_reject, O, GP },
	{ "GET", "/approvals", 0, h_approvals, O, G },
	{ "GET", "/schedules", 0, h_schedules, O, G },
	{ "POST", "/schedules/*/delete", 4 * KiB, h_schedule_delete, O, GO },
	{ "DELETE", "/schedules/*", 0, h_schedule_delete, O, GO },
	{ "GET", "/keys", 0, h_keys, O, G },
	{ "POST", "/keys/rotate", 4 * KiB, h_keys_rotate, O, GA },
	{ "GET", "/audit", 0, h_audit, O, G },
	{ "GET", "/metrics", 0, h_metrics, O, host_gate },
	/* Anyone. */
	{ "GET", "/static/vm.css", 0, h_static_css, O, NULL },
	/* Versioned assets: the stylesheet and htmx (h_static knows the names). */
	{ "GET", "/static/*", 0, h_static, O, NULL },
	{ "GET", "/healthz", 0, h_healthz, H, NULL },
	{ NULL, NULL, 0, NULL, 0, NULL },
};

/* The one application state the handlers share, set up by main(). */
struct app app;
