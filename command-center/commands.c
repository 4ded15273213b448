/*
 * commands: an operator's commands: the queue route (a JSON body or a
 * form), and a node's command history as JSON and as a page. A command is
 * checked against the catalog and the node's policy, then queued (queue.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "approvals.h"
#include "html.h"
#include "policy.h"
#include "queue.h"
#include "routes.h"
#include "command.h"
#include "log.h"
#include "util.h"

#define HISTORY_MAX 50

/* Args from a form: "unit" as a string, "lines" as an integer. */
json_t *
command_form_args(struct req *r)
{
	json_t	   *args = json_object();
	const char *unit = req_form(r, "unit");
	const char *lines = req_form(r, "lines");
	char	   *end;
	long	    n;

	if (args == NULL)
		return NULL;
	if (unit != NULL && *unit != '\0')
		json_object_set_new(args, "unit", json_string(unit));
	if (lines != NULL && *lines != '\0') {
		n = strtol(lines, &end, 10);
		if (*end != '\0' || end == lines)
			json_object_set_new(args, "lines", json_string(lines));
		else
			json_object_set_new(args, "lines", json_integer(n));
	}
	return args;
}

/* Answers a refused form post with the node page and the reason. */
static void
refuse(struct req *r, int form, const char *node_id, unsigned status,
    const char *code, const char *msg)
{
	audit(r, "queue", node_id, msg, code);
	if (form)
		node_page_refused(r, node_id, status, msg,
		    req_form(r, "command"));
	else
		resp_error(r, status, code, "%s", msg);
}

/*
 * A command the policy makes wait for a second operator: stored as a
 * request (approvals.c), answered 202 {"command_id", "status":
 * "awaiting_approval"} (a form: back to the node page, where it shows).
 */
static void
ask_approval(struct req *r, int form, const char *id, const char *name,
    json_t *args, const char *reason)
{
	struct approval_rec a;
	char		   *args_json, loc[96];
	struct buf	    b;

	if (reason == NULL || *reason == '\0' ||
	    strlen(reason) > APPROVAL_REASON_MAX ||
	    !str_printable(reason, APPROVAL_REASON_MAX)) {
		refuse(r, form, id, 400, "reason_required",
		    "this command waits for a second operator's approval: "
		    "say why (reason, at most 500 characters)");
		return;
	}
	if ((args_json = json_dumps(args, JSON_COMPACT)) == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		return;
	}
	memset(&a, 0, sizeof(a));
	uuid_generate(a.id);
	a.kind = "command";
	a.node_id = id;
	a.command = name;
	a.args = args_json;
	a.reason = reason;
	a.requested_by = operator_of(r);
	a.selected = 1;
	if (approvals_request(&a, operator_peer(r)) == -1) {
		free(args_json);
		refuse(r, 0, id, 503, "store_unavailable",
		    "the request could not be stored; nothing was queued");
		return;
	}
	free(args_json);
	if (form) {
		snprintf(loc, sizeof(loc), "/nodes/%s#approvals", id);
		resp_redirect(r, loc);
		return;
	}
	buf_init(&b, 128);
	buf_printf(&b,
	    "{\"command_id\":\"%s\",\"status\":\"awaiting_approval\"}", a.id);
	resp_json(r, 202, &b);
}

