/*
 * jobs_api: the jobs' routes: create one (a JSON body or the new-job
 * form, a preview with ?dry_run=1), list them, a job and its results (as
 * JSON, or as pages for a browser), cancel one. What a job does is in
 * jobs.c; this file reads requests and writes answers.
 *
 * GET answers JSON unless the client asks for HTML (a browser's Accept,
 * or htmx): scripts get the contract's JSON without asking for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "html_jobs.h"
#include "jobs.h"
#include "routes.h"
#include "command.h"
#include "log.h"
#include "util.h"

#define JOBS_PAGE 50	 /* jobs per page of the list */
#define RESULTS_MAX 1000 /* results per page of the JSON */
#define RESULTS_DEFAULT 500
#define OUTPUT_MAX (64u << 20)	  /* an answer's bytes, at most */
#define RESULTS_BYTES (32u << 20) /* a JSON page ends past this */

static const char *
job_id_param(struct req *r)
{
	const char *id = req_param(r);

	if (id == NULL || !uuid_valid(id)) {
		resp_error(r, 400, "invalid_job_id",
		    "the job id must be a lowercase UUID");
		return NULL;
	}
	return id;
}

/* 1 when the job has ended (done, stopped, cancelled). */
static int
job_ended(const struct job_rec *j)
{
	return strcmp(j->status, "running") != 0 &&
	    strcmp(j->status, "awaiting_approval") != 0;
}

/*
 * A job's counts, as the contract shows them: an ended job's nodes never
 * started count as cancelled.
 */
static int
counts_of(const struct job_rec *j, int c[JC_N])
{
	if (jobs_counts(j->job_id, c) == -1)
		return -1;
	if (job_ended(j)) {
		c[JC_CANCELLED] += c[JC_NOT_STARTED];
		c[JC_NOT_STARTED] = 0;
	}
	return 0;
}

static void
job_json(struct buf *b, const struct job_rec *j, const int c[JC_N], int64_t now)
{
	buf_putc(b, '{');
	buf_json_field(b, "job_id", j->job_id);
	buf_json_field(b, "command", j->command);
	buf_printf(b, ",\"args\":%s", j->args);
	buf_json_field(b, "status", j->status);
	buf_printf(b, ",\"selected\":%d,\"counts\":{", j->selected);
	for (int i = 0; i < JC_NOT_STARTED; i++)
		buf_printf(b, "%s\"%s\":%d", i ? "," : "", job_count_names[i],
		    c[i]);
	buf_printf(b, "},\"not_started\":%d", c[JC_NOT_STARTED]);
	buf_json_field(b, "created_by", j->created_by);
	buf_json_field(b, "reason", j->reason);
	json_time_field(b, "created_at", j->created_at);
	json_time_field(b, "finished_at", j->finished_at);
	buf_printf(b,
	    ",\"elapsed_secs\":%lld,\"wave\":%d,\"waves\":%d,"
	    "\"target\":%s,\"rollout\":%s}",
	    (long long)((j->finished_at ? j->finished_at : now) -
		j->created_at),
	    j->wave >= 0 ? j->wave + 1 : 0, j->waves, j->target, j->rollout);
}

/* ---- create --------------------------------------------------------- */

