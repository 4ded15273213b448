/*
 * html: server-rendered pages, their pictures (inline SVG) and the JSON
 * form of a node. Every string printed that is not a literal of this file
 * (or a name from a fixed table) goes through buf_html(), buf_urlenc() or
 * buf_json_str() here, at the point it is written: no value is trusted to
 * have been checked elsewhere, a node or command id included.
 *
 * Pages work without JavaScript. With it, htmx (served from this program,
 * see h_static) keeps them live: a hidden poller asks for the page's live
 * sections every few seconds and each section in the answer replaces its
 * namesake by id (hx-swap-oob); forms post through htmx and get every
 * section back the same way. No inline script or style anywhere: the
 * Content-Security-Policy forbids both.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "static.h"
#include "command.h"
#include "util.h"

#define DASH_POLL "every 5s"
#define NODE_POLL "every 3s"

/*
 * htmx settings: no indicator <style> (the CSP forbids inline style), no
 * eval, and refused forms (4xx) still show their message.
 */
static const char htmx_config[] =
    "{&quot;includeIndicatorStyles&quot;:false,&quot;allowEval&quot;:false,"
    "&quot;allowScriptTags&quot;:false,&quot;historyCacheSize&quot;:0,"
    "&quot;responseHandling&quot;:["
    "{&quot;code&quot;:&quot;204&quot;,&quot;swap&quot;:false},"
    "{&quot;code&quot;:&quot;[234]..&quot;,&quot;swap&quot;:true},"
    "{&quot;code&quot;:&quot;...&quot;,&quot;swap&quot;:false,"
    "&quot;error&quot;:true}]}";

static void
page_head(struct buf *b, const char *title)
{
	buf_puts(b,
	    "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"color-scheme\" content=\"light dark\">"
	    "<meta name=\"htmx-config\" content=\"");
	buf_puts(b, htmx_config);
	buf_puts(b, "\"><title>");
	buf_html(b, title);
	/* No icon: browsers would otherwise ask for /favicon.ico. */
	buf_puts(b,
	    " · VaultMesh</title><link rel=\"icon\" href=\"data:,\">"
	    "<link rel=\"stylesheet\" href=\"");
	/* Built here, but the htmx one holds package.json's version. */
	buf_html(b, static_css_path());
	buf_puts(b, "\"><script src=\"");
	buf_html(b, static_htmx_path());
	buf_puts(b,
	    "\" defer></script></head><body>"
	    "<header class=\"top\"><h1><a href=\"/\">VaultMesh Command Center"
	    "</a></h1><nav aria-label=\"Site\"><a href=\"/\">Fleet</a> "
	    "<a href=\"/jobs\">Jobs</a> <a href=\"/approvals\">Approvals</a> "
	    "<a href=\"/keys\">Keys</a> "
	    "<a href=\"/audit\">Audit log</a></nav></header><main>");
}

void
html_page_head(struct buf *b, const char *title)
{
	page_head(b, title);
}

/*
 * "/nodes/<id><suffix>": the id percent-encoded as one path segment, so
 * whatever it holds it stays in its segment and, having no &, <, >, " or
 * ', in its HTML attribute too. A lowercase UUID comes out unchanged.
 */
/*
 * The signing key a node confirmed (issue 19): its id's first 8 hex, and
 * whether it is the current one; "not reported" before its first word.
 * short_form: the dashboard's cell (a line of its own).
 */
static void
key_of_node(struct buf *b, const char *pinned, const char *current,
    int short_form)
{
	int cur = current != NULL && strcmp(pinned, current) == 0;

	if (current == NULL)
		return;
	if (short_form)
		buf_puts(b, "<br>");
	if (pinned[0] == '\0') {
		buf_puts(b, "<span class=\"muted\">key not reported</span>");
		return;
	}
	buf_printf(b,
	    "<a href=\"/keys\" class=\"%s\" title=\"%s\">key "
	    "<code>%.8s</code>%s</a>",
	    cur ? "key-current" : "key-old", pinned, pinned,
	    cur ? "" : " (old)");
}

static void
node_href(struct buf *b, const char *node_id, const char *suffix)
{
	buf_puts(b, "/nodes/");
	buf_urlenc(b, node_id != NULL ? node_id : "");
	buf_puts(b, suffix);
}

/*
 * A node's labels (its JSON object) as key=value, each escaped: spans in
 * the fleet table (sep NULL), or the text the label form edits (sep " ").
 */
static void
labels_out(struct buf *b, const char *labels, const char *sep)
{
	json_t	   *obj = json_loads(labels, 0, NULL), *v;
	const char *k;
	int	    first = 1;

	json_object_foreach(obj, k, v)
	{
		if (sep == NULL)
			buf_puts(b, " <span class=\"label\">");
		else if (!first)
			buf_puts(b, sep);
		buf_html(b, k);
		buf_putc(b, '=');
		buf_html(b, json_string_value(v) ? json_string_value(v) : "");
		if (sep == NULL)
			buf_puts(b, "</span>");
		first = 0;
	}
	json_decref(obj);
}

static void
page_foot(struct buf *b)
{
	buf_puts(b, "</main></body></html>\n");
}

void
html_page_foot(struct buf *b)
{
	page_foot(b);
}

/* "12s ago", "5m ago", "3h ago", "2d ago" or "never". */
static void
age(struct buf *b, int64_t t, int64_t now)
{
	int64_t d = now - t;

	if (t == 0)
		buf_puts(b, "never");
	else if (d < 0)
		buf_puts(b, "just now");
	else if (d < 120)
		buf_printf(b, "%llds ago", (long long)d);
	else if (d < 7200)
		buf_printf(b, "%lldm ago", (long long)(d / 60));
	else if (d < 172800)
		buf_printf(b, "%lldh ago", (long long)(d / 3600));
	else
		buf_printf(b, "%lldd ago", (long long)(d / 86400));
}

static void
timestamp(struct buf *b, int64_t t)
{
	char ts[32];

	if (t == 0) {
		buf_puts(b, "never");
		return;
	}
	time_rfc3339((time_t)t, ts);
	buf_printf(b, "<time datetime=\"%s\">%s</time>", ts, ts);
}

void
html_timestamp(struct buf *b, int64_t t)
{
	timestamp(b, t);
}

void
html_age(struct buf *b, int64_t t, int64_t now)
{
	age(b, t, now);
}

static void
level_badge(struct buf *b, enum level l)
{
	static const char *const label[] = { "GREEN", "YELLOW", "RED" };

	buf_printf(b, "<span class=\"badge %s\">%s</span>", level_name(l),
	    label[l]);
}

static void
reasons_list(struct buf *b, unsigned reasons, const char *node_id)
{
	int first = 1;

	if (reasons == 0) {
		buf_puts(b, "<span class=\"muted\">none</span>");
		return;
	}
	for (int i = 0; i < REASON_COUNT; i++) {
		if (!(reasons & (1u << i)))
			continue;
		if (!first)
			buf_puts(b, ", ");
		first = 0;
		if (node_id != NULL) {
			buf_puts(b, "<a href=\"");
			node_href(b, node_id, "#");
			buf_printf(b, "%s\">%s</a>", reason_name(1u << i),
			    reason_name(1u << i));
		} else
			buf_puts(b, reason_name(1u << i));
	}
}

/* The dashboard's query: filter, page and history range (hx: a poll). */
/* The dashboard filter's name for a fleet_page() level. */
static const char *
filter_name(int level)
{
	return level == FLEET_REVOKED ? "revoked" :
					level_name((enum level)level);
}

/* The selector's fields of f as query fields, each followed by &amp;. */
static void
selector_query(struct buf *b, const struct dash_filter *f)
{
	const char *const name[] = { "labels", "os_profile", "hostname" };
	const char *const val[] = { f->labels, f->os_profile, f->hostname };

	for (int i = 0; i < 3; i++)
		if (val[i] != NULL && *val[i] != '\0') {
			buf_printf(b, "%s=", name[i]);
			buf_urlenc(b, val[i]);
			buf_puts(b, "&amp;");
		}
}

/* The text input of the filter form named name, holding value. */
static void
filter_input(struct buf *b, const char *label, const char *name,
    const char *placeholder, const char *value)
{
	buf_printf(b,
	    " <label>%s <input name=\"%s\" maxlength=\"255\" "
	    "placeholder=\"%s\" value=\"",
	    label, name, placeholder);
	buf_html(b, value != NULL ? value : "");
	buf_puts(b, "\"></label>");
}

