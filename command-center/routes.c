/* The route table: method, pattern, body limit, handler. */
#include <stddef.h>

#include "cc.h"

#define KiB 1024

const struct route routes[] = {
	/* Agents (node tokens). */
	{ "POST", "/api/agent/enroll",		 16 * KiB, h_enroll },
	{ "POST", "/api/agent/heartbeat",	 64 * KiB, h_heartbeat },
	{ "GET",  "/api/agent/commands",	  0,	   h_agent_commands },
	{ "POST", "/api/agent/command-result",	  1024 * KiB, h_command_result },
	/* Operators (behind Cloudflare Access). */
	{ "GET",  "/",				  0,	   h_dashboard },
	{ "GET",  "/nodes",			  0,	   h_nodes_json },
	{ "GET",  "/nodes/*",			  0,	   h_node_page },
	{ "POST", "/nodes/*/approve",		  4 * KiB, h_node_approve },
	{ "POST", "/nodes/*/revoke",		  4 * KiB, h_node_revoke },
	{ "POST", "/nodes/*/commands",		 16 * KiB, h_queue_command },
	{ "GET",  "/nodes/*/commands",		  0,	   h_node_commands_json },
	{ "GET",  "/static/vm.css",		  0,	   h_static_css },
	{ "GET",  "/healthz",			  0,	   h_healthz },
	{ NULL, NULL, 0, NULL },
};

/* The one application state the handlers share, set up by main(). */
struct app app;