/* A form's whole number field: 0 (*out set, or left when empty), -1. */
static int
form_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long  v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* The rollout of the new-job form: 0, or -1 with err. */
static int
form_rollout(struct req *r, struct rollout *ro, char *err, size_t errlen)
{
	const char *canary = req_form(r, "canary");
	size_t	    len;

	memset(ro, 0, sizeof(*ro));
	ro->max_failure_pct = -1;
	if (canary != NULL && (len = strlen(canary)) > 0 &&
	    canary[len - 1] == '%') {
		char num[16];

		snprintf(num, sizeof(num), "%.*s", (int)(len - 1), canary);
		if (len > 5 || form_int(num, 1, 100, &ro->canary_pct) == -1 ||
		    ro->canary_pct == 0) {
			snprintf(err, errlen,
			    "canary: a number of nodes, or "
			    "a percentage (10%%)");
			return -1;
		}
	} else if (form_int(canary, 1, 1000000, &ro->canary) == -1) {
		snprintf(err, errlen,
		    "canary: a number of nodes, or a percentage (10%%)");
		return -1;
	}
	if (form_int(req_form(r, "wave_size"), 1, 1000000, &ro->wave_size) ==
	    -1) {
		snprintf(err, errlen, "wave_size: a whole number from 1");
		return -1;
	}
	if (form_int(req_form(r, "pause_secs"), 0, 7 * 86400,
		&ro->pause_secs) == -1) {
		snprintf(err, errlen, "pause_secs: seconds, up to a week");
		return -1;
	}
	if (form_int(req_form(r, "max_failure_pct"), 0, 100,
		&ro->max_failure_pct) == -1) {
		snprintf(err, errlen, "max_failure_pct: from 0 to 100");
		return -1;
	}
	return 0;
}

/* The reason: required, at most JOB_REASON_MAX bytes of text. */
static int
reason_ok(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= JOB_REASON_MAX &&
	    str_printable(s, JOB_REASON_MAX);
}

/* The new-job form as typed (to show it again). */
static void
form_typed(struct req *r, struct job_form *f)
{
	memset(f, 0, sizeof(*f));
	f->command = req_form(r, "command");
	f->unit = req_form(r, "unit");
	f->lines = req_form(r, "lines");
	f->reason = req_form(r, "reason");
	f->labels = req_form(r, "labels");
	f->os_profile = req_form(r, "os_profile");
	f->attention = req_form(r, "attention");
	f->hostname = req_form(r, "hostname");
	f->node_ids = req_form(r, "node_ids");
	f->canary = req_form(r, "canary");
	f->wave_size = req_form(r, "wave_size");
	f->pause_secs = req_form(r, "pause_secs");
	f->max_failure_pct = req_form(r, "max_failure_pct");
	f->confirm = req_form(r, "confirm") != NULL;
	f->every_secs = req_form(r, "every_secs");
	f->max_nodes = app.cfg.job_max_nodes;
}

static void
form_answer(struct req *r, unsigned status, struct job_form *f)
{
	struct buf b;

	buf_init(&b, 16u << 20);
	html_job_form(&b, f);
	resp_html(r, status, &b);
}

/* A refusal: the form again with why, or a JSON error. */
static void
refuse(struct req *r, struct job_form *f, unsigned status, const char *code,
    const char *msg)
{
	if (f != NULL) {
		f->error = msg;
		form_answer(r, status, f);
	} else
		resp_error(r, status, code, "%s", msg);
}

static void
preview_json(struct req *r, const struct job_preview *p)
{
	struct buf b;

	buf_init(&b, 64u << 20);
	buf_printf(&b, "{\"selected\":%zu,\"excluded\":[", p->n);
	for (size_t i = 0; i < p->nexcluded; i++) {
		buf_printf(&b,
		    "%s{\"node_id\":\"%s\",\"reason\":", i ? "," : "",
		    p->excluded[i].node_id);
		buf_json_str(&b, p->excluded[i].reason);
		buf_putc(&b, '}');
	}
	buf_printf(&b,
	    "],\"offline\":%zu,\"waves\":%d,\"awaits_approval\":%s,"
	    "\"nodes\":[",
	    p->offline, p->waves, p->awaits ? "true" : "false");
	for (size_t i = 0; i < p->n; i++)
		buf_printf(&b, "%s\"%s\"", i ? "," : "", p->ids[i]);
	buf_puts(&b, "]}");
	resp_json(r, 200, &b);
}