static void
dash_link(struct buf *b, const struct dash_view *d, int page,
    const char *fragment)
{
	const struct dash_filter *f = d->f;

	buf_puts(b, "/?");
	if (fragment != NULL)
		buf_printf(b, "fragment=%s&amp;", fragment);
	if (f->level >= 0)
		buf_printf(b, "attention=%s&amp;", filter_name(f->level));
	if (f->q != NULL && *f->q != '\0') {
		buf_puts(b, "q=");
		buf_urlenc(b, f->q);
		buf_puts(b, "&amp;");
	}
	selector_query(b, f);
	if (strcmp(d->range, "1d") != 0) {
		buf_puts(b, "range=");
		buf_urlenc(b, d->range);
		buf_puts(b, "&amp;");
	}
	buf_printf(b, "page=%d", page);
}

/* The attribute that makes a section replace its namesake (htmx). */
static const char *
oob(enum page_part part)
{
	return part == PART_PAGE ? "" : " hx-swap-oob=\"true\"";
}

static void
clock_utc(struct buf *b, int64_t t)
{
	char ts[32];

	time_rfc3339((time_t)t, ts);
	/* "2026-01-02T03:04:05Z": the time of day is enough here. */
	buf_printf(b, "<time datetime=\"%s\">%.8s UTC</time>", ts,
	    strlen(ts) >= 19 ? ts + 11 : ts);
}

static void
dash_summary(struct buf *b, const struct dash_view *d, const size_t count[3],
    enum page_part part)
{
	static const char *const lv[] = { "green", "yellow", "red" };
	static const char *const cap[] = { "Green", "Yellow", "Red" };

	buf_printf(b,
	    "<section id=\"summary\" class=\"summary\" "
	    "aria-live=\"polite\"%s><p class=\"fleet-line\">",
	    oob(part));
	if (d->c.total == 0)
		buf_puts(b, "No nodes enrolled yet");
	else if (count[LEVEL_GREEN] == d->c.total - d->c.revoked)
		buf_puts(b, "<span class=\"green\">Green fleet</span>");
	else
		buf_printf(b,
		    "<span class=\"red\">%zu red</span> · "
		    "<span class=\"yellow\">%zu yellow</span> · "
		    "<span class=\"green\">%zu green</span>",
		    count[LEVEL_RED], count[LEVEL_YELLOW], count[LEVEL_GREEN]);
	buf_puts(b, "<span class=\"asof\">as of ");
	clock_utc(b, d->now);
	buf_puts(b, "</span></p>");
	for (int l = LEVEL_RED; l >= LEVEL_GREEN; l--)
		buf_printf(b,
		    "<a class=\"count %s\" href=\"/?attention=%s\">"
		    "%s<b>%zu</b></a>",
		    lv[l], lv[l], cap[l], count[l]);
	/* Revoked nodes need no attention: counted apart, not as yellow. */
	if (d->c.revoked > 0)
		buf_printf(b,
		    "<a class=\"count revoked\" href=\"/?attention="
		    "revoked\">Revoked<b>%zu</b></a>",
		    d->c.revoked);
	buf_printf(b,
	    "<a class=\"count\" href=\"/\">Nodes<b>%zu</b></a></section>",
	    d->c.total);
}

static void
dash_history(struct buf *b, const struct dash_view *d, const size_t count[3],
    enum page_part part)
{
	static const char *const ranges[][2] = { { "1d", "24 h" },
		{ "7d", "7 days" }, { "30d", "30 days" } };
	struct fleet_sample	*all;
	const char		*label = "24 h";
	int64_t			 since;

	for (size_t i = 0; i < 3; i++)
		if (strcmp(d->range, ranges[i][0]) == 0)
			label = ranges[i][1];
	buf_printf(b,
	    "<figure id=\"history\" class=\"chart\"%s><figcaption>"
	    "<strong>Nodes per attention level, last %s</strong>"
	    "<span class=\"legend\"><span class=\"key red\">red</span>"
	    "<span class=\"key yellow\">yellow</span><span class=\"key "
	    "green\">green</span></span><span class=\"legend\">",
	    oob(part), label);
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(d->range, ranges[i][0]) == 0) {
			buf_printf(b, "<strong>%s</strong>", ranges[i][1]);
			continue;
		}
		buf_puts(b, "<a href=\"/?");
		if (d->f->level >= 0)
			buf_printf(b, "attention=%s&amp;",
			    filter_name(d->f->level));
		if (d->f->q != NULL && *d->f->q != '\0') {
			buf_puts(b, "q=");
			buf_urlenc(b, d->f->q);
			buf_puts(b, "&amp;");
		}
		buf_printf(b, "range=%s\">%s</a>", ranges[i][0], ranges[i][1]);
	}
	buf_puts(b, "</span></figcaption>");
	/*
	 * The stored samples, then the fleet as it is now, to time scale:
	 * "last 24 h" spans 24 h, and a young history leaves the time before
	 * its first sample empty.
	 */
	since = d->now - d->range_secs;
	if ((all = calloc(d->nhist + 1, sizeof(*all))) != NULL) {
		size_t n = 0;

		for (size_t i = 0; i < d->nhist; i++)
			if (d->hist[i].at < d->now)
				all[n++] = d->hist[i];
		all[n].at = d->now;
		for (int l = 0; l < 3; l++)
			all[n].count[l] = (int)count[l];
		svg_fleet_history(b, all, n + 1, since, d->now);
		free(all);
	}
	buf_printf(b, "<div class=\"axis\"><span>%s ago</span>", label);
	if (d->nhist > 0 && d->hist[0].at > since + d->range_secs / 100) {
		buf_puts(b, "<span>samples since ");
		clock_utc(b, d->hist[0].at);
		buf_puts(b, "</span>");
	}
	buf_puts(b, "<span>now</span></div></figure>");
}

static void
dash_table(struct buf *b, const struct dash_view *d, enum page_part part)
{
	const struct dash_filter *f = d->f;
	size_t			  shown = d->n, matched = d->c.matched;
	size_t first = (size_t)(f->page - 1) * DASH_PAGE_ROWS;

	buf_printf(b,
	    "<section id=\"fleet\"%s><div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Nodes\">"
	    "<table id=\"nodes\"><thead><tr><th>Host</th><th>Attention</th>"
	    "<th>Reasons</th><th>Last heartbeat</th><th class=\"hide-narrow\">"
	    "Profile</th><th class=\"hide-narrow\">Status</th></tr></thead>"
	    "<tbody>",
	    oob(part));
	for (size_t i = 0; i < d->n; i++) {
		const struct node_view *x = &d->v[i];

		int revoked = x->status == NODE_REVOKED;

		buf_printf(b, "<tr class=\"lvl-%s\"><td><a href=\"",
		    revoked ? "revoked" : level_name(x->level));
		node_href(b, x->node_id, "\">");
		buf_html(b, x->hostname);
		buf_puts(b, "</a></td><td>");
		if (revoked)
			buf_puts(b,
			    "<span class=\"badge revoked\">revoked"
			    "</span></td><td>");
		else {
			level_badge(b, x->level);
			buf_puts(b, "</td><td>");
			reasons_list(b, x->reasons, x->node_id);
		}
		buf_puts(b, "</td><td>");
		age(b, x->last_heartbeat_at, d->now);
		buf_puts(b, "</td><td class=\"hide-narrow\">");
		buf_html(b, x->os_profile);
		labels_out(b, x->labels, NULL);
		buf_printf(b, "</td><td class=\"hide-narrow\">%s",
		    status_name(x->status));
		if (x->status == NODE_APPROVED)
			key_of_node(b, x->pinned_key_id, d->current_key, 1);
		buf_puts(b, "</td></tr>");
	}
	if (d->c.total == 0)
		buf_puts(b,
		    "<tr><td colspan=\"6\" class=\"muted\">Start a node "
		    "agent pointed at this command center to see it here."
		    "</td></tr>");
	else if (matched == 0)
		buf_puts(b,
		    "<tr><td colspan=\"6\" class=\"muted\">No node "
		    "matches this filter.</td></tr>");
	buf_puts(b, "</tbody></table></div>");
	if (matched > DASH_PAGE_ROWS) {
		buf_printf(b,
		    "<nav class=\"pages\" aria-label=\"Pages\">Nodes %zu-%zu of %zu ",
		    shown ? first + 1 : 0, first + shown, matched);
		if (f->page > 1) {
			buf_puts(b, "<a href=\"");
			dash_link(b, d, f->page - 1, NULL);
			buf_puts(b, "\">previous</a> ");
		}
		if (first + shown < matched) {
			buf_puts(b, "<a href=\"");
			dash_link(b, d, f->page + 1, NULL);
			buf_puts(b, "\">next</a>");
		}
		buf_puts(b, "</nav>");
	}
	buf_puts(b, "</section>");
}

