/*
 * commands: queue (operator), long poll and results (agent), and the
 * command history of a node. A command is checked against the catalog and
 * the node's policy, signed and committed before it is answered; then the
 * node's waiting poll is woken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc.h"
#include "command.h"
#include "log.h"
#include "util.h"

#define DELIVER_MAX	32
#define WAIT_MAX_SECS	60
#define OUTPUT_STORE_MAX (256 * 1024)
#define FINDINGS_MAX	1000
#define HISTORY_MAX	50

/* ---- queue ----------------------------------------------------------- */

struct sign_ctx {
	json_t	*args;
};

/* Builds the payload of c (seq now known) and signs it. */
static int
sign_command(struct cmd_new *c, void *arg)
{
	struct sign_ctx	*sc = arg;
	json_t		*p;
	char		*json = NULL;
	int		 rc = -1;

	p = json_pack("{s:s, s:s, s:I, s:s, s:O, s:I, s:I}",
	    "command_id", c->command_id, "node_id", c->node_id,
	    "seq", (json_int_t)c->seq, "command", c->command,
	    "args", sc->args, "issued_at", (json_int_t)c->queued_at,
	    "expires_at", (json_int_t)c->expires_at);
	if (p == NULL || (json = json_dumps(p, JSON_COMPACT)) == NULL)
		goto out;
	if (strlen(json) > CMD_PAYLOAD_MAX)
		goto out;
	rc = cmd_sign(app.sk, json, strlen(json), &c->payload, &c->signature);
out:
	free(json);
	json_decref(p);
	return rc;
}

int
command_queue(struct cmd_new *c, json_t *args)
{
	struct sign_ctx	 sc = { args };
	char		*args_json, who[300];
	int		 rc;

	if ((args_json = json_dumps(args, JSON_COMPACT)) == NULL)
		return -1;
	uuid_generate(c->command_id);
	c->args = args_json;
	c->queued_at = time(NULL);
	c->expires_at = c->queued_at + app.cfg.command_ttl_seconds;
	rc = store_command_queue(app.store, c, sign_command, &sc);
	free(c->payload);
	free(c->signature);
	c->payload = c->signature = NULL;
	c->args = NULL;
	free(args_json);
	if (rc != 0)
		return rc;
	/* Counted before the wake, so a poll parking now sees it. */
	fleet_pending_add(app.fleet, c->node_id, 1);
	dispatch_wake(c->node_id);
	log_info("command_queued", "node_id=%s command_id=%s command=%s "
	    "seq=%lld by=%s", c->node_id, c->command_id, c->command,
	    (long long)c->seq, log_quote(who, sizeof(who), c->queued_by));
	return 0;
}