void
h_job_create(struct req *r)
{
	struct job_spec	   spec;
	struct job_preview p;
	struct job_form	   form, *fp = NULL;
	json_t		  *root = NULL;
	const char	  *dry = req_query(r, "dry_run");
	char		   err[300], why[CMD_WHY_MAX], job_id[37], loc[64];
	char		   schedule_id[37];
	int		   dry_run = dry != NULL && strcmp(dry, "1") == 0;
	struct buf	   b;

	memset(&spec, 0, sizeof(spec));
	memset(&p, 0, sizeof(p));
	spec.created_by = operator_of(r);
	if (req_is_form(r) && !req_wants_json(r)) {
		fp = &form;
		form_typed(r, fp);
		if (req_form(r, "dry_run") != NULL)
			dry_run = 1;
		spec.command = form.command;
		spec.reason = form.reason;
		spec.confirm = form.confirm;
		if (spec.command == NULL) {
			refuse(r, fp, 400, "invalid_form", "choose a command");
			return;
		}
		if ((spec.args = command_form_args(r)) == NULL) {
			resp_error(r, 503, "unavailable", "out of memory");
			return;
		}
		if (target_from_fields(form.labels, form.os_profile,
			form.attention, form.hostname, form.node_ids,
			&spec.target, err, sizeof(err)) == -1 ||
		    form_rollout(r, &spec.ro, err, sizeof(err)) == -1) {
			refuse(r, fp, 400, "invalid_field", err);
			goto out;
		}
		{
			int every = 0;

			if (form_int(form.every_secs, JOB_EVERY_MIN,
				366 * 86400, &every) == -1) {
				refuse(r, fp, 400, "invalid_field",
				    "every_secs: a period from 60 s to a "
				    "year");
				goto out;
			}
			spec.every_secs = every;
		}
	} else {
		json_t *v;

		if ((root = parse_body(r)) == NULL)
			return;
		spec.command =
		    json_string_value(json_object_get(root, "command"));
		spec.reason =
		    json_string_value(json_object_get(root, "reason"));
		v = json_object_get(root, "confirm");
		spec.confirm = json_is_true(v);
		if (spec.command == NULL) {
			resp_error(r, 400, "invalid_field",
			    "command: must be a string");
			goto out;
		}
		v = json_object_get(root, "every_secs");
		if (v != NULL &&
		    (!json_is_integer(v) ||
			json_integer_value(v) < JOB_EVERY_MIN ||
			json_integer_value(v) > 366 * 86400)) {
			resp_error(r, 400, "invalid_field",
			    "every_secs: a period from 60 s to a year");
			goto out;
		}
		spec.every_secs = v != NULL ? json_integer_value(v) : 0;
		v = json_object_get(root, "args");
		if (v != NULL && !json_is_object(v)) {
			resp_error(r, 400, "invalid_args",
			    "args: must be an object");
			goto out;
		}
		spec.args = v != NULL ? json_incref(v) : json_object();
		if (target_from_json(json_object_get(root, "target"),
			&spec.target, err, sizeof(err)) == -1 ||
		    rollout_from_json(json_object_get(root, "rollout"),
			&spec.ro, err, sizeof(err)) == -1) {
			resp_error(r, 400, "invalid_field", "%s", err);
			goto out;
		}
	}
	if (cmd_check(spec.command, spec.args, why, sizeof(why)) == -1) {
		int unknown = strncmp(why, "unknown_command", 15) == 0;

		refuse(r, fp, 400, unknown ? "unknown_command" : "invalid_args",
		    why);
		goto out;
	}
	if (!dry_run && !reason_ok(spec.reason)) {
		refuse(r, fp, 400, "invalid_field",
		    "reason: required, at most 500 characters of text");
		goto out;
	}
	if (jobs_preview(&spec, &p) == -1) {
		refuse(r, fp, 503, "unavailable", "out of memory");
		goto out;
	}
	if (dry_run) {
		if (fp != NULL) {
			form.preview = &p;
			form_answer(r, 200, fp);
		} else
			preview_json(r, &p);
		goto out;
	}
	if (p.n == 0) {
		refuse(r, fp, 409, "no_nodes_selected",
		    "the target selects no node the policy lets run this "
		    "command");
		goto out;
	}
	if (p.n > (size_t)app.cfg.job_max_nodes && !spec.confirm) {
		snprintf(err, sizeof(err),
		    "the target selects %zu nodes, more than %ld "
		    "(VAULTMESH_JOB_MAX_NODES): confirm to go on",
		    p.n, app.cfg.job_max_nodes);
		if (fp != NULL)
			form.preview = &p;
		refuse(r, fp, 409, "confirm_required", err);
		goto out;
	}
	if (jobs_create(&spec, &p, job_id) == -1) {
		refuse(r, fp, 503, "store_unavailable",
		    "the job could not be stored; nothing was queued");
		goto out;
	}
	if (spec.every_secs > 0 &&
	    jobs_schedule_add(&spec, job_id, schedule_id) == -1) {
		refuse(r, fp, 503, "store_unavailable",
		    "the job runs once: its schedule could not be stored");
		goto out;
	}
	if (fp != NULL) {
		snprintf(loc, sizeof(loc), "/jobs/%s", job_id);
		resp_redirect(r, loc);
		goto out;
	}
	buf_init(&b, 256);
	buf_printf(&b, "{\"job_id\":\"%s\",\"status\":\"%s\",\"selected\":%zu",
	    job_id, p.awaits ? "awaiting_approval" : "running", p.n);
	if (spec.every_secs > 0)
		buf_printf(&b, ",\"schedule_id\":\"%s\"", schedule_id);
	buf_putc(&b, '}');
	resp_json(r, 201, &b);
out:
	jobs_preview_free(&p);
	target_free(&spec.target);
	json_decref(spec.args);
	json_decref(root);
}