/* The hidden element that asks for the live sections (htmx polling). */
static void
dash_poller(struct buf *b, const struct dash_view *d, enum page_part part)
{
	buf_puts(b, "<div id=\"live\" hidden hx-get=\"");
	dash_link(b, d, d->f->page, "live");
	buf_printf(b,
	    "\" hx-trigger=\"" DASH_POLL "\" hx-swap=\"none\"%s>"
	    "</div>",
	    oob(part));
}

int
html_dash(struct buf *b, struct dash_view *d, enum page_part part)
{
	static const char *const lv[] = { "green", "yellow", "red" };
	const size_t		*count = d->c.by_level;

	if (part == PART_PAGE) {
		page_head(b, "Fleet");
		dash_poller(b, d, part);
	}
	dash_summary(b, d, count, part);
	dash_history(b, d, count, part);
	if (part == PART_PAGE) {
		buf_puts(b,
		    "<form id=\"filter\" method=\"get\" action=\"/\" "
		    "hx-get=\"/\" hx-swap=\"none\" hx-push-url=\"true\">");
		if (strcmp(d->range, "1d") != 0) {
			buf_puts(b,
			    "<input type=\"hidden\" name=\"range\" value=\"");
			buf_html(b, d->range);
			buf_puts(b, "\">");
		}
		buf_puts(b,
		    "<label>Attention <select name=\"attention\">"
		    "<option value=\"\">all</option>");
		for (int l = LEVEL_RED; l >= LEVEL_GREEN; l--)
			buf_printf(b, "<option%s>%s</option>",
			    d->f->level == l ? " selected" : "", lv[l]);
		buf_printf(b, "<option%s>revoked</option>",
		    d->f->level == FLEET_REVOKED ? " selected" : "");
		buf_puts(b,
		    "</select></label> <label>Search <input name=\"q\" "
		    "type=\"search\" maxlength=\"128\" placeholder=\"host, id "
		    "or profile\" value=\"");
		buf_html(b, d->f->q ? d->f->q : "");
		buf_puts(b, "\"></label>");
		filter_input(b, "Labels", "labels", "role=db,site=ams",
		    d->f->labels);
		filter_input(b, "Profile", "os_profile", "debian-server",
		    d->f->os_profile);
		filter_input(b, "Hostname", "hostname", "web-*",
		    d->f->hostname);
		buf_puts(b,
		    " <button type=\"submit\">Filter</button></form>"
		    "<p class=\"muted\">With labels, a profile or a hostname "
		    "pattern, the table shows the approved nodes a job with "
		    "that target would act on.");
		if (d->role >= ROLE_OPERATOR) {
			buf_puts(b, " <a id=\"new-job\" href=\"/jobs/new?");
			selector_query(b, d->f);
			if (d->f->level >= LEVEL_GREEN &&
			    d->f->level <= LEVEL_RED)
				buf_printf(b, "attention=%s", lv[d->f->level]);
			buf_puts(b, "\">New job for this selection</a>");
		}
		buf_puts(b, "</p>");
	}
	dash_table(b, d, part);
	if (part == PART_ALL)
		dash_poller(b, d, part);
	if (part == PART_PAGE)
		page_foot(b);
	return buf_failed(b) ? -1 : 0;
}

/* ---- pictures: inline SVG, drawn with classes (no style attribute) --- */

#define PLOT_W 600.0
#define PLOT_H 120.0

static double
x_of(int64_t t, int64_t since, int64_t now, double w)
{
	double x;

	if (now <= since)
		return w;
	x = (double)(t - since) * w / (double)(now - since);
	return x < 0 ? 0 : x > w ? w : x;
}

/* Nodes at levels from worse than `level` (above: excluded) or from it. */
static double
stack(const struct fleet_sample *s, int level, int from_it)
{
	double v = 0;

	for (int l = LEVEL_RED; l > level || (from_it && l == level); l--)
		v += s->count[l];
	return v;
}

/*
 * One level's band, stacked on the worse levels: a step function (a count
 * holds until the next sample), along its top edge, then back along the
 * bottom.
 */
static void
band(struct buf *b, const char *cls, const struct fleet_sample *s, size_t n,
    int64_t since, int64_t now, double ymax, int level)
{
	const double k = (PLOT_H - 4) / ymax;

	buf_printf(b, "<polygon class=\"%s\" points=\"", cls);
	for (size_t i = 0; i < n; i++) {
		double x = x_of(s[i].at, since, now, PLOT_W);

		if (i > 0)
			buf_printf(b, "%.1f,%.1f ", x,
			    PLOT_H - stack(&s[i - 1], level, 1) * k);
		buf_printf(b, "%.1f,%.1f ", x,
		    PLOT_H - stack(&s[i], level, 1) * k);
	}
	for (size_t i = n; i-- > 0;) {
		double x = x_of(s[i].at, since, now, PLOT_W);

		buf_printf(b, "%.1f,%.1f ", x,
		    PLOT_H - stack(&s[i], level, 0) * k);
		if (i > 0)
			buf_printf(b, "%.1f,%.1f ", x,
			    PLOT_H - stack(&s[i - 1], level, 0) * k);
	}
	buf_puts(b, "\"/>");
}

void
svg_fleet_history(struct buf *b, const struct fleet_sample *s, size_t n,
    int64_t since, int64_t now)
{
	struct fleet_sample one[2];
	double		    ymax = 1;

	for (size_t i = 0; i < n; i++) {
		double t =
		    (double)s[i].count[0] + s[i].count[1] + s[i].count[2];

		if (t > ymax)
			ymax = t;
	}
	/* No text or dots inside: it may stretch to the box. */
	buf_puts(b,
	    "<svg class=\"plot\" viewBox=\"0 0 600 120\" "
	    "preserveAspectRatio=\"none\" role=\"img\" "
	    "xmlns=\"http://www.w3.org/2000/svg\"><title>");
	if (n == 0)
		buf_puts(b, "No fleet samples yet");
	else
		buf_printf(b,
		    "Nodes per attention level: now %d red, %d yellow, "
		    "%d green; peak %.0f nodes",
		    s[n - 1].count[LEVEL_RED], s[n - 1].count[LEVEL_YELLOW],
		    s[n - 1].count[LEVEL_GREEN], ymax);
	buf_puts(b, "</title>");
	for (int g = 0; g <= 2; g++)
		buf_printf(b,
		    "<line class=\"grid\" x1=\"0\" x2=\"600\" "
		    "y1=\"%.1f\" y2=\"%.1f\" "
		    "vector-effect=\"non-scaling-stroke\"/>",
		    PLOT_H - g * (PLOT_H - 4) / 2,
		    PLOT_H - g * (PLOT_H - 4) / 2);
	if (n == 1) {
		/* One sample: a thin column where it was taken. */
		one[0] = one[1] = s[0];
		one[0].at = s[0].at - (now - since) / 200 - 1;
		s = one;
		n = 2;
	}
	if (n > 0) {
		/* Stacked: red at the bottom, then yellow, then green. */
		band(b, "a-red", s, n, since, now, ymax, LEVEL_RED);
		band(b, "a-yellow", s, n, since, now, ymax, LEVEL_YELLOW);
		band(b, "a-green", s, n, since, now, ymax, LEVEL_GREEN);
	}
	buf_puts(b, "</svg>");
}

/* x of t in a sparkline: 3 units of room at each end for the dot. */
static double
spark_x(int64_t t, int64_t since, int64_t now)
{
	return 3 + x_of(t, since, now, 294);
}

static double
spark_y(double v, double ymax)
{
	v = v < 0 ? 0 : v > ymax ? ymax : v;
	return 37 - v * 34 / ymax;
}

