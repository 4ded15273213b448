/*
 * html_jobs: the jobs pages. As in html.c, every string that is not a
 * literal here (or a name from a fixed table) is escaped where it is
 * written. A running job's page polls its live sections every 2 s (htmx);
 * the poller lives in the summary section, so a finished job's summary
 * comes back without it and the polling stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "html_jobs.h"
#include "util.h"

#define JOB_POLL "every 2s"
#define JOBS_POLL "every 5s"

static const char *
oob(enum page_part part)
{
	return part == PART_PAGE ? "" : " hx-swap-oob=\"true\"";
}

/* The colour of a command status. */
static const char *
status_class(const char *st)
{
	if (strcmp(st, "ok") == 0 || strcmp(st, "done") == 0)
		return "green";
	if (strcmp(st, "error") == 0 || strcmp(st, "rejected") == 0 ||
	    strcmp(st, "timeout") == 0 || strcmp(st, "stopped") == 0)
		return "red";
	if (strcmp(st, "queued") == 0 || strcmp(st, "delivered") == 0 ||
	    strcmp(st, "running") == 0 || strcmp(st, "expired") == 0)
		return "yellow";
	return "muted";
}

/* At most max bytes of s, escaped, cut on a character ("…" when cut). */
static void
text_cut(struct buf *b, const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max) {
		buf_html(b, s);
		return;
	}
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	{
		char *cut = strndup(s, len);

		buf_html(b, cut != NULL ? cut : "");
		free(cut);
	}
	buf_puts(b, "…");
}

static void
job_href(struct buf *b, const char *job_id, const char *suffix)
{
	buf_puts(b, "/jobs/");
	buf_urlenc(b, job_id);
	buf_puts(b, suffix);
}

static void
elapsed(struct buf *b, const struct job_rec *j, int64_t now)
{
	int64_t d = (j->finished_at ? j->finished_at : now) - j->created_at;

	if (d < 0)
		d = 0;
	if (d < 120)
		buf_printf(b, "%llds", (long long)d);
	else if (d < 7200)
		buf_printf(b, "%lldm %llds", (long long)(d / 60),
		    (long long)(d % 60));
	else
		buf_printf(b, "%lldh %lldm", (long long)(d / 3600),
		    (long long)(d % 3600 / 60));
}

/* "ok 12 · error 1 · queued 3": the statuses that have nodes. */
static void
counts_line(struct buf *b, const int *c)
{
	int any = 0;

	for (int i = 0; i < JC_N; i++) {
		if (c[i] == 0)
			continue;
		buf_printf(b, "%s<span class=\"%s\">%s %d</span>",
		    any++ ? " · " : "", status_class(job_count_names[i]),
		    job_count_names[i], c[i]);
	}
	if (!any)
		buf_puts(b, "<span class=\"muted\">nothing yet</span>");
}

/* ---- the list --------------------------------------------------------- */

static const char *const job_statuses[] = { "running", "done", "stopped",
	"cancelled", "awaiting_approval", NULL };

/* The list's query (status, before) for its links and its poller. */
static void
jobs_query(struct buf *b, const char *status, int64_t before)
{
	if (status != NULL) {
		buf_puts(b, "&amp;status=");
		buf_urlenc(b, status);
	}
	if (before > 0)
		buf_printf(b, "&amp;before=%lld", (long long)before);
}

void
html_jobs_begin(struct buf *b, const char *status, int64_t before, int live,
    enum role role)
{
	if (live) {
		buf_puts(b,
		    "<div id=\"jobs-list\" class=\"scroll\" "
		    "role=\"region\" tabindex=\"0\" aria-label=\"Jobs\" "
		    "hx-swap-oob=\"true\">");
		goto table;
	}
	html_page_head(b, "Jobs");
	/* The list keeps itself up to date (htmx), its filter and page too. */
	buf_puts(b, "<div id=\"live\" hidden hx-get=\"/jobs?fragment=live");
	jobs_query(b, status, before);
	buf_puts(b,
	    "\" hx-trigger=\"" JOBS_POLL "\" hx-swap=\"none\"></div>"
	    "<section id=\"jobs\"><h2>Jobs</h2><p>");
	if (role >= ROLE_OPERATOR)
		buf_puts(b, "<a href=\"/jobs/new\">New job</a> · ");
	buf_puts(b,
	    "<a href=\"/schedules\">Recurring jobs</a></p><form "
	    "class=\"filter\" method=\"get\" action=\"/jobs\"><label>Status "
	    "<select name=\"status\"><option value=\"\">any</option>");
	for (int i = 0; job_statuses[i] != NULL; i++)
		buf_printf(b, "<option%s>%s</option>",
		    status != NULL && strcmp(status, job_statuses[i]) == 0 ?
			" selected" :
			"",
		    job_statuses[i]);
	buf_puts(b,
	    "</select></label> <button type=\"submit\">Filter</button></form>"
	    "<div id=\"jobs-list\" class=\"scroll\" role=\"region\" "
	    "tabindex=\"0\" aria-label=\"Jobs\">");
table:
	buf_puts(b,
	    "<table class=\"jobs\"><thead><tr>"
	    "<th>Created</th><th>Command</th><th>Reason</th><th>By</th>"
	    "<th>Status</th><th>Wave</th><th>Progress</th><th>Elapsed</th>"
	    "</tr></thead><tbody>");
}