void
h_job_new(struct req *r)
{
	struct job_form f;

	memset(&f, 0, sizeof(f));
	/* Prefilled from the dashboard's selection. */
	f.labels = req_query(r, "labels");
	f.os_profile = req_query(r, "os_profile");
	f.attention = req_query(r, "attention");
	f.hostname = req_query(r, "hostname");
	f.node_ids = req_query(r, "node_ids");
	f.command = req_query(r, "command");
	f.max_nodes = app.cfg.job_max_nodes;
	form_answer(r, 200, &f);
}

/* ---- list and get --------------------------------------------------- */

struct list_ctx {
	struct buf *b;
	int	    html, n, failed;
	int64_t	    last, now;
};

static int
list_row(const struct job_rec *j, void *arg)
{
	struct list_ctx *l = arg;
	int		 c[JC_N];

	if (counts_of(j, c) == -1) {
		l->failed = 1;
		return -1;
	}
	if (l->html)
		html_jobs_row(l->b, j, c, l->now);
	else {
		if (l->n > 0)
			buf_putc(l->b, ',');
		job_json(l->b, j, c, l->now);
	}
	l->n++;
	l->last = j->n;
	return 0;
}

void
h_jobs(struct req *r)
{
	const char     *st = req_query(r, "status");
	const char     *before = req_query(r, "before");
	const char     *frag = req_query(r, "fragment");
	struct list_ctx l;
	struct buf	b;
	char	       *end;
	int64_t		bf = 0;
	int		ok = st == NULL || *st == '\0';

	for (int i = 0; !ok && i < 5; i++)
		ok = strcmp(st,
			 (const char *[]) { "running", "done", "stopped",
			     "cancelled", "awaiting_approval" }[i]) == 0;
	if (!ok) {
		resp_error(r, 400, "invalid_field",
		    "status: running, done, stopped, cancelled or "
		    "awaiting_approval");
		return;
	}
	if (st != NULL && *st == '\0')
		st = NULL;
	if (frag != NULL && strcmp(frag, "live") != 0) {
		resp_error(r, 400, "invalid_field", "fragment: must be live");
		return;
	}
	if (before != NULL && *before != '\0') {
		errno = 0;
		bf = strtoll(before, &end, 10);
		if (errno != 0 || *end != '\0' || bf < 1) {
			resp_error(r, 400, "invalid_field",
			    "before: a job's number (a whole number from 1)");
			return;
		}
	}
	memset(&l, 0, sizeof(l));
	l.b = &b;
	l.html = req_wants_html(r) || frag != NULL;
	l.now = time(NULL);
	buf_init(&b, 16u << 20);
	if (l.html)
		html_jobs_begin(&b, st, bf, frag != NULL, operator_role(r));
	else
		buf_puts(&b, "{\"jobs\":[");
	if (store_job_list(app.store, bf, st, JOBS_PAGE, list_row, &l) == -1) {
		buf_free(&b);
		resp_error(r, 503, "store_unavailable", "jobs unavailable");
		return;
	}
	if (l.html) {
		html_jobs_end(&b, l.n, l.n == JOBS_PAGE ? l.last : 0, st,
		    frag != NULL);
		resp_html(r, 200, &b);
		return;
	}
	if (l.n == JOBS_PAGE)
		buf_printf(&b, "],\"next_before\":%lld}", (long long)l.last);
	else
		buf_puts(&b, "],\"next_before\":null}");
	resp_json(r, 200, &b);
}