void
svg_sparkline(struct buf *b, const char *title, const int64_t *t,
    const double *y, size_t n, int64_t since, int64_t now, double ymax)
{
	size_t valid = 0, last = 0, first = 0;

	if (ymax <= 0)
		ymax = 1;
	buf_puts(b,
	    "<svg class=\"spark\" viewBox=\"0 0 300 40\" "
	    "role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"><title>");
	buf_html(b, title);
	buf_puts(b,
	    "</title><line class=\"grid\" x1=\"0\" x2=\"300\" "
	    "y1=\"37.5\" y2=\"37.5\"/>");
	for (size_t i = 0; i < n; i++)
		if (!isnan(y[i])) {
			if (valid++ == 0)
				first = i;
			last = i;
		}
	/*
	 * One or two samples make no trend: nothing is drawn (a lone dot
	 * read as a line's end), and the caller says how many there are.
	 */
	if (valid >= SPARK_MIN) {
		/* The area under the line, then the line. */
		buf_puts(b, "<polygon class=\"under\" points=\"");
		for (size_t i = 0; i < n; i++)
			if (!isnan(y[i]))
				buf_printf(b, "%.1f,%.1f ",
				    spark_x(t[i], since, now),
				    spark_y(y[i], ymax));
		buf_printf(b, "%.1f,37.5 %.1f,37.5\"/>",
		    spark_x(t[last], since, now),
		    spark_x(t[first], since, now));
		buf_puts(b, "<polyline class=\"line\" points=\"");
		for (size_t i = 0; i < n; i++)
			if (!isnan(y[i]))
				buf_printf(b, "%.1f,%.1f ",
				    spark_x(t[i], since, now),
				    spark_y(y[i], ymax));
		buf_puts(b, "\"/>");
	}
	/* The latest value, as a dot at the line's end. */
	if (valid >= SPARK_MIN)
		buf_printf(b,
		    "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>",
		    spark_x(t[last], since, now), spark_y(y[last], ymax));
	buf_puts(b, "</svg>");
}

void
svg_scan_bars(struct buf *b, const char *title, const struct scan_point *s,
    size_t n, int64_t now)
{
	static const char *const sev[FINDING_SEVERITIES] = { "critical", "high",
		"medium", "low", "info" };
	const double		 w = 300, h = 60;
	double			 ymax = 4, slot; /* a few findings stay small */

	for (size_t i = 0; i < n; i++) {
		double t = 0;

		for (int k = 0; k < FINDING_SEVERITIES; k++)
			t += s[i].counts[k];
		if (t > ymax)
			ymax = t;
	}
	slot = w / (double)(n > 12 ? n : 12);
	buf_puts(b,
	    "<svg class=\"bars\" viewBox=\"0 0 300 60\" role=\"img\" "
	    "xmlns=\"http://www.w3.org/2000/svg\"><title>");
	buf_html(b, title);
	buf_puts(b,
	    "</title><line class=\"grid\" x1=\"0\" x2=\"300\" "
	    "y1=\"59.5\" y2=\"59.5\"/>");
	for (size_t i = 0; i < n; i++) {
		/* Newest at the right edge. */
		double x = w - (double)(n - i) * slot + slot * 0.15;
		double y = h, total = 0;

		buf_puts(b, "<g><title>");
		age(b, s[i].scanned_at, now);
		buf_puts(b, ":");
		for (int k = 0; k < FINDING_SEVERITIES; k++)
			buf_printf(b, "%s %d %s", k ? "," : "", s[i].counts[k],
			    sev[k]);
		buf_puts(b, "</title>");
		for (int k = 0; k < FINDING_SEVERITIES; k++) {
			double hh = s[i].counts[k] * (h - 2) / ymax;

			total += s[i].counts[k];
			if (s[i].counts[k] <= 0)
				continue;
			y -= hh;
			buf_printf(b,
			    "<rect class=\"s-%s\" x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"%.1f\"/>",
			    sev[k], x, y, slot * 0.7, hh);
		}
		if (total == 0) /* a clean scan: a green foot */
			buf_printf(b,
			    "<rect class=\"s-none\" x=\"%.1f\" y=\"56\" "
			    "width=\"%.1f\" height=\"4\"/>",
			    x, slot * 0.7);
		buf_puts(b, "</g>");
	}
	buf_puts(b, "</svg>");
}

static void
fact(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, "<dt>%s</dt><dd>", name);
	buf_html(b, value);
	buf_puts(b, "</dd>");
}

static void
fact_num(struct buf *b, const char *name, json_t *hb, const char *key,
    const char *unit)
{
	json_t *v = json_object_get(hb, key);

	buf_printf(b, "<dt>%s</dt><dd>", name);
	if (json_is_number(v))
		buf_printf(b, "%.2f%s", json_number_value(v), unit);
	else
		buf_puts(b, "<span class=\"muted\">unknown</span>");
	buf_puts(b, "</dd>");
}