void
h_queue_command(struct req *r)
{
	struct node_view v;
	struct cmd_new	 c;
	json_t		*args = NULL;
	json_t		*root = NULL;
	const char	*id, *name;
	char		*hb = NULL, why[CMD_WHY_MAX];
	char		 who[300], msg[256];
	struct buf	 b;
	int		 form = req_is_form(r) && !req_wants_json(r);
	int		 rc;

	memset(&c, 0, sizeof(c));
	if ((id = node_id_param(r)) == NULL)
		return;
	if (form) {
		name = req_form(r, "command");
		if (name == NULL) {
			refuse(r, form, id, 400, "invalid_form",
			    "the form needs a command");
			return;
		}
		args = command_form_args(r);
	} else {
		if ((root = parse_body(r)) == NULL)
			return;
		name = json_string_value(json_object_get(root, "command"));
		if (name == NULL) {
			resp_error(r, 400, "invalid_field",
			    "command: must be a string");
			goto out;
		}
		args = json_object_get(root, "args");
		args = args ? json_incref(args) : json_object();
	}
	if (args == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		goto out;
	}
	if (fleet_get(app.fleet, id, time(NULL), &v, &hb) == -1) {
		refuse(r, 0, id, 404, "unknown_node", "no node with this id");
		goto out;
	}
	if (cmd_check(name, args, why, sizeof(why)) == -1) {
		const char *code = strncmp(why, "unknown_command", 15) ?
		    "invalid_args" :
		    "unknown_command";
		size_t	    n = strlen(code);

		/* The message says what is wrong; the code is beside it. */
		refuse(r, form, id, 400, code,
		    strncmp(why, code, n) == 0 && why[n] == ':' ?
			why + n + 1 + (why[n + 1] == ' ') :
			why);
		goto out;
	}
	if (!policy_allows(v.os_profile, name)) {
		snprintf(msg, sizeof(msg), "profile %s may not run %s",
		    v.os_profile, name);
		log_warn("command_refused",
		    "node_id=%s command=%s profile=%s by=%s", id, name,
		    v.os_profile, log_quote(who, sizeof(who), operator_of(r)));
		refuse(r, form, id, 403, "command_not_allowed", msg);
		goto out;
	}
	if (v.status != NODE_APPROVED) {
		refuse(r, form, id, 409, "node_not_approved",
		    "only approved nodes take commands");
		goto out;
	}
	if (policy_needs_approval(v.os_profile, name)) {
		ask_approval(r, form, id, name, args,
		    form ? req_form(r, "reason") :
			   json_string_value(json_object_get(root, "reason")));
		goto out;
	}
	c.node_id = id;
	c.command = name;
	c.queued_by = operator_of(r);
	rc = command_queue(&c, args);
	if (rc != 0) {
		refuse(r, 0, id, rc == -2 ? 404 : 503,
		    rc == -2 ? "unknown_node" : "store_unavailable",
		    rc == -2 ? "no node with this id" :
			       "the command could not be stored; "
			       "nothing was queued");
		goto out;
	}
	snprintf(msg, sizeof(msg), "%s command_id=%s seq=%lld", name,
	    c.command_id, (long long)c.seq);
	audit(r, "queue", id, msg, "ok");
	if (form) {
		snprintf(msg, sizeof(msg), "/nodes/%s#commands", id);
		resp_redirect(r, msg);
		goto out;
	}
	buf_init(&b, 256);
	buf_printf(&b,
	    "{\"command_id\":\"%s\",\"status\":\"queued\",\"seq\":%lld}",
	    c.command_id, (long long)c.seq);
	resp_json(r, 201, &b);
out:
	free(hb);
	json_decref(args);
	json_decref(root);
}

/* ---- history ------------------------------------------------------- */

/* A scan's finding in a history's JSON, after the one before it. */
static int
finding_json(const struct finding *f, void *arg)
{
	struct buf *b = arg;

	if (b->len > 0 && b->p[b->len - 1] == '}')
		buf_putc(b, ',');
	json_finding(b, f);
	return buf_failed(b) ? -1 : 0;
}

void
json_time_field(struct buf *b, const char *key, int64_t t)
{
	char ts[32];

	if (t == 0) {
		buf_printf(b, ",\"%s\":null", key);
		return;
	}
	time_rfc3339((time_t)t, ts);
	buf_printf(b, ",\"%s\":\"%s\"", key, ts);
}