/* A job's row copied out of the store (its strings owned). */
struct job_copy {
	struct job_rec j;
	char *s[7]; /* command, args, reason, target, rollout, by, status */
	int   found;
};

static int
copy_row(const struct job_rec *j, void *arg)
{
	struct job_copy *c = arg;
	const char	*src[7] = { j->command, j->args, j->reason, j->target,
		     j->rollout, j->created_by, j->status };

	c->j = *j;
	for (int i = 0; i < 7; i++)
		if ((c->s[i] = strdup(src[i] != NULL ? src[i] : "")) == NULL)
			return -1;
	c->j.command = c->s[0];
	c->j.args = c->s[1];
	c->j.reason = c->s[2];
	c->j.target = c->s[3];
	c->j.rollout = c->s[4];
	c->j.created_by = c->s[5];
	c->j.status = c->s[6];
	c->found = 1;
	return 0;
}

static void
copy_free(struct job_copy *c)
{
	for (int i = 0; i < 7; i++)
		free(c->s[i]);
}

/* The job of the path into c: 0, or -1 answered (400, 404, 503). */
static int
job_load(struct req *r, struct job_copy *c)
{
	const char *id;
	int	    rc;

	memset(c, 0, sizeof(*c));
	if ((id = job_id_param(r)) == NULL)
		return -1;
	rc = store_job_get(app.store, id, copy_row, c);
	if (rc == -2) {
		resp_error(r, 404, "unknown_job", "no job with this id");
		return -1;
	}
	if (rc == -1) {
		copy_free(c);
		resp_error(r, 503, "store_unavailable", "job unavailable");
		return -1;
	}
	return 0;
}

struct groups_ctx {
	struct job_group g[JOB_GROUPS];
	size_t		 n;
};

static int
group_row(const char *status, const char *output, int n, void *arg)
{
	struct groups_ctx *g = arg;

	if (g->n == JOB_GROUPS)
		return 0;
	g->g[g->n].status = strdup(status);
	g->g[g->n].output = output != NULL ? strdup(output) : NULL;
	g->g[g->n].n = n;
	g->n++;
	return g->g[g->n - 1].status == NULL ? -1 : 0;
}

struct rows_ctx {
	struct buf *b;
	int	    html, n;
	int	    ended; /* the job ended: what never started is cancelled */
	int	    full;  /* the JSON page holds RESULTS_BYTES: it ends here */
	int64_t	    now;
	char	    last[37];
};

/* 1 when the node's heartbeats stopped (it gets its command on return). */
static int
node_offline(const char *node_id, int64_t now)
{
	struct node_view v;

	return fleet_get(app.fleet, node_id, now, &v, NULL) == 0 &&
	    ((v.reasons & R_HEARTBEAT_STALE) || v.last_heartbeat_at == 0);
}