static void
node_facts(struct buf *b, const struct node_view *v, const char *peer,
    json_t *hb, int64_t now, enum role role, const char *oob_attr)
{
	json_t	   *svcs = json_object_get(hb, "services"), *e;
	json_t	   *up = json_object_get(hb, "uptime_secs");
	const char *cf = json_string_value(json_object_get(hb, "cloudflare"));
	size_t	    i;

	buf_printf(b,
	    "<section id=\"facts\"%s><h2>Facts</h2><dl class=\"card\">",
	    oob_attr);
	fact(b, "Node ID", v->node_id);
	fact(b, "OS profile", v->os_profile);
	/*
	 * Labels, edited in place by an operator (a form: it works without
	 * JavaScript); shown as text to a viewer.
	 */
	if (role < ROLE_OPERATOR) {
		buf_puts(b, "<dt>Labels</dt><dd id=\"labels\">");
		labels_out(b, v->labels, " ");
		buf_puts(b, "</dd>");
	} else {
		buf_puts(b,
		    "<dt>Labels</dt><dd><form class=\"inline\" "
		    "method=\"post\" action=\"");
		node_href(b, v->node_id,
		    "/labels\"><input name=\"labels\" "
		    "aria-label=\"Labels, key=value\" "
		    "placeholder=\"role=db site=ams\" value=\"");
		labels_out(b, v->labels, " ");
		buf_puts(b,
		    "\"> <button type=\"submit\">Save</button></form></dd>");
	}
	fact(b, "Agent version", v->agent_version);
	buf_puts(b, "<dt>Enrolled</dt><dd>");
	timestamp(b, v->enrolled_at);
	/* Where from: an operator tells a look-alike before approving it. */
	if (peer != NULL && *peer != '\0') {
		buf_html_in(b, " from <code>", peer, "</code>");
	}
	buf_puts(b, "</dd><dt id=\"heartbeat_stale\">Last heartbeat</dt><dd>");
	age(b, v->last_heartbeat_at, now);
	if (v->last_heartbeat_at != 0) { /* not "never (never)" */
		buf_puts(b, " (");
		timestamp(b, v->last_heartbeat_at);
		buf_puts(b, ")");
	}
	buf_puts(b, "</dd>");
	if (hb != NULL) {
		buf_puts(b, "<dt>Uptime</dt><dd>");
		if (json_is_integer(up))
			buf_printf(b, "%lldd %lldh %lldm",
			    (long long)(json_integer_value(up) / 86400),
			    (long long)(json_integer_value(up) % 86400 / 3600),
			    (long long)(json_integer_value(up) % 3600 / 60));
		buf_puts(b, "</dd>");
		fact_num(b, "Load (1 min)", hb, "load1", "");
		fact_num(b, "Memory used", hb, "mem_used_pct", "%");
		fact_num(b, "Disk used", hb, "root_disk_used_pct", "%");
		buf_html_in(b,
		    "<dt id=\"cloudflare_down\">Cloudflare tunnel</dt><dd>",
		    cf ? cf : "unknown", "</dd>");
		fact(b, "Sent at",
		    json_string_value(json_object_get(hb, "sent_at")) ?
			json_string_value(json_object_get(hb, "sent_at")) :
			"");
	}
	buf_puts(b, "<dt id=\"never_scanned\">Last scan</dt><dd>");
	age(b, v->last_scan_at, now);
	buf_puts(b, "</dd></dl></section>");

	buf_printf(b, "<section id=\"services_down\"%s><h2>Services</h2>",
	    oob_attr);
	if (json_array_size(svcs) == 0) {
		buf_puts(b,
		    "<p class=\"muted\">No services reported.</p></section>");
		return;
	}
	buf_puts(b,
	    "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Services\"><table id=\"services\"><thead><tr>"
	    "<th>Unit</th><th>State</th></tr></thead><tbody>");
	json_array_foreach(svcs, i, e)
	{
		const char *st = json_string_value(json_object_get(e, "state"));

		buf_puts(b, "<tr><td>");
		buf_html(b, json_string_value(json_object_get(e, "name")));
		buf_printf(b, "</td><td class=\"%s\">",
		    st && strcmp(st, "active") == 0 ? "green" :
			st &&
			    (strcmp(st, "failed") == 0 ||
				strcmp(st, "inactive") == 0) ?
						      "red" :
						      "muted");
		buf_html(b, st);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table></div></section>");
}

static const char *
status_class(const char *st)
{
	if (strcmp(st, "ok") == 0)
		return "green";
	if (strcmp(st, "queued") == 0 || strcmp(st, "delivered") == 0)
		return "muted";
	if (strcmp(st, "expired") == 0)
		return "yellow";
	return "red";
}

void
html_command_row(struct buf *b, const struct cmd_row *c, int64_t now)
{
	time_t t0, t1;

	buf_html_in(b, "<tr id=\"cmd-", c->command_id, "\"><td><strong>");
	buf_html(b, c->command);
	buf_puts(b, "</strong>");
	/* No arguments: nothing to show (not "{}"). */
	if (strcmp(c->args, "{}") != 0) {
		buf_html_in(b, " <code>", c->args, "</code>");
	}
	buf_puts(b, "</td><td>");
	age(b, c->queued_at, now);
	buf_puts(b, " by ");
	buf_html(b, c->queued_by);
	buf_printf(b, "</td><td class=\"%s\">", status_class(c->status));
	buf_html(b, c->status);
	buf_puts(b, "</td><td class=\"hide-narrow\">");
	if (c->started_at && c->finished_at &&
	    time_parse_rfc3339(c->started_at, &t0) == 0 &&
	    time_parse_rfc3339(c->finished_at, &t1) == 0)
		buf_printf(b, "%lld s", (long long)(t1 - t0));
	buf_puts(b, "</td><td>");
	if (c->has_exit)
		buf_printf(b, "%lld", c->exit_code);
	buf_puts(b, "</td></tr>");
	if (c->output != NULL && *c->output != '\0') {
		/* A scrolling output is reached by keyboard too (WCAG 2.1.1). */
		buf_puts(b,
		    "<tr class=\"output\"><td colspan=\"5\"><pre "
		    "tabindex=\"0\" aria-label=\"output of ");
		buf_html(b, c->command);
		buf_html_in(b, "\">", c->output, "</pre></td></tr>");
	}
}

static const char *
severity_class(const char *sev)
{
	/* As attention has it: critical findings make a node red, high yellow. */
	if (strcmp(sev, "critical") == 0)
		return "red";
	return strcmp(sev, "high") == 0 || strcmp(sev, "medium") == 0 ?
	    "yellow" :
	    "muted";
}

void
html_finding(struct buf *b, const struct finding *f, char group[16])
{
	if (strcmp(group, f->severity) != 0) {
		if (group[0] != '\0')
			buf_puts(b, "</ul>");
		snprintf(group, 16, "%s", f->severity);
		/* critical_findings / high_findings: where attention links. */
		buf_puts(b, "<h3 id=\"");
		buf_html(b, group);
		buf_printf(b, "_findings\" class=\"%s\">",
		    severity_class(group));
		buf_html(b, group);
		buf_puts(b, "</h3><ul class=\"findings\">");
	}
	buf_printf(b, "<li class=\"finding\"><span class=\"badge %s\">",
	    severity_class(f->severity));
	buf_html(b, f->severity);
	buf_html_in(b, "</span> <strong>", f->title, "</strong> <code>");
	buf_html(b, f->id);
	buf_html_in(b, "</code><div>", f->detail, "</div>");
	if (f->remediation != NULL && *f->remediation != '\0') {
		buf_html_in(b,
		    "<div class=\"muted\">Remediation: ", f->remediation,
		    "</div>");
	}
	buf_puts(b, "</li>");
}

void
json_finding(struct buf *b, const struct finding *f)
{
	buf_putc(b, '{');
	buf_json_field(b, "id", f->id);
	buf_json_field(b, "severity", f->severity);
	buf_json_field(b, "title", f->title);
	buf_json_field(b, "detail", f->detail);
	buf_json_field(b, "remediation", f->remediation);
	buf_putc(b, '}');
}

/* The actions the audit log records, for its filter. */
static const char *const audit_actions[] = {
	"queue",
	"job_create",
	"job_cancel",
	"job_stop",
	"job_done",
	"job_wave",
	"schedule_add",
	"schedule_delete",
	"approve",
	"revoke",
	"reject",
	"delete",
	"labels",
	"policy_reload",
	"roles_reload",
	"webhooks_reload",
	"approval_request",
	"approval_approve",
	"approval_reject",
	"approval_expire",
	NULL,
};

void
html_audit_begin(struct buf *b, const struct audit_filter *flt)
{
	page_head(b, "Audit log");
	buf_puts(b,
	    "<section id=\"audit\"><h2>Audit log</h2><form "
	    "class=\"filter\" method=\"get\" action=\"/audit\"><label>Action "
	    "<select name=\"action\"><option value=\"\">any</option>");
	for (int i = 0; audit_actions[i] != NULL; i++)
		buf_printf(b, "<option%s>%s</option>",
		    flt->action != NULL &&
			    strcmp(flt->action, audit_actions[i]) == 0 ?
			" selected" :
			"",
		    audit_actions[i]);
	buf_puts(b,
	    "</select></label> <label>Node id <input name=\"node\" "
	    "size=\"36\" maxlength=\"36\" value=\"");
	buf_html(b, flt->target != NULL ? flt->target : "");
	buf_puts(b,
	    "\"></label> <button type=\"submit\">Filter</button>"
	    "</form><div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Audit entries\"><table class=\"audit\"><thead>"
	    "<tr><th>When</th><th>Who</th><th class=\"hide-narrow\">From</th>"
	    "<th>Action</th><th>Target</th><th>Detail</th><th>Result</th>"
	    "</tr></thead><tbody>");
}

void
html_audit_row(struct buf *b, int64_t id, const struct audit_rec *a,
    const char *hostname)
{
	buf_printf(b, "<tr id=\"audit-%lld\"><td>", (long long)id);
	timestamp(b, a->at);
	buf_html_in(b, "</td><td>", a->who, "</td><td class=\"hide-narrow\">");
	buf_html(b, a->peer);
	buf_html_in(b, "</td><td>", a->action, "</td><td>");
	/* A node id links to its page; either way the text is escaped. */
	if (uuid_valid(a->target)) {
		buf_puts(b, "<a href=\"");
		node_href(b, a->target, "\">");
		/* The hostname an operator knows, the id it stands for. */
		if (hostname != NULL) {
			buf_html(b, hostname);
			buf_html_in(b, "</a> <code class=\"id\">", a->target,
			    "</code>");
		} else {
			buf_html(b, a->target);
			buf_puts(b, "</a>");
		}
	} else
		buf_html(b, a->target);
	buf_puts(b, "</td><td><code>");
	buf_html(b, a->detail);
	buf_printf(b, "</code></td><td class=\"%s\">",
	    strcmp(a->result, "ok") == 0 ? "green" : "red");
	buf_html(b, a->result);
	buf_puts(b, "</td></tr>");
}

/* The audit page's link with flt, from before (0: the newest). */
static void
audit_href(struct buf *b, const struct audit_filter *flt, int64_t before)
{
	buf_puts(b, "/audit?");
	if (flt->action != NULL) {
		buf_puts(b, "action=");
		buf_urlenc(b, flt->action);
		buf_puts(b, "&amp;");
	}
	if (flt->target != NULL) {
		buf_puts(b, "node=");
		buf_urlenc(b, flt->target);
		buf_puts(b, "&amp;");
	}
	if (before > 0)
		buf_printf(b, "before=%lld", (long long)before);
}

void
html_audit_end(struct buf *b, int n, int64_t older,
    const struct audit_filter *flt)
{
	if (n == 0)
		buf_puts(b,
		    "<tr><td colspan=\"7\" class=\"muted\">No operator "
		    "action matches.</td></tr>");
	buf_puts(b,
	    "</tbody></table></div><nav class=\"pages\" aria-label=\"Pages\">");
	if (flt->before > 0) {
		buf_puts(b, "<a href=\"");
		audit_href(b, flt, 0);
		buf_puts(b, "\">newest</a> ");
	}
	if (older > 0) {
		buf_puts(b, "<a href=\"");
		audit_href(b, flt, older);
		buf_puts(b, "\">older</a>");
	}
	buf_puts(b, "</nav></section>");
	page_foot(b);
}

int
json_node(struct buf *b, const struct node_view *v, const char *hb_json)
{
	static const char *const sev[FINDING_SEVERITIES] = { "critical", "high",
		"medium", "low", "info" };
	char			 ts[32];
	int			 first = 1;

	buf_putc(b, '{');
	buf_json_field(b, "node_id", v->node_id);
	buf_json_field(b, "hostname", v->hostname);
	buf_json_field(b, "os_profile", v->os_profile);
	buf_json_field(b, "agent_version", v->agent_version);
	buf_printf(b, ",\"status\":\"%s\"", status_name(v->status));
	time_rfc3339((time_t)v->enrolled_at, ts);
	buf_printf(b, ",\"enrolled_at\":\"%s\"", ts);
	if (v->last_heartbeat_at != 0) {
		time_rfc3339((time_t)v->last_heartbeat_at, ts);
		buf_printf(b, ",\"last_heartbeat_at\":\"%s\"", ts);
	} else
		buf_puts(b, ",\"last_heartbeat_at\":null");
	if (v->last_scan_at != 0) {
		time_rfc3339((time_t)v->last_scan_at, ts);
		buf_printf(b, ",\"last_scan_at\":\"%s\"", ts);
	} else
		buf_puts(b, ",\"last_scan_at\":null");
	buf_puts(b, ",\"findings\":{");
	for (int i = 0; i < FINDING_SEVERITIES; i++)
		buf_printf(b, "%s\"%s\":%d", i ? "," : "", sev[i],
		    v->findings[i]);
	buf_printf(b, "},\"labels\":%s", v->labels[0] ? v->labels : "{}");
	buf_puts(b, ",\"pinned_key_id\":");
	buf_json_str(b, v->pinned_key_id[0] ? v->pinned_key_id : NULL);
	buf_printf(b, ",\"heartbeat\":%s", hb_json ? hb_json : "null");
	buf_printf(b, ",\"attention\":{\"level\":\"%s\",\"reasons\":[",
	    level_name(v->level));
	for (int i = 0; i < REASON_COUNT; i++)
		if (v->reasons & (1u << i)) {
			buf_printf(b, "%s\"%s\"", first ? "" : ",",
			    reason_name(1u << i));
			first = 0;
		}
	buf_puts(b, "]}}");
	return buf_failed(b) ? -1 : 0;
}

/* ---- the node page, whole or as live sections ------------------------ */

static void
node_poller(struct buf *b, const struct node_view *v)
{
	buf_puts(b, "<div id=\"live\" hidden hx-get=\"");
	node_href(b, v->node_id,
	    "?fragment=live\" hx-trigger=\"" NODE_POLL
	    "\" hx-swap=\"none\"></div>");
}

/* Title, attention, status and the approve/revoke buttons. */
static void confirm_form(struct buf *b, const struct node_view *v,
    const char *action, const char *label);

static void
node_title(struct buf *b, const struct node_view *v, enum role role,
    const char *current_key, enum page_part part)
{
	buf_printf(b,
	    "<section id=\"node-head\"%s><div class=\"node-title\"><h2>",
	    oob(part));
	buf_html(b, v->hostname);
	buf_puts(b, "</h2>");
	/* A revoked node needs no attention: no level, no reasons. */
	if (v->status == NODE_REVOKED)
		buf_puts(b,
		    "<span class=\"badge revoked\">revoked</span><span>");
	else {
		level_badge(b, v->level);
		buf_puts(b, "<span>");
		reasons_list(b, v->reasons, NULL);
	}
	buf_puts(b,
	    "</span></div><div id=\"enrollment\" class=\"node-title\">"
	    "<span>Status: <strong>");
	buf_puts(b, status_name(v->status));
	buf_puts(b, "</strong></span>");
	if (v->status == NODE_APPROVED) {
		buf_puts(b, "<span id=\"pinned-key\">Signing key: ");
		key_of_node(b, v->pinned_key_id, current_key, 0);
		buf_puts(b, "</span>");
	}
	/* Trust in nodes is an admin's (roles.h). */
	if (role < ROLE_ADMIN) {
		buf_puts(b, "</div></section>");
		return;
	}
	if (v->status != NODE_APPROVED) {
		buf_puts(b, "<form class=\"inline\" method=\"post\" action=\"");
		node_href(b, v->node_id, "/approve\" hx-post=\"");
		node_href(b, v->node_id,
		    "/approve\" hx-swap=\"none\"><button "
		    "type=\"submit\">Approve</button></form>");
	}
	if (v->status != NODE_REVOKED)
		confirm_form(b, v, "revoke", "Revoke");
	if (v->status == NODE_PENDING)
		confirm_form(b, v, "reject", "Reject");
	else
		confirm_form(b, v, "delete", "Delete");
	buf_puts(b, "</div></section>");
}

/* What each confirmed action does, in the question that asks for it. */
static const char *
confirm_text(const char *action)
{
	return strcmp(action, "revoke") == 0 ?
	    "Its token stops working at "
	    "once; approve it again to take it back." :
	    strcmp(action, "reject") == 0 ?
	    "It leaves the fleet and this node id can never enroll again." :
	    "Its token stops working, it "
	    "leaves the fleet and this node id can never enroll again; its "
	    "history stays in the audit log and the store.";
}

/*
 * A destructive action asks first. Without JavaScript the button opens a
 * confirmation page (a GET of the same path) whose form posts; with htmx
 * it posts straight away after the browser's dialog (hx-confirm).
 */
static void
confirm_form(struct buf *b, const struct node_view *v, const char *action,
    const char *label)
{
	char suffix[16];

	snprintf(suffix, sizeof(suffix), "/%s", action);
	buf_puts(b, "<form class=\"inline\" method=\"get\" action=\"");
	node_href(b, v->node_id, suffix);
	buf_puts(b, "\" hx-post=\"");
	node_href(b, v->node_id, suffix);
	buf_printf(b, "\" hx-swap=\"none\" hx-confirm=\"%s ", label);
	buf_html(b, v->hostname);
	buf_puts(b, "? ");
	buf_html(b, confirm_text(action));
	buf_printf(b,
	    "\"><button class=\"danger\" type=\"submit\">%s</button></form>",
	    label);
}

int
html_error(struct buf *b, unsigned status, const char *code, const char *msg,
    const char *back, const char *back_label)
{
	page_head(b, "Error");
	buf_printf(b, "<section class=\"card error-page\"><h2>%u: ", status);
	buf_html(b, code);
	buf_html_in(b, "</h2><p role=\"alert\">", msg, "</p><p><a href=\"");
	buf_html(b, back);
	buf_html_in(b, "\">", back_label, "</a></p></section>");
	page_foot(b);
	return buf_failed(b) ? -1 : 0;
}

int
html_confirm(struct buf *b, const struct node_view *v, const char *action)
{
	char suffix[16];
	char title[64];

	snprintf(suffix, sizeof(suffix), "/%s", action);
	snprintf(title, sizeof(title), "%c%s node", action[0] - 'a' + 'A',
	    action + 1);
	page_head(b, title);
	buf_printf(b, "<section class=\"card confirm\"><h2>%s ", title);
	buf_html(b, v->hostname);
	buf_html_in(b, "?</h2><p>", confirm_text(action),
	    "</p><p class=\"muted\">Node <code>");
	buf_html(b, v->node_id);
	buf_puts(b, "</code>, ");
	buf_puts(b, status_name(v->status));
	buf_puts(b, ".</p><form method=\"post\" action=\"");
	node_href(b, v->node_id, suffix);
	buf_printf(b,
	    "\"><button class=\"danger\" type=\"submit\">%s"
	    "</button> <a href=\"",
	    title);
	node_href(b, v->node_id, "\">Cancel</a></form></section>");
	page_foot(b);
	return buf_failed(b) ? -1 : 0;
}

static void
node_notice(struct buf *b, const char *error, enum page_part part)
{
	buf_printf(b, "<div id=\"notice\" role=\"status\"%s>", oob(part));
	if (error != NULL) {
		buf_html_in(b,
		    "<p class=\"error\" role=\"alert\">Refused: ", error,
		    "</p>");
	}
	buf_puts(b, "</div>");
}

/* 1 when the refused command has its own form on the page. */
static int
refused_at_form(const struct node_parts *p)
{
	if (p->refused_cmd == NULL || p->error == NULL ||
	    p->v->status != NODE_APPROVED)
		return 0;
	for (int i = 0; cmd_catalog[i].name != NULL; i++)
		if (strcmp(cmd_catalog[i].name, p->refused_cmd) == 0)
			return (p->allowed & (1u << i)) != 0;
	return 0;
}

static void
node_forms(struct buf *b, const struct node_parts *p, enum page_part part)
{
	const struct node_view *v = p->v;
	unsigned		allowed = p->allowed;

	buf_printf(b, "<section id=\"run\"%s><h2>Run a command</h2>",
	    oob(part));
	if (v->status != NODE_APPROVED) {
		buf_puts(b,
		    "<p class=\"muted\">Only approved nodes take "
		    "commands.</p></section>");
		return;
	}
	if (p->role < ROLE_OPERATOR) {
		buf_printf(b,
		    "<p class=\"muted\" id=\"role-note\">Your role (%s) sees "
		    "commands but may not queue them.</p></section>",
		    role_names[p->role]);
		return;
	}
	if (allowed == 0) {
		buf_puts(b,
		    "<p class=\"muted\">The policy allows no command "
		    "for this profile.</p></section>");
		return;
	}
	buf_puts(b, "<div class=\"forms\">");
	for (int i = 0; cmd_catalog[i].name != NULL; i++) {
		const char *name = cmd_catalog[i].name;
		int	    refused;

		if (!(allowed & (1u << i)))
			continue;
		/* name: from the catalog, a fixed table of plain names. */
		buf_puts(b, "<form method=\"post\" action=\"");
		node_href(b, v->node_id, "/commands\" hx-post=\"");
		node_href(b, v->node_id, "/commands\" hx-swap=\"none\" ");
		buf_printf(b,
		    "class=\"cmd\" id=\"run-%s\"><input type=\"hidden\" "
		    "name=\"command\" value=\"%s\"><strong>%s</strong> ",
		    name, name, name);
		refused =
		    p->refused_cmd != NULL && strcmp(p->refused_cmd, name) == 0;
		if (strncmp(name, "service-", 8) == 0 ||
		    strcmp(name, "journal-tail") == 0) {
			buf_puts(b,
			    "<input name=\"unit\" required "
			    "placeholder=\"unit, e.g. cloudflared.service\" "
			    "aria-label=\"unit\"");
			if (refused && p->typed_unit != NULL) {
				buf_html_in(b, " value=\"", p->typed_unit,
				    "\"");
			}
			if (refused)
				buf_printf(b,
				    " aria-invalid=\"true\" "
				    "aria-describedby=\"run-%s-error\"",
				    name);
			buf_puts(b, ">");
		}
		if (strcmp(name, "journal-tail") == 0) {
			buf_puts(b,
			    " <input name=\"lines\" type=\"number\" "
			    "min=\"1\" max=\"500\" aria-label=\"lines\" "
			    "value=\"");
			buf_html(b,
			    refused && p->typed_lines != NULL ? p->typed_lines :
								"50");
			buf_puts(b, "\">");
		}
		buf_puts(b, " <button type=\"submit\">Run</button>");
		/* The refusal where the operator is looking: at its form. */
		if (refused && p->error != NULL) {
			buf_printf(b,
			    "<p class=\"error\" role=\"alert\" "
			    "id=\"run-%s-error\">Refused: ",
			    name);
			buf_html(b, p->error);
			buf_puts(b, "</p>");
		}
		buf_puts(b, "</form>");
	}
	buf_puts(b, "</div></section>");
}

/* The axis, and how many of y's n values there are when too few for a line. */
static void
spark_axis(struct buf *b, const double *y, size_t n)
{
	size_t valid = 0;

	for (size_t i = 0; i < n; i++)
		valid += !isnan(y[i]);
	if (valid > 0 && valid < SPARK_MIN)
		buf_printf(b,
		    "<p class=\"muted spark-few\">Only %zu sample%s so "
		    "far: the line starts at %d.</p>",
		    valid, valid == 1 ? "" : "s", SPARK_MIN);
	buf_printf(b,
	    "<div class=\"axis\"><span>24 h ago</span><span>%zu "
	    "sample%s, one per %d min</span><span>now</span></div>",
	    n, n == 1 ? "" : "s", HB_SAMPLE_SECS / 60);
}

/* A line of the node's trends: its samples, their largest, the scale. */
struct trend {
	const int64_t *t;
	const double  *y;
	size_t	       n;
	double	       max;
	double	       ymax;
};

/*
 * One trend chart: the caption (the latest value and the largest, with
 * now_fmt, or "no data"), the line over the last day, its axis.
 */
static void
trend_line(struct buf *b, const char *id, const char *label,
    const char *now_fmt, const char *title, const struct trend *tr, int64_t now)
{
	buf_printf(b,
	    "<figure class=\"chart\" id=\"trend-%s\"><figcaption>"
	    "<strong>%s</strong><span>",
	    id, label);
	if (tr->n > 0 && !isnan(tr->y[tr->n - 1]))
		buf_printf(b, now_fmt, tr->y[tr->n - 1], tr->max);
	else
		buf_puts(b, "<span class=\"muted\">no data</span>");
	buf_puts(b, "</span></figcaption>");
	svg_sparkline(b, title, tr->t, tr->y, tr->n, now - HB_SAMPLE_KEEP, now,
	    tr->ymax);
	spark_axis(b, tr->y, tr->n);
	buf_puts(b, "</figure>");
}

/* Load, memory (samples, then the latest heartbeat) and findings per scan. */
static void
node_trends(struct buf *b, const struct node_parts *p, json_t *hb,
    enum page_part part)
{
	const struct node_view *v = p->v;
	size_t			n = 0;
	int64_t		       *t = calloc(p->nsamples + 1, sizeof(*t));
	double		       *load = calloc(p->nsamples + 1, sizeof(*load));
	double		       *mem = calloc(p->nsamples + 1, sizeof(*mem));
	double			lmax = 0, mmax = 0, ymax;
	char			title[HOSTNAME_MAX + 64];

	buf_printf(b,
	    "<section id=\"trends\"%s><h2>Trends</h2><div class=\"trends\">",
	    oob(part));
	if (t == NULL || load == NULL || mem == NULL)
		goto out;
	for (size_t i = 0; i < p->nsamples; i++) {
		t[n] = p->samples[i].at;
		load[n] = p->samples[i].load1;
		mem[n++] = p->samples[i].mem_used_pct;
	}
	if (hb != NULL && v->last_heartbeat_at != 0 &&
	    (n == 0 || t[n - 1] < v->last_heartbeat_at)) {
		json_t *x = json_object_get(hb, "load1");
		json_t *y = json_object_get(hb, "mem_used_pct");

		t[n] = v->last_heartbeat_at;
		load[n] = json_is_number(x) ? json_number_value(x) : NAN;
		mem[n++] = json_is_number(y) ? json_number_value(y) : NAN;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isnan(load[i]) && load[i] > lmax)
			lmax = load[i];
		if (!isnan(mem[i]) && mem[i] > mmax)
			mmax = mem[i];
	}

	ymax = lmax < 1 ? 1 : ceil(lmax);
	snprintf(title, sizeof(title),
	    "Load of %s over the last day, scale 0 to %.0f", v->hostname, ymax);
	trend_line(b, "load", "Load (1 min)", "now %.2f · max %.2f", title,
	    &(struct trend) { t, load, n, lmax, ymax }, p->now);
	snprintf(title, sizeof(title),
	    "Memory used on %s over the last day, scale 0 to 100 %%",
	    v->hostname);
	trend_line(b, "mem", "Memory used", "now %.1f %% · max %.1f %%", title,
	    &(struct trend) { t, mem, n, mmax, 100 }, p->now);

	buf_printf(b,
	    "<figure class=\"chart\" id=\"trend-findings\">"
	    "<figcaption><strong>Findings per scan</strong><span "
	    "class=\"legend\"><span class=\"key red\">critical/high</span>"
	    "<span class=\"key yellow\">medium</span><span class=\"key "
	    "k-low\">low</span><span class=\"key k-info\">info</span>"
	    "<span class=\"key green\">none</span></span></figcaption>");
	snprintf(title, sizeof(title),
	    "Findings per severity in the last %zu scans of %s", p->nscans,
	    v->hostname);
	svg_scan_bars(b, title, p->scans, p->nscans, p->now);
	if (p->nscans == 0)
		buf_puts(b,
		    "<div class=\"axis\"><span>No scans yet.</span></div>");
	else
		buf_printf(b,
		    "<div class=\"axis\"><span>%zu scan%s</span>"
		    "<span>newest</span></div>",
		    p->nscans, p->nscans == 1 ? "" : "s");
	buf_puts(b, "</figure>");
out:
	buf_puts(b, "</div></section>");
	free(t);
	free(load);
	free(mem);
}

