/*
 * approvals: requests that wait for a second operator, decided once. See
 * approvals.h. The store decides a request in one transaction with what it
 * starts, so two approvers on two replicas cannot both act on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "approvals.h"
#include "fleet.h"
#include "log.h"
#include "policy.h"
#include "queue.h"
#include "util.h"
#include "webhooks.h"

int
approvals_same_person(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

int
approvals_request(struct approval_rec *a, const char *peer)
{
	char detail[1200];

	a->requested_at = time(NULL);
	a->expires_at = a->requested_at + app.cfg.approval_ttl_seconds;
	if (store_approval_add(app.store, a) == -1)
		return -1;
	snprintf(detail, sizeof(detail), "%s %s%s%s selected=%d reason=%s",
	    a->kind, a->command, a->node_id ? " node_id=" : "",
	    a->node_id ? a->node_id : "", a->selected, a->reason);
	audit_record(a->requested_by, peer, "approval_request", a->id, detail,
	    "ok");
	{
		char	exp[32];
		json_t *f;

		time_rfc3339((time_t)a->expires_at, exp);
		f = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:i, s:s}", "id",
		    a->id, "kind", a->kind, "node_id", a->node_id, "command",
		    a->command, "reason", a->reason, "requested_by",
		    a->requested_by, "selected", a->selected, "expires_at",
		    exp);
		if (f != NULL)
			webhooks_emit(WH_APPROVAL, f);
		json_decref(f);
	}
	return 0;
}

/* The request as read (copied out of the store's row). */
struct got {
	int   found;
	char  kind[16];
	char  node_id[37];
	char  command[64];
	char  requested_by[256];
	char  status[24];
	char *args;
};

static int
got_row(const struct approval_rec *a, void *arg)
{
	struct got *g = arg;

	g->found = 1;
	snprintf(g->kind, sizeof(g->kind), "%s", a->kind);
	snprintf(g->node_id, sizeof(g->node_id), "%s",
	    a->node_id ? a->node_id : "");
	snprintf(g->command, sizeof(g->command), "%s", a->command);
	snprintf(g->requested_by, sizeof(g->requested_by), "%s",
	    a->requested_by);
	snprintf(g->status, sizeof(g->status), "%s", a->status);
	g->args = strdup(a->args);
	return g->args == NULL ? -1 : 0;
}

/* An approved command: checked again now, signed and queued. */
static enum approval_result
approve_command(const char *id, const struct got *g, const char *who,
    const char *reason)
{
	struct node_view v;
	struct cmd_new	 c;
	json_t		*args;
	char		*hb = NULL;
	int		 rc;

	if (fleet_get(app.fleet, g->node_id, time(NULL), &v, &hb) == -1)
		return AP_NODE_GONE;
	free(hb);
	if (v.status != NODE_APPROVED)
		return AP_NODE_GONE;
	if (!policy_allows(v.os_profile, g->command))
		return AP_NOT_ALLOWED;
	if ((args = json_loads(g->args, 0, NULL)) == NULL)
		return AP_STORE;
	memset(&c, 0, sizeof(c));
	c.node_id = g->node_id;
	c.command = g->command;
	/* Queued by the requester; who approved it is in the request. */
	c.queued_by = g->requested_by;
	rc = command_queue_approved(id, &c, args, who, reason);
	json_decref(args);
	return rc == 1 ? AP_DONE :
	    rc == 0    ? AP_DECIDED :
	    rc == -2   ? AP_NODE_GONE :
			 AP_STORE;
}

enum approval_result
approvals_decide(const char *id, const char *kind, int approve, const char *who,
    const char *peer, const char *reason)
{
	struct got	     g;
	enum approval_result res;
	char		     detail[1200];
	int		     rc;

	memset(&g, 0, sizeof(g));
	rc = store_approval_get(app.store, id, got_row, &g);
	if (rc == -1) {
		free(g.args);
		return AP_STORE;
	}
	if (!g.found || strcmp(g.kind, kind) != 0)
		res = AP_UNKNOWN;
	else if (strcmp(g.status, "awaiting_approval") != 0)
		res = AP_DECIDED;
	else if (approve && approvals_same_person(who, g.requested_by))
		res = AP_SELF;
	else if (approve && strcmp(kind, "command") == 0)
		res = approve_command(id, &g, who, reason);
	else {
		rc = store_approval_decide(app.store, id,
		    approve ? "approved" : "rejected", who, time(NULL), reason,
		    NULL, NULL, NULL);
		res = rc == 1 ? AP_DONE : rc == 0 ? AP_DECIDED : AP_STORE;
	}
	if (res != AP_UNKNOWN) {
		snprintf(detail, sizeof(detail),
		    "%s %s%s%s requested_by=%s reason=%s", g.kind, g.command,
		    g.node_id[0] ? " node_id=" : "", g.node_id, g.requested_by,
		    reason ? reason : "");
		audit_record(who, peer,
		    approve ? "approval_approve" : "approval_reject", id,
		    detail,
		    res == AP_DONE	      ? "ok" :
			res == AP_SELF	      ? "self_approval" :
			res == AP_DECIDED     ? "not_awaiting" :
			res == AP_NOT_ALLOWED ? "command_not_allowed" :
			res == AP_NODE_GONE   ? "node_not_approved" :
						"store_unavailable");
	}
	free(g.args);
	return res;
}

/* The ids of expired requests, gathered first (the read lock is a leaf). */
struct ids {
	char (*id)[37];
	size_t n, cap;
};

static void
gather(const char *id, void *arg)
{
	struct ids *l = arg;
	char(*np)[37];

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((np = realloc(l->id, l->cap * sizeof(*np))) == NULL)
			return;
		l->id = np;
	}
	snprintf(l->id[l->n++], 37, "%s", id);
}

void
approvals_tick(int64_t now)
{
	struct ids l = { NULL, 0, 0 };

	(void)store_approvals_expired(app.store, now, gather, &l);
	for (size_t i = 0; i < l.n; i++)
		if (store_approval_decide(app.store, l.id[i], "expired",
			"command-center", now, "no decision in time", NULL,
			NULL, NULL) == 1)
			audit_record("command-center", NULL, "approval_expire",
			    l.id[i],
			    "no decision within "
			    "VAULTMESH_APPROVAL_TTL_SECONDS",
			    "ok");
	free(l.id);
}