static int
result_row(const struct job_result *jr, void *arg)
{
	struct rows_ctx	 *c = arg;
	struct job_result shown = *jr;
	int		  offline = strcmp(jr->status, "queued") == 0 &&
	    node_offline(jr->node_id, c->now);

	if (c->ended && strcmp(jr->status, "not_started") == 0)
		shown.status = "cancelled";
	jr = &shown;
	/* Long outputs: the page ends early, "next" goes on from here. */
	if (!c->html && c->b->len > RESULTS_BYTES) {
		c->full = 1;
		return -1;
	}

	if (c->html)
		html_job_result_row(c->b, jr, offline);
	else {
		buf_puts(c->b, c->n > 0 ? ",{" : "{");
		buf_json_field(c->b, "node_id", jr->node_id);
		buf_json_field(c->b, "hostname", jr->hostname);
		buf_json_field(c->b, "status", jr->status);
		if (jr->has_exit)
			buf_printf(c->b, ",\"exit_code\":%lld", jr->exit_code);
		else
			buf_puts(c->b, ",\"exit_code\":null");
		buf_json_field(c->b, "output", jr->output);
		buf_printf(c->b, ",\"wave\":%d",
		    jr->wave >= 0 ? jr->wave + 1 : 0);
		buf_json_field(c->b, "command_id", jr->command_id);
		buf_json_field(c->b, "reason", jr->reason);
		buf_printf(c->b, ",\"offline\":%s}",
		    offline ? "true" : "false");
	}
	snprintf(c->last, sizeof(c->last), "%s", jr->node_id);
	c->n++;
	return buf_failed(c->b) ? -1 : 0;
}

void
h_job(struct req *r)
{
	struct job_copy	    c;
	struct groups_ctx   g;
	struct rows_ctx	    rc;
	struct job_result_q q;
	struct job_page	    jp;
	struct buf	    b, rows, appr;
	const char	   *frag = req_query(r, "fragment");
	const char	   *page = req_query(r, "page");
	enum page_part	    part = PART_PAGE;
	int		    counts[JC_N], pg = 1;
	char		   *end;

	if (frag != NULL && strcmp(frag, "live") != 0) {
		resp_error(r, 400, "invalid_field", "fragment: must be live");
		return;
	}
	if (page != NULL && *page != '\0') {
		long v = strtol(page, &end, 10);

		if (*end != '\0' || v < 1 || v > 100000) {
			resp_error(r, 400, "invalid_field",
			    "page: a page number");
			return;
		}
		pg = (int)v;
	}
	if (job_load(r, &c) == -1)
		return;
	if (counts_of(&c.j, counts) == -1) {
		copy_free(&c);
		resp_error(r, 503, "store_unavailable", "job unavailable");
		return;
	}
	if (!req_wants_html(r)) {
		buf_init(&b, 1u << 20);
		job_json(&b, &c.j, counts, time(NULL));
		copy_free(&c);
		resp_json(r, 200, &b);
		return;
	}
	if (frag != NULL)
		part = PART_LIVE;
	else if (req_header(r, "HX-Request") != NULL &&
	    req_header(r, "HX-History-Restore-Request") == NULL)
		part = PART_ALL; /* after a form: every section, by id */
	memset(&g, 0, sizeof(g));
	memset(&rc, 0, sizeof(rc));
	buf_init(&rows, 64u << 20);
	rc.b = &rows;
	rc.html = 1;
	rc.ended = job_ended(&c.j);
	rc.now = time(NULL);
	q.job_id = c.j.job_id;
	q.after = NULL;
	q.failures_first = 1;
	q.offset = (pg - 1) * JOB_PAGE_ROWS;
	q.limit = JOB_PAGE_ROWS + 1; /* one more: is there a next page */
	if (store_job_groups(app.store, c.j.job_id, JOB_GROUPS, group_row,
		&g) == -1 ||
	    store_job_results(app.store, &q, result_row, &rc) == -1) {
		for (size_t i = 0; i < g.n; i++) {
			free(g.g[i].status);
			free(g.g[i].output);
		}
		buf_free(&rows);
		copy_free(&c);
		resp_error(r, 503, "store_unavailable", "job unavailable");
		return;
	}
	memset(&jp, 0, sizeof(jp));
	jp.j = &c.j;
	jp.counts = counts;
	jp.now = rc.now;
	jp.role = operator_role(r);
	jp.groups = g.g;
	jp.ngroups = g.n;
	jp.rows = rows.p;
	jp.nrows = rc.n > JOB_PAGE_ROWS ? JOB_PAGE_ROWS : rc.n;
	jp.page = pg;
	jp.more = rc.n > JOB_PAGE_ROWS;
	if (jp.more && rows.p != NULL) {
		/* The extra row only told that more exist: cut it off. */
		char *last = strstr(rows.p, "<tr>");

		for (char *t = last; t != NULL; t = strstr(t + 4, "<tr>"))
			last = t;
		if (last != NULL)
			*last = '\0';
	}
	buf_init(&appr, 1u << 20);
	if (strcmp(c.j.status, "awaiting_approval") == 0 &&
	    approvals_rows(&appr, r, NULL, c.j.job_id) > 0 &&
	    !buf_failed(&appr))
		jp.approval = appr.p;
	buf_init(&b, 64u << 20);
	html_job(&b, &jp, part);
	buf_free(&appr);
	for (size_t i = 0; i < g.n; i++) {
		free(g.g[i].status);
		free(g.g[i].output);
	}
	buf_free(&rows);
	copy_free(&c);
	resp_html(r, 200, &b);
}