static void
node_findings(struct buf *b, const struct node_parts *p, enum page_part part)
{
	const struct node_view *v = p->v;

	buf_printf(b, "<section id=\"findings\"%s><h2>Findings</h2>",
	    oob(part));
	if (v->last_scan_at == 0) {
		buf_puts(b, "<p class=\"muted\">Never scanned.</p></section>");
		return;
	}
	buf_puts(b, "<p>Latest scan ");
	age(b, v->last_scan_at, p->now);
	buf_printf(b, ": %d critical, %d high, %d medium, %d low, %d info.</p>",
	    v->findings[0], v->findings[1], v->findings[2], v->findings[3],
	    v->findings[4]);
	if (p->findings != NULL && *p->findings != '\0')
		buf_puts(b, p->findings);
	else
		buf_puts(b, "<p class=\"green\">No findings.</p>");
	buf_puts(b, "</section>");
}

static void
node_scans(struct buf *b, const struct node_parts *p, enum page_part part)
{
	buf_printf(b,
	    "<section id=\"scans\"%s><h2>Scan history</h2>"
	    "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Scans\"><table><thead><tr><th>Scanned</th>"
	    "<th class=\"num\">Critical</th><th class=\"num\">High</th>"
	    "<th class=\"num\">Medium</th><th class=\"num\">Low</th>"
	    "<th class=\"num\">Info</th></tr></thead><tbody>",
	    oob(part));
	/* Newest first, as the table always was. */
	for (size_t i = p->nscans; i-- > 0;) {
		const struct scan_point *s = &p->scans[i];

		/* Escaped as html_command_row escapes the id it links to. */
		buf_html_in(b, "<tr><td><a href=\"#cmd-", s->command_id, "\">");
		age(b, s->scanned_at, p->now);
		buf_printf(b,
		    "</a></td><td class=\"num %s\">%d</td>"
		    "<td class=\"num %s\">%d</td><td class=\"num\">%d</td>"
		    "<td class=\"num\">%d</td><td class=\"num\">%d</td></tr>",
		    s->counts[0] ? "red" : "", s->counts[0],
		    s->counts[1] ? "red" : "", s->counts[1], s->counts[2],
		    s->counts[3], s->counts[4]);
	}
	if (p->nscans == 0)
		buf_puts(b,
		    "<tr><td colspan=\"6\" class=\"muted\">No scans "
		    "yet.</td></tr>");
	buf_puts(b, "</tbody></table></div></section>");
}