void
html_jobs_row(struct buf *b, const struct job_rec *j, const int *counts,
    int64_t now)
{
	buf_puts(b, "<tr><td>");
	html_timestamp(b, j->created_at);
	buf_puts(b, "</td><td><a href=\"");
	job_href(b, j->job_id, "\">");
	buf_html(b, j->command);
	buf_html_in(b, "</a></td><td>", j->reason, "</td><td>");
	buf_html(b, j->created_by);
	buf_printf(b, "</td><td><span class=\"badge %s\">",
	    status_class(j->status));
	buf_html(b, j->status);
	buf_printf(b, "</span></td><td>%d of %d</td><td>",
	    j->wave >= 0 ? j->wave + 1 : 0, j->waves);
	buf_printf(b, "%d nodes: ", j->selected);
	counts_line(b, counts);
	buf_puts(b, "</td><td>");
	elapsed(b, j, now);
	buf_puts(b, "</td></tr>");
}

void
html_jobs_end(struct buf *b, int n, int64_t older, const char *status, int live)
{
	if (n == 0)
		buf_puts(b,
		    "<tr><td colspan=\"8\" class=\"muted\">No job yet.</td>"
		    "</tr>");
	buf_puts(b, "</tbody></table></div>");
	if (live)
		return;
	buf_puts(b, "<nav class=\"pages\" aria-label=\"Pages\">");
	if (older > 0) {
		buf_puts(b, "<a href=\"/jobs?");
		jobs_query(b, status, older);
		buf_puts(b, "\">older</a>");
	}
	buf_puts(b, "</nav></section>");
	html_page_foot(b);
}

/* ---- a job's page ------------------------------------------------------ */

static void
job_summary(struct buf *b, const struct job_page *p, enum page_part part)
{
	const struct job_rec *j = p->j;
	int		      running = strcmp(j->status, "running") == 0;

	buf_printf(b, "<section id=\"job-summary\" class=\"card\"%s>",
	    oob(part));
	if (running) {
		buf_puts(b, "<div id=\"live\" hidden hx-get=\"");
		job_href(b, j->job_id,
		    "?fragment=live\" hx-trigger=\"" JOB_POLL
		    "\" hx-swap=\"none\"></div>");
	}
	buf_printf(b, "<p><span class=\"badge %s\" id=\"job-status\">",
	    status_class(j->status));
	buf_html(b, j->status);
	buf_printf(b, "</span> wave %d of %d · %d nodes selected · ",
	    j->wave >= 0 ? j->wave + 1 : 0, j->waves, j->selected);
	elapsed(b, j, p->now);
	buf_puts(b, "</p><p id=\"job-counts\">");
	counts_line(b, p->counts);
	buf_printf(b, "</p><p class=\"muted\">%d failed of %d finished",
	    jobs_failed(p->counts), jobs_finished(p->counts));
	if (j->max_failure_pct >= 0)
		buf_printf(b, "; the job stops above %d%% failed",
		    j->max_failure_pct);
	buf_puts(b, ".</p>");
	if ((running || strcmp(j->status, "awaiting_approval") == 0) &&
	    p->role >= ROLE_OPERATOR) {
		buf_puts(b, "<form method=\"post\" action=\"");
		job_href(b, j->job_id, "/cancel\" hx-post=\"");
		job_href(b, j->job_id,
		    "/cancel\" hx-swap=\"none\" hx-confirm=\"Cancel this job? "
		    "Commands not yet delivered are cancelled.\"><button "
		    "type=\"submit\" class=\"danger\">Cancel job</button>"
		    "</form>");
	} else if (strcmp(j->status, "cancelled") == 0 ||
	    strcmp(j->status, "stopped") == 0)
		buf_printf(b,
		    "<p>%s: %d had already run (ok, error, rejected or "
		    "timeout); %d were cancelled before delivery.</p>",
		    strcmp(j->status, "stopped") == 0 ?
			"Stopped at its failure threshold" :
			"Cancelled",
		    jobs_failed(p->counts) + p->counts[JC_OK],
		    p->counts[JC_CANCELLED]);
	buf_puts(b, "</section>");
}