void
h_job_results(struct req *r)
{
	struct job_copy	    c;
	struct rows_ctx	    rc;
	struct job_result_q q;
	struct buf	    b;
	const char	   *after = req_query(r, "after");
	const char	   *limit = req_query(r, "limit");
	char		   *end;
	long		    lim = RESULTS_DEFAULT;

	if (after != NULL && *after != '\0' && !uuid_valid(after)) {
		resp_error(r, 400, "invalid_field",
		    "after: the cursor \"next\" of the page before");
		return;
	}
	if (limit != NULL && *limit != '\0') {
		lim = strtol(limit, &end, 10);
		if (*end != '\0' || lim < 1 || lim > RESULTS_MAX) {
			resp_error(r, 400, "invalid_field",
			    "limit: from 1 to 1000");
			return;
		}
	}
	if (job_load(r, &c) == -1)
		return;
	memset(&rc, 0, sizeof(rc));
	buf_init(&b, OUTPUT_MAX);
	rc.b = &b;
	rc.now = time(NULL);
	rc.ended = job_ended(&c.j);
	q.job_id = c.j.job_id;
	q.after = after != NULL && *after != '\0' ? after : NULL;
	q.failures_first = 0;
	q.offset = 0;
	q.limit = (int)lim;
	buf_puts(&b, "{\"results\":[");
	if (store_job_results(app.store, &q, result_row, &rc) == -1 &&
	    !rc.full) {
		buf_free(&b);
		copy_free(&c);
		resp_error(r, 503, "store_unavailable", "results unavailable");
		return;
	}
	if (rc.n == lim || rc.full)
		buf_printf(&b, "],\"next\":\"%s\"}", rc.last);
	else
		buf_puts(&b, "],\"next\":null}");
	copy_free(&c);
	resp_json(r, 200, &b);
}

void
h_job_cancel(struct req *r)
{
	struct job_copy c;
	struct buf	b;
	char		loc[64];
	int		n;

	if (job_load(r, &c) == -1)
		return;
	n = jobs_cancel(c.j.job_id, operator_of(r), req_peer(r));
	if (n == -1) {
		copy_free(&c);
		resp_error(r, 503, "store_unavailable",
		    "the cancellation could not be stored; nothing changed");
		return;
	}
	if (n == -2) {
		char msg[96];

		snprintf(msg, sizeof(msg), "the job has ended already (%s)",
		    c.j.status);
		copy_free(&c);
		resp_error(r, 409, "job_ended", "%s", msg);
		return;
	}
	if (req_is_form(r) && !req_wants_json(r)) {
		snprintf(loc, sizeof(loc), "/jobs/%s", c.j.job_id);
		copy_free(&c);
		resp_redirect(r, loc);
		return;
	}
	buf_init(&b, 256);
	buf_printf(&b,
	    "{\"job_id\":\"%s\",\"status\":\"cancelled\",\"cancelled\":%d}",
	    c.j.job_id, n);
	copy_free(&c);
	resp_json(r, 200, &b);
}