/* Args from a form: "unit" as a string, "lines" as an integer. */
static json_t *
form_args(struct req *r)
{
	json_t		*args = json_object();
	const char	*unit = req_form(r, "unit");
	const char	*lines = req_form(r, "lines");
	char		*end;
	long		 n;

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

void
h_queue_command(struct req *r)
{
	struct node_view	 v;
	struct cmd_new		 c;
	struct sign_ctx		 sc = { NULL };
	json_t			*root = NULL;
	const char		*id, *name;
	char			*hb = NULL, why[CMD_WHY_MAX];
	char			 who[300], msg[256];
	struct buf		 b;
	int			 form = req_is_form(r) && !req_wants_json(r);
	int			 rc;

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
		sc.args = form_args(r);
	} else {
		if ((root = parse_body(r)) == NULL)
			return;
		name = json_string_value(json_object_get(root, "command"));
		if (name == NULL) {
			resp_error(r, 400, "invalid_field", "command: must be "
			    "a string");
			goto out;
		}
		sc.args = json_object_get(root, "args");
		sc.args = sc.args ? json_incref(sc.args) : json_object();
	}
	if (sc.args == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		goto out;
	}
	if (fleet_get(app.fleet, id, time(NULL), &v, &hb) == -1) {
		refuse(r, 0, id, 404, "unknown_node", "no node with this id");
		goto out;
	}
	if (cmd_check(name, sc.args, why, sizeof(why)) == -1) {
		const char	*code = strncmp(why, "unknown_command", 15) ?
				    "invalid_args" : "unknown_command";
		size_t		 n = strlen(code);

		/* The message says what is wrong; the code is beside it. */
		refuse(r, form, id, 400, code, strncmp(why, code, n) == 0 &&
		    why[n] == ':' ? why + n + 1 + (why[n + 1] == ' ') : why);
		goto out;
	}
	if (!policy_allows(v.os_profile, name)) {
		snprintf(msg, sizeof(msg), "profile %s may not run %s",
		    v.os_profile, name);
		log_warn("command_refused", "node_id=%s command=%s profile=%s "
		    "by=%s", id, name, v.os_profile,
		    log_quote(who, sizeof(who), operator_of(r)));
		refuse(r, form, id, 403, "command_not_allowed", msg);
		goto out;
	}
	if (v.status != NODE_APPROVED) {
		refuse(r, form, id, 409, "node_not_approved", "only approved "
		    "nodes take commands");
		goto out;
	}
	c.node_id = id;
	c.command = name;
	c.queued_by = operator_of(r);
	rc = command_queue(&c, sc.args);
	if (rc != 0) {
		refuse(r, 0, id, rc == -2 ? 404 : 503, rc == -2 ?
		    "unknown_node" : "store_unavailable", rc == -2 ?
		    "no node with this id" : "the command could not be stored; "
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
	buf_printf(&b, "{\"command_id\":\"%s\",\"status\":\"queued\","
	    "\"seq\":%lld}", c.command_id, (long long)c.seq);
	resp_json(r, 201, &b);
out:
	free(hb);
	json_decref(sc.args);
	json_decref(root);
}

/* ---- long poll ------------------------------------------------------- */

struct poll {
	struct waiter	*w;
	char		 node_id[37];
	struct cmd_wire	*sent;		/* delivered in the answer */
	size_t		 nsent;
};

static int
has_work(const char *node_id)
{
	return fleet_pending_add(app.fleet, node_id, 0) > 0;
}

static void
poll_done(struct req *r, void *arg, int ok)
{
	struct poll	*p = arg;
	int		 back;

	(void)r;
	dispatch_waiter_free(p->w);
	if (!ok && p->nsent > 0) {
		/*
		 * The answer never left: the commands wait for the next poll.
		 * Only those that went back count (a lease that ran out
		 * meanwhile queued some of them already, and counted them).
		 */
		if ((back = store_commands_undeliver(app.store, p->sent,
		    p->nsent)) > 0)
			fleet_pending_add(app.fleet, p->node_id, back);
		log_warn("delivery_failed", "node_id=%s count=%zu", p->node_id,
		    p->nsent);
	}
	cmd_wire_free(p->sent, p->nsent);
	free(p);
}

static void
poll_answer(struct req *r, struct poll *p)
{
	struct buf b;

	/* Nothing queued (the usual end of a wait): no need to ask the store. */
	if (!has_work(p->node_id)) {
		buf_init(&b, 32);
		buf_puts(&b, "{\"commands\":[]}");
		resp_json(r, 200, &b);
		return;
	}
	if (store_commands_deliver(app.store, p->node_id, time(NULL),
	    DELIVER_MAX, &p->sent, &p->nsent) == -1) {
		resp_error(r, 503, "store_unavailable", "commands could not be "
		    "read; poll again");
		return;
	}
	if (p->nsent > 0)
		fleet_pending_add(app.fleet, p->node_id, -(int)p->nsent);
	if (p->nsent > 0 && dispatch_woken_us(p->w) > 0)
		metrics_dispatch_delay(mono_us() - dispatch_woken_us(p->w));
	buf_init(&b, 1u << 20);
	buf_puts(&b, "{\"commands\":[");
	for (size_t i = 0; i < p->nsent; i++) {
		buf_printf(&b, "%s{\"payload\":", i ? "," : "");
		buf_json_str(&b, p->sent[i].payload);
		buf_puts(&b, ",\"signature\":");
		buf_json_str(&b, p->sent[i].signature);
		buf_putc(&b, '}');
		log_info("command_delivered", "node_id=%s command_id=%s",
		    p->node_id, p->sent[i].command_id);
	}
	buf_puts(&b, "]}");
	resp_json(r, 200, &b);
}

void
h_agent_commands(struct req *r)
{
	struct poll	*p = req_done_arg(r);
	const char	*id, *wait;
	char		*end;
	unsigned char	 th[TOKEN_HASH_LEN];
	long		 secs = 0;

	if (p != NULL) {	/* resumed: a command came or the wait ran out */
		if (!fleet_approved(app.fleet, p->node_id)) {
			resp_error(r, 401, "unauthorized", "the node was revoked");
			return;
		}
		/* A newer poll of the node took over: this one ends empty. */
		if (dispatch_superseded(p->w)) {
			resp_json_const(r, "{\"commands\":[]}");
			return;
		}
		poll_answer(r, p);
		return;
	}
	id = req_query(r, "node_id");
	if (id == NULL || !uuid_valid(id)) {
		resp_error(r, 400, "invalid_field", "node_id: must be a "
		    "lowercase UUID");
		return;
	}
	if (!agent_token_known(r, th))
		return;
	if ((wait = req_query(r, "wait")) != NULL) {
		secs = strtol(wait, &end, 10);
		if (*wait == '\0' || *end != '\0' || secs < 0 ||
		    secs > WAIT_MAX_SECS) {
			resp_error(r, 400, "invalid_field", "wait: must be "
			    "seconds from 0 to %d", WAIT_MAX_SECS);
			return;
		}
	}
	if (agent_auth(r, id, th) == -1)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		return;
	}
	memcpy(p->node_id, id, 37);
	req_on_done(r, poll_done, p);
	if (secs > 0 && (p->w = dispatch_waiter_new(r, id,
	    mono_ms() + secs * 1000)) != NULL && dispatch_park(p->w, has_work))
		return;		/* parked: the handler runs again on wake */
	poll_answer(r, p);
}

/* ---- results --------------------------------------------------------- */

static int
is_printable_max(json_t *v, size_t min, size_t max)
{
	const char *s = json_string_value(v);

	return s != NULL && strlen(s) >= min && strlen(s) <= max &&
	    str_printable(s, max);
}

static int
parse_findings(json_t *arr, struct finding **out, size_t *n, char *err,
    size_t errlen)
{
	static const char *const sev[] = { "critical", "high", "medium",
	    "low", "info" };
	struct finding	*f;
	json_t		*e;
	size_t		 i;

	*out = NULL;
	*n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > FINDINGS_MAX) {
		snprintf(err, errlen, "findings: must be an array of at most "
		    "%d findings", FINDINGS_MAX);
		return -1;
	}
	if (json_array_size(arr) == 0)
		return 0;
	if ((f = calloc(json_array_size(arr), sizeof(*f))) == NULL) {
		snprintf(err, errlen, "findings: out of memory");
		return -1;
	}
	json_array_foreach(arr, i, e) {
		json_t	*s = json_object_get(e, "severity");
		json_t	*rem = json_object_get(e, "remediation");
		int	 ok = 0;

		for (size_t k = 0; k < 5 && json_is_string(s); k++)
			if (strcmp(json_string_value(s), sev[k]) == 0)
				ok = 1;
		if (!json_is_object(e) || !ok ||
		    !is_printable_max(json_object_get(e, "id"), 1, 128) ||
		    !is_printable_max(json_object_get(e, "title"), 1, 256) ||
		    !is_printable_max(json_object_get(e, "detail"), 0, 4096) ||
		    (rem != NULL && !json_is_null(rem) &&
		    !is_printable_max(rem, 0, 2048))) {
			snprintf(err, errlen, "findings[%zu]: needs id, "
			    "severity (critical, high, medium, low, info), "
			    "title and detail strings", i);
			free(f);
			return -1;
		}
		f[i].id = json_string_value(json_object_get(e, "id"));
		f[i].severity = json_string_value(s);
		f[i].title = json_string_value(json_object_get(e, "title"));
		f[i].detail = json_string_value(json_object_get(e, "detail"));
		f[i].remediation = json_string_value(rem);
	}
	*out = f;
	*n = json_array_size(arr);
	return 0;
}