static int
command_json(const struct cmd_row *c, void *arg)
{
	struct buf *b = arg;

	if (b->p[b->len - 1] == '}')
		buf_putc(b, ',');
	buf_printf(b,
	    "{\"command_id\":\"%s\",\"seq\":%lld,\"command\":", c->command_id,
	    (long long)c->seq);
	buf_json_str(b, c->command);
	buf_printf(b, ",\"args\":%s,\"queued_by\":", c->args);
	buf_json_str(b, c->queued_by);
	json_time_field(b, "queued_at", c->queued_at);
	json_time_field(b, "expires_at", c->expires_at);
	buf_json_field(b, "status", c->status);
	json_time_field(b, "delivered_at", c->delivered_at);
	buf_json_field(b, "started_at", c->started_at);
	buf_json_field(b, "finished_at", c->finished_at);
	if (c->has_exit)
		buf_printf(b, ",\"exit_code\":%lld", c->exit_code);
	else
		buf_puts(b, ",\"exit_code\":null");
	buf_json_field(b, "output", c->output);
	if (strcmp(c->command, "sovereign-scan") == 0 &&
	    strcmp(c->status, "ok") == 0) {
		buf_puts(b, ",\"findings\":[");
		if (store_findings(app.store, c->command_id, finding_json, b) ==
		    -1)
			return -1;
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
	return buf_failed(b) ? -1 : 0;
}

/* The command statuses, for a history filter. */
static const char *const cmd_statuses[] = {
	"queued",
	"delivered",
	"ok",
	"error",
	"rejected",
	"timeout",
	"expired",
	NULL,
};

/*
 * A history page's filter from the query: before (a seq), status and
 * command (names from their fixed lists): 0, or -1 answered 400.
 */
static int
history_filter(struct req *r, struct cmd_filter *flt)
{
	const char *before = req_query(r, "before");
	const char *st = req_query(r, "status");
	const char *cmd = req_query(r, "command");
	char	   *end;
	int	    ok;

	memset(flt, 0, sizeof(*flt));
	if (before != NULL && *before != '\0') {
		errno = 0;
		flt->before = strtoll(before, &end, 10);
		if (errno != 0 || *end != '\0' || flt->before < 1) {
			resp_error(r, 400, "invalid_field",
			    "before: must be a "
			    "command's seq (a whole number from 1)");
			return -1;
		}
	}
	if (st != NULL && *st != '\0') {
		ok = 0;
		for (int i = 0; cmd_statuses[i] != NULL; i++)
			if (strcmp(st, cmd_statuses[i]) == 0)
				ok = 1;
		if (!ok) {
			resp_error(r, 400, "invalid_field",
			    "status: must be "
			    "queued, delivered, ok, error, rejected, timeout or "
			    "expired");
			return -1;
		}
		flt->status = st;
	}
	if (cmd != NULL && *cmd != '\0') {
		ok = 0;
		for (int i = 0; cmd_catalog[i].name != NULL; i++)
			if (strcmp(cmd, cmd_catalog[i].name) == 0)
				ok = 1;
		if (!ok) {
			resp_error(r, 400, "invalid_field",
			    "command: not a command of the catalog");
			return -1;
		}
		flt->command = cmd;
	}
	return 0;
}

/* One page of history rows, and where the next older page starts. */
struct history_page {
	struct buf *b;
	int	    html;
	int	    n;
	int64_t	    last_seq;
	int64_t	    now;
};

static int
history_row_out(const struct cmd_row *c, void *arg)
{
	struct history_page *h = arg;

	h->n++;
	h->last_seq = c->seq;
	if (h->html) {
		html_command_row(h->b, c, h->now);
		return buf_failed(h->b) ? -1 : 0;
	}
	return command_json(c, h->b);
}

/* The node of /nodes/<id>/...: 0, or -1 answered (400, 404). */
static int
history_node(struct req *r, const char **id, struct node_view *v)
{
	if ((*id = node_id_param(r)) == NULL)
		return -1;
	if (fleet_get(app.fleet, *id, time(NULL), v, NULL) == -1) {
		resp_error(r, 404, "unknown_node", "no node with this id");
		return -1;
	}
	return 0;
}

void
h_node_commands_json(struct req *r)
{
	struct node_view    v;
	struct cmd_filter   flt;
	struct history_page h;
	const char	   *id;
	struct buf	    b;

	if (history_node(r, &id, &v) == -1 || history_filter(r, &flt) == -1)
		return;
	buf_init(&b, 64u << 20);
	buf_puts(&b, "{\"commands\":[");
	memset(&h, 0, sizeof(h));
	h.b = &b;
	if (store_commands_list(app.store, id, &flt, HISTORY_MAX,
		history_row_out, &h) == -1) {
		buf_free(&b);
		resp_error(r, 503, "store_unavailable", "history unavailable");
		return;
	}
	/* A full page may have older ones: where the next page starts. */
	if (h.n == HISTORY_MAX)
		buf_printf(&b, "],\"next_before\":%lld}",
		    (long long)h.last_seq);
	else
		buf_puts(&b, "],\"next_before\":null}");
	resp_json(r, 200, &b);
}

void
h_node_history(struct req *r)
{
	struct node_view    v;
	struct cmd_filter   flt;
	struct history_page h;
	struct buf	    rows, b;
	const char	   *id;

	if (req_wants_json(r)) {
		h_node_commands_json(r);
		return;
	}
	if (history_node(r, &id, &v) == -1 || history_filter(r, &flt) == -1)
		return;
	buf_init(&rows, 64u << 20);
	memset(&h, 0, sizeof(h));
	h.b = &rows;
	h.html = 1;
	h.now = time(NULL);
	if (store_commands_list(app.store, id, &flt, HISTORY_MAX,
		history_row_out, &h) == -1) {
		buf_free(&rows);
		resp_error(r, 503, "store_unavailable", "history unavailable");
		return;
	}
	buf_init(&b, 64u << 20);
	html_history(&b, &v, &flt, rows.p != NULL ? rows.p : "", h.n,
	    h.n == HISTORY_MAX ? h.last_seq : 0, cmd_statuses);
	buf_free(&rows);
	resp_html(r, 200, &b);
}