static void
commands_table_head(struct buf *b)
{
	buf_puts(b,
	    "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Commands\"><table class=\"commands\"><thead>"
	    "<tr><th>Command</th><th>Queued</th><th>Status</th>"
	    "<th class=\"hide-narrow\">Duration</th><th>Exit</th></tr></thead>"
	    "<tbody>");
}

static void
node_commands(struct buf *b, const struct node_parts *p, enum page_part part)
{
	buf_printf(b, "<section id=\"commands\"%s><h2>Commands</h2>",
	    oob(part));
	commands_table_head(b);
	if (p->commands != NULL)
		buf_puts(b, p->commands);
	if (!p->any_commands)
		buf_puts(b,
		    "<tr><td colspan=\"5\" class=\"muted\">No commands "
		    "yet.</td></tr>");
	buf_puts(b, "</tbody></table></div><p><a href=\"");
	node_href(b, p->v->node_id,
	    "/history\">The whole history, with filters</a></p></section>");
}

/* The history page's link with flt, from before (0: the newest). */
static void
history_href(struct buf *b, const struct node_view *v,
    const struct cmd_filter *flt, int64_t before)
{
	node_href(b, v->node_id, "/history?");
	if (flt->status != NULL)
		buf_printf(b, "status=%s&amp;", flt->status);
	if (flt->command != NULL)
		buf_printf(b, "command=%s&amp;", flt->command);
	if (before > 0)
		buf_printf(b, "before=%lld", (long long)before);
}