static int
valid_time_field(json_t *root, const char *field, const char **out)
{
	json_t	*v = json_object_get(root, field);
	time_t	 t;

	*out = json_string_value(v);
	return *out != NULL && time_parse_rfc3339(*out, &t) == 0;
}

int
result_parse(json_t *root, struct cmd_result *res, struct finding **f,
    struct buf *out, char *err, size_t errlen)
{
	static const char *const statuses[] = { "ok", "error", "rejected",
	    "timeout" };
	json_t	*ex;
	int	 ok = 0;

	memset(res, 0, sizeof(*res));
	*f = NULL;
	res->node_id = json_string_value(json_object_get(root, "node_id"));
	res->command_id = json_string_value(json_object_get(root,
	    "command_id"));
	res->status = json_string_value(json_object_get(root, "status"));
	res->output = json_string_value(json_object_get(root, "output"));
	ex = json_object_get(root, "exit_code");
	for (size_t i = 0; i < 4 && res->status != NULL; i++)
		if (strcmp(res->status, statuses[i]) == 0)
			ok = 1;
	if (res->node_id == NULL || !uuid_valid(res->node_id)) {
		snprintf(err, errlen, "node_id: must be a lowercase UUID");
		return -1;
	}
	if (res->command_id == NULL || !uuid_valid(res->command_id)) {
		snprintf(err, errlen, "command_id: must be a lowercase UUID");
		return -1;
	}
	if (!ok) {
		snprintf(err, errlen, "status: must be ok, error, rejected or "
		    "timeout");
		return -1;
	}
	if (ex != NULL && !json_is_null(ex) && !json_is_integer(ex)) {
		snprintf(err, errlen, "exit_code: must be an integer or null");
		return -1;
	}
	if (json_object_get(root, "output") != NULL && res->output == NULL) {
		snprintf(err, errlen, "output: must be a string");
		return -1;
	}
	if (!valid_time_field(root, "started_at", &res->started_at) ||
	    !valid_time_field(root, "finished_at", &res->finished_at)) {
		snprintf(err, errlen, "started_at and finished_at: must be RFC "
		    "3339 times");
		return -1;
	}
	if (parse_findings(json_object_get(root, "findings"), f,
	    &res->nfindings, err, errlen) == -1)
		return -1;
	res->findings = *f;
	res->has_exit = json_is_integer(ex);
	res->exit_code = json_is_integer(ex) ? json_integer_value(ex) : 0;
	if (res->output != NULL && strlen(res->output) > OUTPUT_STORE_MAX) {
		size_t n = OUTPUT_STORE_MAX;

		/* Cut on a character boundary: never half a UTF-8 sequence. */
		while (n > 0 && ((unsigned char)res->output[n] & 0xc0) == 0x80)
			n--;
		buf_add(out, res->output, n);
		buf_puts(out, "\n[output truncated by the command center]");
		if (buf_failed(out)) {
			snprintf(err, errlen, "output: out of memory");
			free(*f);
			*f = NULL;
			return -1;
		}
		res->output = out->p;
	}
	return 0;
}