static void
job_groups(struct buf *b, const struct job_page *p, enum page_part part)
{
	buf_printf(b, "<section id=\"job-groups\"%s><h3>Answers, grouped</h3>",
	    oob(part));
	if (p->ngroups == 0)
		buf_puts(b, "<p class=\"muted\">No answer yet.</p>");
	else
		buf_puts(b, "<ul class=\"groups\">");
	for (size_t i = 0; i < p->ngroups; i++) {
		const struct job_group *g = &p->groups[i];

		buf_printf(b,
		    "<li><strong>%d node%s</strong>: <span class=\"%s\">", g->n,
		    g->n == 1 ? "" : "s", status_class(g->status));
		buf_html(b, g->status);
		buf_puts(b, "</span>");
		if (g->output != NULL && g->output[0] != '\0') {
			buf_printf(b,
			    "<pre tabindex=\"0\" aria-label=\"the answer of "
			    "%d node%s\">",
			    g->n, g->n == 1 ? "" : "s");
			text_cut(b, g->output, JOB_GROUP_TEXT);
			buf_puts(b, "</pre>");
		}
		buf_puts(b, "</li>");
	}
	if (p->ngroups > 0)
		buf_puts(b, "</ul>");
	buf_puts(b, "</section>");
}

void
html_job_result_row(struct buf *b, const struct job_result *r, int offline)
{
	buf_puts(b, "<tr><td><a href=\"/nodes/");
	buf_urlenc(b, r->node_id);
	buf_puts(b, "\">");
	buf_html(b, r->hostname);
	buf_puts(b, "</a></td><td>");
	if (r->wave >= 0)
		buf_printf(b, "%d", r->wave + 1);
	buf_printf(b, "</td><td><span class=\"badge %s\">",
	    status_class(r->status));
	buf_html(b, r->status);
	buf_puts(b, "</span>");
	if (offline && strcmp(r->status, "queued") == 0)
		buf_puts(b, " <span class=\"muted\">waiting: offline</span>");
	if (r->reason != NULL)
		buf_html_in(b, " <span class=\"muted\">", r->reason, "</span>");
	buf_puts(b, "</td><td>");
	if (r->has_exit)
		buf_printf(b, "%lld", r->exit_code);
	buf_puts(b, "</td><td>");
	/*
	 * A scrolling output is reached by keyboard too (WCAG 2.1.1). At most
	 * JOB_ROW_TEXT bytes of it (cut on a character): the whole of it is
	 * in the node's history.
	 */
	if (r->output != NULL && r->output[0] != '\0') {
		buf_puts(b, "<pre tabindex=\"0\" aria-label=\"output of ");
		buf_html(b, r->hostname);
		buf_puts(b, "\">");
		text_cut(b, r->output, JOB_ROW_TEXT);
		buf_puts(b, "</pre>");
	}
	buf_puts(b, "</td></tr>");
}

static void
job_results(struct buf *b, const struct job_page *p, enum page_part part)
{
	buf_printf(b,
	    "<section id=\"job-results\"%s><h3>Every node, failures first"
	    "</h3><div class=\"scroll\" role=\"region\" tabindex=\"0\" "
	    "aria-label=\"Results\"><table class=\"results\"><thead><tr>"
	    "<th>Node</th><th>Wave</th><th>Status</th><th>Exit</th>"
	    "<th>Output</th></tr></thead><tbody>",
	    oob(part));
	buf_puts(b, p->rows != NULL ? p->rows : "");
	if (p->nrows == 0)
		buf_puts(b,
		    "<tr><td colspan=\"5\" class=\"muted\">No node on this "
		    "page.</td></tr>");
	buf_puts(b,
	    "</tbody></table></div><nav class=\"pages\" aria-label=\"Pages\">");
	if (p->page > 1) {
		buf_puts(b, "<a href=\"");
		job_href(b, p->j->job_id, "");
		buf_printf(b, "?page=%d\">previous</a> ", p->page - 1);
	}
	if (p->more) {
		buf_puts(b, "<a href=\"");
		job_href(b, p->j->job_id, "");
		buf_printf(b, "?page=%d\">next</a>", p->page + 1);
	}
	buf_puts(b, "</nav></section>");
}