int
html_history(struct buf *b, const struct node_view *v,
    const struct cmd_filter *flt, const char *rows, int n, int64_t older,
    const char *const *statuses)
{
	char title[HOSTNAME_MAX + 32];

	snprintf(title, sizeof(title), "%s: commands", v->hostname);
	page_head(b, title);
	buf_puts(b, "<section><h2>Commands of <a href=\"");
	node_href(b, v->node_id, "\">");
	buf_html(b, v->hostname);
	buf_puts(b, "</a></h2><form class=\"filter\" method=\"get\" action=\"");
	node_href(b, v->node_id,
	    "/history\"><label>Status <select "
	    "name=\"status\"><option value=\"\">any</option>");
	/* statuses and command names: fixed tables of plain names. */
	for (int i = 0; statuses[i] != NULL; i++)
		buf_printf(b, "<option%s>%s</option>",
		    flt->status != NULL &&
			    strcmp(flt->status, statuses[i]) == 0 ?
			" selected" :
			"",
		    statuses[i]);
	buf_puts(b,
	    "</select></label> <label>Command <select name=\"command\">"
	    "<option value=\"\">any</option>");
	for (int i = 0; cmd_catalog[i].name != NULL; i++)
		buf_printf(b, "<option%s>%s</option>",
		    flt->command != NULL &&
			    strcmp(flt->command, cmd_catalog[i].name) == 0 ?
			" selected" :
			"",
		    cmd_catalog[i].name);
	buf_puts(b,
	    "</select></label> <button type=\"submit\">Filter</button></form>");
	commands_table_head(b);
	buf_puts(b, rows);
	if (n == 0)
		buf_puts(b,
		    "<tr><td colspan=\"5\" class=\"muted\">No command "
		    "matches.</td></tr>");
	buf_puts(b,
	    "</tbody></table></div><nav class=\"pages\" aria-label=\"Pages\">");
	if (flt->before > 0) {
		buf_puts(b, "<a href=\"");
		history_href(b, v, flt, 0);
		buf_puts(b, "\">newest</a> ");
	}
	if (older > 0) {
		buf_puts(b, "<a href=\"");
		history_href(b, v, flt, older);
		buf_puts(b, "\">older</a>");
	}
	buf_puts(b, "</nav></section>");
	page_foot(b);
	return buf_failed(b) ? -1 : 0;
}

int
html_node(struct buf *b, const struct node_parts *p, enum page_part part)
{
	const struct node_view *v = p->v;
	json_t	   *hb = p->hb_json ? json_loads(p->hb_json, 0, NULL) : NULL;
	const char *o = oob(part);

	if (part == PART_PAGE) {
		page_head(b, v->hostname);
		node_poller(b, v);
	}
	/* A refused command form says so at the form, not up here. */
	if (part != PART_LIVE)
		node_notice(b, refused_at_form(p) ? NULL : p->error, part);
	node_title(b, v, p->role, p->current_key, part);
	if (part == PART_PAGE)
		buf_puts(b, "<div class=\"cols\">");
	node_facts(b, v, p->enroll_peer, hb, p->now, p->role, o);
	if (part == PART_PAGE)
		buf_puts(b, "</div>");
	node_trends(b, p, hb, part);
	/* Typed input survives the polls: the forms change only on a post. */
	if (part != PART_LIVE)
		node_forms(b, p, part);
	if (part != PART_LIVE)
		buf_printf(b, "<section id=\"approvals\"%s>", o);
	if (part != PART_LIVE && p->approvals != NULL) {
		buf_puts(b, "<h2>Waiting for approval</h2>");
		buf_puts(b, p->approvals); /* rendered, escaped */
	}
	if (part != PART_LIVE)
		buf_puts(b, "</section>");
	node_commands(b, p, part);
	node_findings(b, p, part);
	node_scans(b, p, part);
	if (part == PART_PAGE)
		page_foot(b);
	json_decref(hb);
	return buf_failed(b) ? -1 : 0;
}