void
h_command_result(struct req *r)
{
	struct cmd_result	 res;
	struct finding		*f = NULL;
	json_t			*root;
	struct buf		 b, out;
	unsigned char		 th[TOKEN_HASH_LEN];
	char			 err[160];

	buf_init(&out, OUTPUT_STORE_MAX + 64);
	if (!agent_token_known(r, th))
		return;
	if ((root = parse_body(r)) == NULL)
		return;
	if (result_parse(root, &res, &f, &out, err, sizeof(err)) == -1) {
		resp_error(r, 400, "invalid_field", "%s", err);
		goto out;
	}
	if (agent_auth(r, res.node_id, th) == -1)
		goto out;
	res.now = time(NULL);
	switch (store_command_result(app.store, &res)) {
	case RESULT_STORED:
		if (res.was_queued)	/* it never went out through a poll */
			fleet_pending_add(app.fleet, res.node_id, -1);
		if (res.is_scan)
			fleet_scan(app.fleet, res.node_id, res.now, res.counts);
		log_info("command_result", "node_id=%s command_id=%s status=%s "
		    "exit_code=%lld findings=%zu", res.node_id, res.command_id,
		    res.status, res.exit_code, res.nfindings);
		/* FALLTHROUGH */
	case RESULT_REPEAT:
		buf_init(&b, 32);
		buf_puts(&b, "{\"ok\":true}");
		resp_json(r, 200, &b);
		break;
	case RESULT_UNKNOWN:
		resp_error(r, 404, "unknown_command", "no such command");
		break;
	case RESULT_FORBIDDEN:
		resp_error(r, 403, "forbidden", "this command belongs to "
		    "another node");
		break;
	default:
		resp_error(r, 503, "store_unavailable", "the result could not "
		    "be stored; send it again");
	}
out:
	buf_free(&out);
	free(f);
	json_decref(root);
}