int
html_job(struct buf *b, const struct job_page *p, enum page_part part)
{
	const struct job_rec *j = p->j;
	char		      title[64];

	if (part == PART_PAGE) {
		snprintf(title, sizeof(title), "Job %.8s", j->job_id);
		html_page_head(b, title);
		buf_puts(b, "<section class=\"card\"><h2>Job: ");
		buf_html(b, j->command);
		buf_html_in(b, " <code>", j->args, "</code></h2><p>");
		buf_html(b, j->reason);
		buf_puts(b, "</p><p class=\"muted\">By ");
		buf_html(b, j->created_by);
		buf_puts(b, ", ");
		html_timestamp(b, j->created_at);
		buf_html_in(b, ". Target <code>", j->target,
		    "</code>, rollout <code>");
		buf_html(b, j->rollout);
		buf_html_in(b, "</code>. Id <code class=\"id\">", j->job_id,
		    "</code>.</p></section>");
	}
	job_summary(b, p, part);
	if (part != PART_LIVE && p->approval != NULL) {
		buf_puts(b,
		    "<section id=\"approval\" class=\"card\"><h2>Waiting "
		    "for approval</h2><p class=\"muted\">Nothing is queued "
		    "until an approver other than the requester approves "
		    "it.</p>");
		buf_puts(b, p->approval); /* rendered, escaped */
		buf_puts(b, "</section>");
	}
	job_groups(b, p, part);
	job_results(b, p, part);
	if (part == PART_PAGE)
		html_page_foot(b);
	return buf_failed(b) ? -1 : 0;
}

/* ---- the new-job form ------------------------------------------------ */

static void
field(struct buf *b, const char *label, const char *name, const char *value,
    const char *placeholder, const char *extra)
{
	buf_printf(b,
	    "<p><label>%s <input name=\"%s\" placeholder=\"%s\"%s value=\"",
	    label, name, placeholder, extra);
	buf_html(b, value != NULL ? value : "");
	buf_puts(b, "\"></label></p>");
}

static void
preview_out(struct buf *b, const struct job_form *f)
{
	const struct job_preview *p = f->preview;

	buf_printf(b,
	    "<section id=\"preview\" class=\"card\" aria-live=\"polite\">"
	    "<h3>Preview</h3><p><strong id=\"preview-selected\">%zu</strong>"
	    " node%s selected, in %d wave%s; %zu offline now (they get the "
	    "command when they return, until it expires).</p>",
	    p->n, p->n == 1 ? "" : "s", p->waves, p->waves == 1 ? "" : "s",
	    p->offline);
	if (p->n > (size_t)f->max_nodes)
		buf_printf(b,
		    "<p class=\"red\">More than %ld nodes: tick the "
		    "confirmation to create it.</p>",
		    f->max_nodes);
	if (p->nexcluded > 0) {
		buf_printf(b, "<p>%zu excluded:</p><ul id=\"excluded\">",
		    p->nexcluded);
		for (size_t i = 0; i < p->nexcluded && i < 200; i++) {
			buf_puts(b, "<li><a href=\"/nodes/");
			buf_urlenc(b, p->excluded[i].node_id);
			buf_puts(b, "\"><code>");
			buf_html(b, p->excluded[i].node_id);
			buf_html_in(b, "</code></a>: ", p->excluded[i].reason,
			    "</li>");
		}
		buf_puts(b, "</ul>");
	}
	buf_puts(b, "</section>");
}

