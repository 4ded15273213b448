/*
 * approvals_api: the approvals' routes (CONTRACT: "Operator endpoints,
 * second set"): POST /commands/<id>/approve and /reject, POST
 * /jobs/<id>/approve and /reject (JSON {"reason"} or a form), and GET
 * /approvals (JSON, or the page for a browser). Decisions are approvals.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "approvals.h"
#include "html_approvals.h"
#include "routes.h"
#include "log.h"
#include "util.h"

#define APPROVALS_LISTED 200 /* requests a list shows */

/* A decision's reason: the JSON body's "reason" or the form's; NULL. */
static int
decision_reason(struct req *r, int form, char *out, size_t n)
{
	struct bytes b = req_body(r);
	json_t	    *root = NULL, *v;
	const char  *s = NULL;

	out[0] = '\0';
	if (form)
		s = req_form(r, "reason");
	else if (b.len > 0) {
		if ((root = parse_body(r)) == NULL)
			return -1;
		v = json_object_get(root, "reason");
		if (v != NULL && !json_is_string(v)) {
			json_decref(root);
			resp_error(r, 400, "invalid_field",
			    "reason: must be a string");
			return -1;
		}
		s = json_string_value(v);
	}
	if (s != NULL &&
	    (strlen(s) > APPROVAL_REASON_MAX ||
		!str_printable(s, APPROVAL_REASON_MAX))) {
		json_decref(root);
		resp_error(r, 400, "invalid_field",
		    "reason: at most %d characters of text",
		    APPROVAL_REASON_MAX);
		return -1;
	}
	snprintf(out, n, "%s", s ? s : "");
	json_decref(root);
	return 0;
}

static void
decide(struct req *r, const char *kind, int approve)
{
	const char	    *id = req_param(r);
	int		     form = req_is_form(r) && !req_wants_json(r);
	char		     reason[APPROVAL_REASON_MAX + 1];
	enum approval_result res;
	struct buf	     b;

	if (id == NULL || !uuid_valid(id)) {
		resp_error(r, 400, "invalid_id",
		    "the id must be a lowercase UUID");
		return;
	}
	if (decision_reason(r, form, reason, sizeof(reason)) == -1)
		return;
	res = approvals_decide(id, kind, approve, operator_of(r),
	    operator_peer(r), reason[0] ? reason : NULL);
	switch (res) {
	case AP_DONE:
		break;
	case AP_UNKNOWN:
		resp_error(r, 404, "unknown_request",
		    "no %s with this id awaits approval", kind);
		return;
	case AP_SELF:
		resp_error(r, 403, "self_approval",
		    "you asked for this: another operator must approve it");
		return;
	case AP_DECIDED:
		resp_error(r, 409, "not_awaiting",
		    "this request was decided already, or expired");
		return;
	case AP_NOT_ALLOWED:
		resp_error(r, 409, "command_not_allowed",
		    "the policy no longer lets the node run this command");
		return;
	case AP_NODE_GONE:
		resp_error(r, 409, "node_not_approved",
		    "the node is no longer an approved node");
		return;
	case AP_STORE:
		resp_error(r, 503, "store_unavailable",
		    "the decision could not be stored");
		return;
	}
	if (form) {
		resp_redirect(r, "/approvals");
		return;
	}
	buf_init(&b, 256);
	buf_printf(&b, "{\"id\":\"%s\",\"kind\":\"%s\",\"status\":\"%s\"}", id,
	    kind, approve ? "approved" : "rejected");
	resp_json(r, 200, &b);
}

void
h_command_approve(struct req *r)
{
	decide(r, "command", 1);
}

void
h_command_reject(struct req *r)
{
	decide(r, "command", 0);
}

void
h_job_approve(struct req *r)
{
	decide(r, "job", 1);
}

void
h_job_reject(struct req *r)
{
	decide(r, "job", 0);
}

/* ---- lists ------------------------------------------------------------ */

void
approval_json(struct buf *b, const struct approval_rec *a)
{
	buf_putc(b, '{');
	buf_json_field(b, "id", a->id);
	buf_json_field(b, "kind", a->kind);
	if (a->node_id != NULL)
		buf_json_field(b, "node_id", a->node_id);
	buf_json_field(b, "command", a->command);
	buf_printf(b, ",\"args\":%s", a->args);
	buf_json_field(b, "reason", a->reason);
	buf_json_field(b, "requested_by", a->requested_by);
	json_time_field(b, "requested_at", a->requested_at);
	json_time_field(b, "expires_at", a->expires_at);
	buf_printf(b, ",\"selected\":%d", a->selected);
	buf_json_field(b, "status", a->status);
	if (a->decided_by != NULL) {
		buf_json_field(b, "decided_by", a->decided_by);
		json_time_field(b, "decided_at", a->decided_at);
		buf_json_field(b, "decision_reason",
		    a->decision_reason ? a->decision_reason : "");
	}
	buf_putc(b, '}');
}

struct list_ctx {
	struct buf *b;
	int	    html, n;
	const char *reader;
	enum role   role;
	int64_t	    now;
};

static int
list_row(const struct approval_rec *a, void *arg)
{
	struct list_ctx *c = arg;

	if (c->html)
		html_approval_row(c->b, a, c->reader, c->role, c->now);
	else {
		if (c->n > 0)
			buf_putc(c->b, ',');
		approval_json(c->b, a);
	}
	c->n++;
	return buf_failed(c->b) ? -1 : 0;
}

void
h_approvals(struct req *r)
{
	static const char *const statuses[] = { "awaiting_approval", "approved",
		"rejected", "expired", "any", NULL };
	const char		*st = req_query(r, "status");
	struct list_ctx		 c;
	struct buf		 b;
	int			 ok = 0;

	if (st == NULL || *st == '\0')
		st = "awaiting_approval";
	for (int i = 0; statuses[i] != NULL; i++)
		ok |= strcmp(st, statuses[i]) == 0;
	if (!ok) {
		resp_error(r, 400, "invalid_field",
		    "status: awaiting_approval, approved, rejected, expired "
		    "or any");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.b = &b;
	c.html = req_wants_html(r);
	c.reader = operator_of(r);
	c.role = operator_role(r);
	c.now = time(NULL);
	buf_init(&b, 8u << 20);
	if (c.html)
		html_approvals_begin(&b, st);
	else
		buf_puts(&b, "{\"approvals\":[");
	if (store_approvals(app.store, strcmp(st, "any") ? st : NULL, NULL,
		APPROVALS_LISTED, list_row, &c) == -1) {
		buf_free(&b);
		resp_error(r, 503, "store_unavailable",
		    "approvals unavailable");
		return;
	}
	if (c.html) {
		html_approvals_end(&b, c.n);
		resp_html(r, 200, &b);
	} else {
		buf_puts(&b, "]}");
		resp_json(r, 200, &b);
	}
}