/* ---- history ------------------------------------------------------- */

static int
finding_json(const struct finding *f, void *arg)
{
	struct buf *b = arg;

	if (b->len > 0 && b->p[b->len - 1] == '}')
		buf_putc(b, ',');
	buf_puts(b, "{\"id\":");
	buf_json_str(b, f->id);
	buf_puts(b, ",\"severity\":");
	buf_json_str(b, f->severity);
	buf_puts(b, ",\"title\":");
	buf_json_str(b, f->title);
	buf_puts(b, ",\"detail\":");
	buf_json_str(b, f->detail);
	buf_puts(b, ",\"remediation\":");
	buf_json_str(b, f->remediation);
	buf_putc(b, '}');
	return buf_failed(b) ? -1 : 0;
}

static void
time_json(struct buf *b, const char *key, int64_t t)
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
	buf_printf(b, "{\"command_id\":\"%s\",\"seq\":%lld,\"command\":",
	    c->command_id, (long long)c->seq);
	buf_json_str(b, c->command);
	buf_printf(b, ",\"args\":%s,\"queued_by\":", c->args);
	buf_json_str(b, c->queued_by);
	time_json(b, "queued_at", c->queued_at);
	time_json(b, "expires_at", c->expires_at);
	buf_puts(b, ",\"status\":");
	buf_json_str(b, c->status);
	time_json(b, "delivered_at", c->delivered_at);
	buf_puts(b, ",\"started_at\":");
	buf_json_str(b, c->started_at);
	buf_puts(b, ",\"finished_at\":");
	buf_json_str(b, c->finished_at);
	if (c->has_exit)
		buf_printf(b, ",\"exit_code\":%lld", c->exit_code);
	else
		buf_puts(b, ",\"exit_code\":null");
	buf_puts(b, ",\"output\":");
	buf_json_str(b, c->output);
	if (strcmp(c->command, "sovereign-scan") == 0 &&
	    strcmp(c->status, "ok") == 0) {
		buf_puts(b, ",\"findings\":[");
		if (store_findings(app.store, c->command_id, finding_json,
		    b) == -1)
			return -1;
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
	return buf_failed(b) ? -1 : 0;
}

/* The command statuses, for a history filter. */
static const char *const cmd_statuses[] = {
	"queued", "delivered", "ok", "error", "rejected", "timeout", "expired",
	NULL,
};

/*
 * A history page's filter from the query: before (a seq), status and
 * command (names from their fixed lists): 0, or -1 answered 400.
 */
static int
history_filter(struct req *r, struct cmd_filter *flt)
{
	const char	*before = req_query(r, "before");
	const char	*st = req_query(r, "status");
	const char	*cmd = req_query(r, "command");
	char		*end;
	int		 ok;

	memset(flt, 0, sizeof(*flt));
	if (before != NULL && *before != '\0') {
		errno = 0;
		flt->before = strtoll(before, &end, 10);
		if (errno != 0 || *end != '\0' || flt->before < 1) {
			resp_error(r, 400, "invalid_field", "before: must be a "
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
			resp_error(r, 400, "invalid_field", "status: must be "
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
			resp_error(r, 400, "invalid_field", "command: not a "
			    "command of the catalog");
			return -1;
		}
		flt->command = cmd;
	}
	return 0;
}

/* One page of history rows, and where the next older page starts. */
struct history_page {
	struct buf	*b;
	int		 html;
	int		 n;
	int64_t		 last_seq;
	int64_t		 now;
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
	struct node_view	 v;
	struct cmd_filter	 flt;
	struct history_page	 h;
	const char		*id;
	struct buf		 b;

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
		buf_printf(&b, "],\"next_before\":%lld}", (long long)h.last_seq);
	else
		buf_puts(&b, "],\"next_before\":null}");
	resp_json(r, 200, &b);
}

void
h_node_history(struct req *r)
{
	struct node_view	 v;
	struct cmd_filter	 flt;
	struct history_page	 h;
	struct buf		 rows, b;
	const char		*id;

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