int
html_job_form(struct buf *b, const struct job_form *f)
{
	html_page_head(b, "New job");
	buf_puts(b, "<section class=\"card\"><h2>New job</h2>");
	if (f->error != NULL)
		buf_html_in(b, "<p class=\"red\" role=\"alert\" id=\"error\">",
		    f->error, "</p>");
	if (f->preview != NULL)
		preview_out(b, f);
	buf_puts(b,
	    "<form method=\"post\" action=\"/jobs\" id=\"job-form\">"
	    "<fieldset><legend>Command</legend><p><label>Command <select "
	    "name=\"command\">");
	for (int i = 0; cmd_catalog[i].name != NULL; i++) {
		buf_printf(b, "<option%s>",
		    f->command != NULL &&
			    strcmp(f->command, cmd_catalog[i].name) == 0 ?
			" selected" :
			"");
		buf_html(b, cmd_catalog[i].name);
		buf_puts(b, "</option>");
	}
	buf_puts(b, "</select></label></p>");
	field(b, "Unit", "unit", f->unit, "nginx.service", "");
	field(b, "Lines", "lines", f->lines, "100", " inputmode=\"numeric\"");
	field(b, "Reason (required)", "reason", f->reason,
	    "why this runs, for the audit log", " maxlength=\"500\"");
	buf_puts(b,
	    "</fieldset><fieldset><legend>Target: approved nodes "
	    "matching all of</legend>");
	field(b, "Labels", "labels", f->labels, "role=db,site=ams", "");
	field(b, "Profile", "os_profile", f->os_profile, "debian-server", "");
	field(b, "Attention", "attention", f->attention, "red,yellow", "");
	field(b, "Hostname", "hostname", f->hostname, "web-*", "");
	buf_puts(b,
	    "<p><label>Node ids <textarea name=\"node_ids\" rows=\"2\" "
	    "cols=\"40\" placeholder=\"one per line, or none\">");
	buf_html(b, f->node_ids != NULL ? f->node_ids : "");
	buf_puts(b,
	    "</textarea></label></p></fieldset><fieldset><legend>Rollout"
	    "</legend>");
	field(b, "Canary", "canary", f->canary, "3 or 10%", "");
	field(b, "Wave size", "wave_size", f->wave_size, "all at once",
	    " inputmode=\"numeric\"");
	field(b, "Pause between waves (s)", "pause_secs", f->pause_secs, "0",
	    " inputmode=\"numeric\"");
	field(b, "Stop above failed %", "max_failure_pct", f->max_failure_pct,
	    "no threshold", " inputmode=\"numeric\"");
	field(b, "Repeat every (s)", "every_secs", f->every_secs,
	    "once; 60 or more to repeat", " inputmode=\"numeric\"");
	buf_printf(b,
	    "<p><label><input type=\"checkbox\" name=\"confirm\" "
	    "value=\"1\"%s> I confirm a job of more than %ld nodes</label>"
	    "</p></fieldset><p><button type=\"submit\" name=\"dry_run\" "
	    "value=\"1\" id=\"preview-button\">Preview</button> <button "
	    "type=\"submit\" id=\"create-button\">Create job</button></p>"
	    "</form></section>",
	    f->confirm ? " checked" : "", f->max_nodes);
	html_page_foot(b);
	return buf_failed(b) ? -1 : 0;
}

/* ---- recurring jobs ---------------------------------------------------- */

void
html_schedules_begin(struct buf *b, long tick_secs, long interval_hours,
    enum role role)
{
	html_page_head(b, "Recurring jobs");
	buf_puts(b,
	    "<section id=\"schedules\"><h2>Recurring jobs</h2><p><a "
	    "href=\"/jobs\">Jobs</a>");
	if (role >= ROLE_OPERATOR)
		buf_puts(b,
		    " · <a href=\"/jobs/new\">New job</a> (set its "
		    "period to repeat it)");
	buf_printf(b,
	    "</p><div class=\"scroll\" "
	    "role=\"region\" tabindex=\"0\" aria-label=\"Recurring jobs\">"
	    "<table><thead><tr><th>Command</th><th>Reason</th><th>By</th>"
	    "<th>Every</th><th>Next run</th><th>Last job</th><th></th></tr>"
	    "</thead><tbody><tr><td>sovereign-scan</td><td>built in: approved "
	    "nodes never scanned or last scanned over %ld h ago "
	    "(VAULTMESH_SCAN_INTERVAL_HOURS)</td><td>scheduler</td><td>%lds "
	    "(VAULTMESH_SCHEDULER_TICK_SECONDS)</td><td></td><td><a "
	    "href=\"/jobs\">its jobs</a></td><td></td></tr>",
	    interval_hours, tick_secs);
}

void
html_schedule_row(struct buf *b, const struct schedule_rec *sc, enum role role)
{
	buf_html_in(b, "<tr><td>", sc->command, "</td><td>");
	buf_html(b, sc->reason);
	buf_html_in(b, "</td><td>", sc->created_by, "</td>");
	buf_printf(b, "<td>%llds</td><td>", (long long)sc->every_secs);
	html_timestamp(b, sc->next_at);
	buf_puts(b, "</td><td>");
	if (sc->last_job_id != NULL) {
		buf_puts(b, "<a href=\"");
		job_href(b, sc->last_job_id, "\">last run</a>");
	}
	buf_puts(b, "</td><td>");
	if (role >= ROLE_OPERATOR) {
		buf_puts(b, "<form method=\"post\" action=\"/schedules/");
		buf_urlenc(b, sc->schedule_id);
		buf_puts(b,
		    "/delete\"><button type=\"submit\" class=\"danger\">"
		    "Stop repeating</button></form>");
	}
	buf_puts(b, "</td></tr>");
}

void
html_schedules_end(struct buf *b, int n)
{
	(void)n;
	buf_puts(b, "</tbody></table></div></section>");
	html_page_foot(b);
}