/* ---- recurring jobs ---------------------------------------------------- */

struct sched_ctx {
	struct buf *b;
	int	    html, n;
	enum role   role;
};

static int
schedule_row(const struct schedule_rec *sc, void *arg)
{
	struct sched_ctx *c = arg;

	if (c->html)
		html_schedule_row(c->b, sc, c->role);
	else {
		buf_puts(c->b, c->n > 0 ? ",{" : "{");
		buf_json_field(c->b, "schedule_id", sc->schedule_id);
		buf_json_field(c->b, "command", sc->command);
		buf_printf(c->b, ",\"args\":%s", sc->args);
		buf_json_field(c->b, "reason", sc->reason);
		buf_printf(c->b, ",\"target\":%s,\"rollout\":%s", sc->target,
		    sc->rollout);
		buf_json_field(c->b, "created_by", sc->created_by);
		json_time_field(c->b, "created_at", sc->created_at);
		buf_printf(c->b, ",\"every_secs\":%lld",
		    (long long)sc->every_secs);
		json_time_field(c->b, "next_at", sc->next_at);
		buf_json_field(c->b, "last_job_id", sc->last_job_id);
		buf_putc(c->b, '}');
	}
	c->n++;
	return buf_failed(c->b) ? -1 : 0;
}

void
h_schedules(struct req *r)
{
	struct sched_ctx c;
	struct buf	 b;

	memset(&c, 0, sizeof(c));
	c.b = &b;
	c.html = req_wants_html(r);
	c.role = operator_role(r);
	buf_init(&b, 16u << 20);
	if (c.html)
		html_schedules_begin(&b, app.cfg.scheduler_tick_seconds,
		    app.cfg.scan_interval_hours, c.role);
	else
		buf_puts(&b, "{\"schedules\":[");
	if (store_schedules(app.store, schedule_row, &c) == -1) {
		buf_free(&b);
		resp_error(r, 503, "store_unavailable",
		    "schedules unavailable");
		return;
	}
	if (c.html) {
		html_schedules_end(&b, c.n);
		resp_html(r, 200, &b);
		return;
	}
	/* The built-in one: the scheduler's scans, one job a tick. */
	buf_printf(&b,
	    "],\"builtin\":[{\"name\":\"scheduled-scan\",\"command\":"
	    "\"sovereign-scan\",\"every_secs\":%ld,\"scan_interval_hours\":"
	    "%ld}]}",
	    app.cfg.scheduler_tick_seconds, app.cfg.scan_interval_hours);
	resp_json(r, 200, &b);
}

void
h_schedule_delete(struct req *r)
{
	const char *id = req_param(r);
	struct buf  b;
	int	    rc;

	if (id == NULL || !uuid_valid(id)) {
		resp_error(r, 400, "invalid_schedule_id",
		    "the schedule id must be a lowercase UUID");
		return;
	}
	rc = jobs_schedule_delete(id, operator_of(r), req_peer(r));
	if (rc == 0) {
		resp_error(r, 404, "unknown_schedule",
		    "no recurring job with this id");
		return;
	}
	if (rc == -1) {
		resp_error(r, 503, "store_unavailable",
		    "the deletion could not be stored; nothing changed");
		return;
	}
	if (req_is_form(r) && !req_wants_json(r)) {
		resp_redirect(r, "/schedules");
		return;
	}
	buf_init(&b, 128);
	buf_printf(&b, "{\"schedule_id\":\"%s\",\"deleted\":true}", id);
	resp_json(r, 200, &b);
}
