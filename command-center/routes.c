/* The route table: method, pattern, body limit, handler, flags. */
#include <stddef.h>

#include "cc.h"

#define KiB 1024
#define A ROUTE_AGENT
#define O ROUTE_OPERATOR

const struct route routes[] = {
	/* Agents (node tokens). */
	{ "POST", "/api/agent/enroll",		   16 * KiB, h_enroll, A },
	{ "POST", "/api/agent/heartbeat",	   64 * KiB, h_heartbeat, A },
	{ "GET",  "/api/agent/commands",	    0,	    h_agent_commands, A },
	{ "POST", "/api/agent/command-result",	 1024 * KiB, h_command_result, A },
	/* Operators (behind Cloudflare Access). */
	{ "GET",  "/",				    0,	    h_dashboard, O },
	{ "GET",  "/nodes",			    0,	    h_nodes_json, O },
	{ "GET",  "/nodes/*",			    0,	    h_node_page, O },
	{ "POST", "/nodes/*/approve",		    4 * KiB, h_node_approve, O },
	{ "POST", "/nodes/*/revoke",		    4 * KiB, h_node_revoke, O },
	{ "POST", "/nodes/*/commands",		   16 * KiB, h_queue_command, O },
	{ "GET",  "/nodes/*/commands",		    0,	    h_node_commands_json, O },
	{ "GET",  "/audit",			    0,	    h_audit, O },
	{ "GET",  "/metrics",			    0,	    h_metrics, 0 },
	/* Anyone. */
	{ "GET",  "/static/vm.css",		    0,	    h_static_css, 0 },
	/* Versioned assets: the stylesheet and htmx (h_static knows the names). */
	{ "GET",  "/static/*",			    0,	    h_static, 0 },
	{ "GET",  "/healthz",			    0,	    h_healthz, 0 },
	{ NULL, NULL, 0, NULL, 0 },
};

/* The one application state the handlers share, set up by main(). */
struct app app;
