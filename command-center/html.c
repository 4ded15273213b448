/*
 * html: server-rendered pages, their pictures (inline SVG) and the JSON
 * form of a node. Every value that came from an agent or an operator goes
 * through buf_html() or buf_json_str().
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

#include "cc.h"
#include "command.h"
#include "util.h"

/* build/gen/htmx.c, from the npm package pinned in package-lock.json. */
extern const unsigned char	htmx_js[];
extern const size_t		htmx_js_len;
extern const char		htmx_js_version[];

#define DASH_POLL	"every 5s"
#define NODE_POLL	"every 3s"

const char vm_css[] =
    ":root{color-scheme:light dark;--bg:#f4f5f7;--fg:#1b1d21;--muted:#5b6270;"
    "--card:#fff;--line:#dcdfe4;--red:#c62828;--red-bg:#fdecea;"
    "--yellow:#8f5b00;--yellow-bg:#fff3d6;--green:#2e7d32;--green-bg:#e6f4e7;"
    "--link:#1a56b0;--low:#5b7fa8;--info:#98a1b0;--fill:#1a56b0}"
    "@media (prefers-color-scheme:dark){:root{--bg:#111316;--fg:#e6e8eb;"
    "--muted:#9aa1ad;--card:#1b1e23;--line:#30353c;--red:#ff7b72;"
    "--red-bg:#3b1e1e;--yellow:#e3b341;--yellow-bg:#352a12;--green:#5bd36a;"
    "--green-bg:#13301a;--link:#7fb4ff;--low:#7d9cc4;--info:#6b7280;"
    "--fill:#7fb4ff}}"
    "*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}"
    "body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;background:var(--bg);color:var(--fg)}"
    "header.top{display:flex;justify-content:space-between;align-items:center;"
    "flex-wrap:wrap;gap:.4rem 1rem;padding:.7rem 1.2rem;"
    "border-bottom:1px solid var(--line);background:var(--card)}"
    "header.top h1{margin:0;font-size:1.1rem;letter-spacing:.01em}"
    "header.top h1 a{color:inherit;text-decoration:none}"
    "header.top nav{display:flex;gap:1rem}"
    "main{padding:1rem 1.2rem 3rem;max-width:1180px;margin:auto}"
    "h2{font-size:1.05rem;margin:1.4rem 0 .6rem}h3{font-size:.95rem;"
    "margin:1rem 0 .4rem}a{color:var(--link)}"
    "a:focus-visible,button:focus-visible,input:focus-visible,"
    "select:focus-visible{outline:2px solid var(--link);outline-offset:2px}"
    ".card{background:var(--card);border:1px solid var(--line);"
    "border-radius:.6rem;padding:.8rem 1rem}"
    ".scroll{overflow-x:auto;border:1px solid var(--line);border-radius:.6rem;"
    "background:var(--card)}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.5rem .7rem;border-bottom:1px solid "
    "var(--line);vertical-align:top}tbody tr:last-child td{border-bottom:0}"
    "th{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;"
    "color:var(--muted);font-weight:600}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".badge{display:inline-block;padding:.05rem .55rem;border-radius:1rem;"
    "font-weight:700;font-size:.75rem;letter-spacing:.04em;"
    "border:1px solid currentColor;white-space:nowrap}"
    ".badge.red{background:var(--red-bg)}.badge.yellow{background:"
    "var(--yellow-bg)}.badge.green{background:var(--green-bg)}"
    ".badge.muted{background:transparent}"
    ".red{color:var(--red)}.yellow{color:var(--yellow)}"
    ".green{color:var(--green)}.muted{color:var(--muted)}"
    ".summary{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(9rem,1fr));gap:.7rem;margin:0 0 1rem}"
    ".fleet-line{grid-column:1/-1;margin:0;font-weight:600;font-size:1.05rem}"
    ".fleet-line .asof{font-weight:400;font-size:.8rem;color:var(--muted);"
    "margin-left:.5rem}"
    "a.count{display:block;text-decoration:none;background:var(--card);"
    "border:1px solid var(--line);border-left:5px solid currentColor;"
    "border-radius:.6rem;padding:.55rem .9rem;font-weight:600}"
    "a.count:not(.red):not(.yellow):not(.green){color:var(--fg);"
    "border-left-color:var(--line)}"
    ".count b{font-size:1.6rem;display:block;line-height:1.2}"
    "#filter{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;"
    "margin:0 0 1rem}#filter label{display:flex;flex-direction:column;"
    "font-size:.8rem;color:var(--muted)}"
    ".pages{margin:1rem 0;display:flex;gap:1rem;flex-wrap:wrap}"
    "figure.chart{margin:0 0 1rem;background:var(--card);border:1px solid "
    "var(--line);border-radius:.6rem;padding:.7rem 1rem}"
    "figcaption{display:flex;justify-content:space-between;flex-wrap:wrap;"
    "gap:.3rem 1rem;font-size:.85rem;margin-bottom:.4rem}"
    "figcaption strong{font-size:.9rem}"
    ".legend{display:flex;gap:.8rem;flex-wrap:wrap;color:var(--muted)}"
    ".key::before{content:'';display:inline-block;width:.75rem;height:.75rem;"
    "border-radius:.15rem;margin-right:.3rem;vertical-align:-.05rem;"
    "background:currentColor}"
    ".key.k-low{color:var(--low)}.key.k-info{color:var(--info)}"
    "svg.plot{display:block;width:100%;height:9rem}"
    "svg.spark{display:block;width:100%;height:3rem}"
    "svg.bars{display:block;width:100%;height:4.5rem}"
    ".axis{display:flex;justify-content:space-between;font-size:.75rem;"
    "color:var(--muted)}"
    ".a-red{fill:var(--red)}.a-yellow{fill:var(--yellow)}"
    ".a-green{fill:var(--green)}.a-red,.a-yellow,.a-green{opacity:.8}"
    ".grid{stroke:var(--line);stroke-width:1}"
    ".line{fill:none;stroke:var(--fill);stroke-width:2}"
    ".under{fill:var(--fill);opacity:.15}"
    ".s-critical{fill:var(--red)}.s-high{fill:var(--red);opacity:.6}"
    ".s-medium{fill:var(--yellow)}.s-low{fill:var(--low)}"
    ".s-info{fill:var(--info)}.s-none{fill:var(--green)}"
    ".trends{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(16rem,1fr));gap:.7rem}.trends figure.chart{margin:0}"
    ".cols{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(20rem,1fr));gap:0 1.2rem}"
    ".node-title{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem "
    "1rem}.node-title h2{font-size:1.35rem;margin:.4rem 0;"
    "overflow-wrap:anywhere}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;"
    "margin:0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}"
    "section{margin-bottom:1.2rem}form.inline{display:inline}"
    "button{font:inherit;padding:.4rem 1rem;border-radius:.45rem;"
    "border:1px solid var(--line);background:var(--card);color:var(--fg);"
    "cursor:pointer;min-height:2.2rem}button:hover{border-color:var(--link)}"
    "button.danger{border-color:var(--red);color:var(--red)}"
    ".htmx-request button,button.htmx-request{opacity:.55;cursor:progress}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);"
    "border:1px solid var(--line);border-radius:.4rem;padding:.6rem;"
    "margin:0;max-height:22rem;overflow:auto;font-size:.82rem}"
    ".error{border:2px solid var(--red);color:var(--red);padding:.5rem 1rem;"
    "background:var(--red-bg);border-radius:.5rem}"
    ".forms{display:grid;gap:.5rem}.forms form{display:flex;flex-wrap:wrap;"
    "gap:.5rem;align-items:center;background:var(--card);border:1px solid "
    "var(--line);border-radius:.6rem;padding:.5rem .8rem}"
    ".forms form strong{min-width:9rem}"
    "input,select{font:inherit;padding:.35rem .5rem;border:1px solid "
    "var(--line);border-radius:.4rem;background:var(--card);color:var(--fg);"
    "min-height:2.2rem}input[type=number]{width:6rem}"
    "code{font-size:.85em;overflow-wrap:anywhere}"
    "ul.findings{list-style:none;padding:0;margin:0}li.finding{"
    "background:var(--card);border:1px solid var(--line);border-radius:.5rem;"
    "padding:.5rem .8rem;margin:.4rem 0}"
    "tr.output td{padding-top:0}"
    "@media (max-width:700px){main{padding:.8rem .7rem 2rem}"
    ".hide-narrow{display:none}th,td{padding:.4rem .45rem}"
    "header.top{padding:.6rem .8rem}.forms form strong{min-width:0;"
    "flex-basis:100%}dl{grid-template-columns:1fr}dt{margin-top:.3rem}}";

/* FNV-1a: the stylesheet's path changes with its content. */
static char	css_path[48], htmx_path[64];

static void
static_paths_init(void)
{
	uint32_t h = 2166136261u;

	for (const char *p = vm_css; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(css_path, sizeof(css_path), "/static/vm-%08x.css", h);
	snprintf(htmx_path, sizeof(htmx_path), "/static/htmx-%s.min.js",
	    htmx_js_version);
}

static pthread_once_t static_once = PTHREAD_ONCE_INIT;

const char *
static_css_path(void)
{
	pthread_once(&static_once, static_paths_init);
	return css_path;
}

const char *
static_htmx_path(void)
{
	pthread_once(&static_once, static_paths_init);
	return htmx_path;
}

void
h_static(struct req *r)
{
	const char *path = req_path(r);

	if (strcmp(path, static_htmx_path()) == 0)
		resp_static(r, "text/javascript; charset=utf-8", htmx_js,
		    htmx_js_len);
	else if (strcmp(path, static_css_path()) == 0)
		resp_static(r, "text/css; charset=utf-8", vm_css,
		    sizeof(vm_css) - 1);
	else
		resp_error(r, 404, "not_found", "no such file");
}

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
	buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"color-scheme\" content=\"light dark\">"
	    "<meta name=\"htmx-config\" content=\"");
	buf_puts(b, htmx_config);
	buf_puts(b, "\"><title>");
	buf_html(b, title);
	buf_printf(b, " · VaultMesh</title><link rel=\"stylesheet\" "
	    "href=\"%s\"><script src=\"%s\" defer></script></head><body>"
	    "<header class=\"top\"><h1><a href=\"/\">VaultMesh Command Center"
	    "</a></h1><nav><a href=\"/\">Fleet</a> <a href=\"/audit\">Audit "
	    "log</a></nav></header><main>", static_css_path(),
	    static_htmx_path());
}

static void
page_foot(struct buf *b)
{
	buf_puts(b, "</main></body></html>\n");
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
		if (node_id != NULL)
			buf_printf(b, "<a href=\"/nodes/%s#%s\">%s</a>", node_id,
			    reason_name(1u << i), reason_name(1u << i));
		else
			buf_puts(b, reason_name(1u << i));
	}
}

static int
view_cmp(const void *a, const void *b)
{
	const struct node_view *x = a, *y = b;
	int c;

	if (x->level != y->level)
		return (int)y->level - (int)x->level;	/* red first */
	if ((c = strcmp(x->hostname, y->hostname)) != 0)
		return c;
	return strcmp(x->node_id, y->node_id);
}

/* Case-insensitive substring match of the filter text. */
static int
matches(const struct node_view *v, const struct dash_filter *f)
{
	if (f->level >= 0 && (int)v->level != f->level)
		return 0;
	if (f->q == NULL || *f->q == '\0')
		return 1;
	return strcasestr(v->hostname, f->q) != NULL ||
	    strcasestr(v->node_id, f->q) != NULL ||
	    strcasestr(v->os_profile, f->q) != NULL;
}

static void
filter_link(struct buf *b, const struct dash_filter *f, int page)
{
	buf_puts(b, "/?");
	if (f->level >= 0)
		buf_printf(b, "attention=%s&amp;", level_name((enum level)f->level));
	if (f->q != NULL && *f->q != '\0') {
		buf_puts(b, "q=");
		buf_urlenc(b, f->q);
		buf_puts(b, "&amp;");
	}
	buf_printf(b, "page=%d", page);
}

int
html_dashboard(struct buf *b, struct node_view *v, size_t n, int64_t now,
    const struct dash_filter *f)
{
	static const char *const lv[] = { "green", "yellow", "red" };
	size_t	 count[3] = { 0, 0, 0 }, shown = 0, matched = 0;
	size_t	 first = (size_t)(f->page - 1) * DASH_PAGE_ROWS;

	for (size_t i = 0; i < n; i++)
		count[v[i].level]++;
	page_head(b, "Fleet");
	buf_puts(b, "<section id=\"summary\" class=\"summary\">"
	    "<p class=\"fleet-line\">");
	if (n == 0)
		buf_puts(b, "No nodes enrolled yet");
	else if (count[LEVEL_GREEN] == n)
		buf_puts(b, "<span class=\"green\">Green fleet</span>");
	else
		buf_printf(b, "<span class=\"red\">%zu red</span> · "
		    "<span class=\"yellow\">%zu yellow</span> · "
		    "<span class=\"green\">%zu green</span>",
		    count[LEVEL_RED], count[LEVEL_YELLOW], count[LEVEL_GREEN]);
	buf_puts(b, "</p>");
	for (int l = LEVEL_RED; l >= LEVEL_GREEN; l--)
		buf_printf(b, "<a class=\"count %s\" href=\"/?attention=%s\">"
		    "%c%s<b>%zu</b></a>", lv[l], lv[l], lv[l][0] - 32, lv[l] + 1,
		    count[l]);
	buf_printf(b, "<a class=\"count\" href=\"/\">Nodes<b>%zu</b></a>"
	    "</section>", n);

	buf_puts(b, "<form id=\"filter\" method=\"get\" action=\"/\">"
	    "<label>Attention <select name=\"attention\"><option value=\"\">"
	    "all</option>");
	for (int l = LEVEL_RED; l >= LEVEL_GREEN; l--)
		buf_printf(b, "<option%s>%s</option>", f->level == l ?
		    " selected" : "", lv[l]);
	buf_puts(b, "</select></label> <label>Search <input name=\"q\" "
	    "maxlength=\"128\" value=\"");
	buf_html(b, f->q ? f->q : "");
	buf_puts(b, "\"></label> <button type=\"submit\">Filter</button>"
	    "</form>");

	/* Red first, then yellow, then green; by hostname within a level. */
	qsort(v, n, sizeof(*v), view_cmp);
	buf_puts(b, "<table id=\"nodes\"><thead><tr><th>Host</th>"
	    "<th class=\"hide-narrow\">Profile</th><th>Status</th>"
	    "<th>Last heartbeat</th><th>Attention</th><th>Reasons</th>"
	    "</tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		const struct node_view *x = &v[i];

		if (!matches(x, f))
			continue;
		if (matched++ < first || shown == DASH_PAGE_ROWS)
			continue;
		shown++;
		buf_printf(b, "<tr class=\"lvl-%s\"><td><a href=\"/nodes/%s\">",
		    level_name(x->level), x->node_id);
		buf_html(b, x->hostname);
		buf_puts(b, "</a></td><td class=\"hide-narrow\">");
		buf_html(b, x->os_profile);
		buf_printf(b, "</td><td>%s</td><td>", status_name(x->status));
		age(b, x->last_heartbeat_at, now);
		buf_puts(b, "</td><td>");
		level_badge(b, x->level);
		buf_puts(b, "</td><td>");
		reasons_list(b, x->reasons, x->node_id);
		buf_puts(b, "</td></tr>");
	}
	if (n == 0)
		buf_puts(b, "<tr><td colspan=\"6\" class=\"muted\">Start a node "
		    "agent pointed at this command center to see it here."
		    "</td></tr>");
	else if (matched == 0)
		buf_puts(b, "<tr><td colspan=\"6\" class=\"muted\">No node "
		    "matches this filter.</td></tr>");
	buf_puts(b, "</tbody></table>");
	if (matched > DASH_PAGE_ROWS) {
		buf_printf(b, "<nav class=\"pages\">Nodes %zu-%zu of %zu ",
		    shown ? first + 1 : 0, first + shown, matched);
		if (f->page > 1) {
			buf_puts(b, "<a href=\"");
			filter_link(b, f, f->page - 1);
			buf_puts(b, "\">previous</a> ");
		}
		if (first + shown < matched) {
			buf_puts(b, "<a href=\"");
			filter_link(b, f, f->page + 1);
			buf_puts(b, "\">next</a>");
		}
		buf_puts(b, "</nav>");
	}
	page_foot(b);
	return buf_failed(b) ? -1 : 0;
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
node_facts(struct buf *b, const struct node_view *v, json_t *hb, int64_t now)
{
	json_t		*svcs = json_object_get(hb, "services"), *e;
	json_t		*up = json_object_get(hb, "uptime_secs");
	const char	*cf = json_string_value(json_object_get(hb,
			    "cloudflare"));
	size_t		 i;

	buf_puts(b, "<section id=\"facts\"><h2>Facts</h2><dl>");
	fact(b, "Node ID", v->node_id);
	fact(b, "OS profile", v->os_profile);
	fact(b, "Agent version", v->agent_version);
	buf_puts(b, "<dt>Enrolled</dt><dd>");
	timestamp(b, v->enrolled_at);
	buf_puts(b, "</dd><dt id=\"heartbeat_stale\">Last heartbeat</dt><dd>");
	age(b, v->last_heartbeat_at, now);
	buf_puts(b, " (");
	timestamp(b, v->last_heartbeat_at);
	buf_puts(b, ")</dd>");
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
		buf_puts(b, "<dt id=\"cloudflare_down\">Cloudflare tunnel</dt><dd>");
		buf_html(b, cf ? cf : "unknown");
		buf_puts(b, "</dd>");
		fact(b, "Sent at", json_string_value(json_object_get(hb,
		    "sent_at")) ? json_string_value(json_object_get(hb,
		    "sent_at")) : "");
	}
	buf_puts(b, "<dt id=\"never_scanned\">Last scan</dt><dd>");
	age(b, v->last_scan_at, now);
	buf_puts(b, "</dd></dl></section>");

	buf_puts(b, "<section id=\"services_down\"><h2>Services</h2>");
	if (json_array_size(svcs) == 0) {
		buf_puts(b, "<p class=\"muted\">No services reported.</p>"
		    "</section>");
		return;
	}
	buf_puts(b, "<table id=\"services\"><thead><tr><th>Unit</th>"
	    "<th>State</th></tr></thead><tbody>");
	json_array_foreach(svcs, i, e) {
		const char *st = json_string_value(json_object_get(e, "state"));

		buf_puts(b, "<tr><td>");
		buf_html(b, json_string_value(json_object_get(e, "name")));
		buf_printf(b, "</td><td class=\"%s\">",
		    st && strcmp(st, "active") == 0 ? "green" :
		    st && (strcmp(st, "failed") == 0 ||
		    strcmp(st, "inactive") == 0) ? "red" : "muted");
		buf_html(b, st);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table></section>");
}

void
html_node_head(struct buf *b, const struct node_view *v, const char *hb_json,
    int64_t now, const char *error)
{
	json_t *hb = hb_json ? json_loads(hb_json, 0, NULL) : NULL;

	page_head(b, v->hostname);
	if (error != NULL) {
		buf_puts(b, "<p class=\"error\" role=\"alert\">Refused: ");
		buf_html(b, error);
		buf_puts(b, "</p>");
	}
	buf_puts(b, "<section id=\"node-head\"><h2>");
	buf_html(b, v->hostname);
	buf_puts(b, "</h2><p>");
	level_badge(b, v->level);
	buf_puts(b, " ");
	reasons_list(b, v->reasons, NULL);
	buf_printf(b, "</p></section>");
	node_facts(b, v, hb, now);

	buf_printf(b, "<section id=\"enrollment\"><h2>Enrollment</h2>"
	    "<p>Status: <strong>%s</strong></p>", status_name(v->status));
	if (v->status != NODE_APPROVED)
		buf_printf(b, "<form class=\"inline\" method=\"post\" "
		    "action=\"/nodes/%s/approve\"><button type=\"submit\">"
		    "Approve</button></form> ", v->node_id);
	if (v->status != NODE_REVOKED)
		buf_printf(b, "<form class=\"inline\" method=\"post\" "
		    "action=\"/nodes/%s/revoke\"><button class=\"danger\" "
		    "type=\"submit\">Revoke</button></form>", v->node_id);
	buf_puts(b, "</section>");
	json_decref(hb);
}

void
html_command_forms(struct buf *b, const struct node_view *v, unsigned allowed)
{
	buf_puts(b, "<section id=\"run\"><h2>Run a command</h2>");
	if (v->status != NODE_APPROVED) {
		buf_puts(b, "<p class=\"muted\">Only approved nodes take "
		    "commands.</p></section>");
		return;
	}
	if (allowed == 0) {
		buf_puts(b, "<p class=\"muted\">The policy allows no command "
		    "for this profile.</p></section>");
		return;
	}
	buf_puts(b, "<div class=\"forms\">");
	for (int i = 0; cmd_catalog[i].name != NULL; i++) {
		const char *name = cmd_catalog[i].name;

		if (!(allowed & (1u << i)))
			continue;
		buf_printf(b, "<form method=\"post\" action=\"/nodes/%s/"
		    "commands\" class=\"cmd\"><input type=\"hidden\" "
		    "name=\"command\" value=\"%s\"><strong>%s</strong> ",
		    v->node_id, name, name);
		if (strncmp(name, "service-", 8) == 0 ||
		    strcmp(name, "journal-tail") == 0)
			buf_puts(b, "<input name=\"unit\" required "
			    "placeholder=\"unit, e.g. cloudflared.service\" "
			    "aria-label=\"unit\">");
		if (strcmp(name, "journal-tail") == 0)
			buf_puts(b, " <input name=\"lines\" type=\"number\" "
			    "min=\"1\" max=\"500\" value=\"50\" "
			    "aria-label=\"lines\">");
		buf_puts(b, " <button type=\"submit\">Run</button></form>");
	}
	buf_puts(b, "</div></section>");
}

void
html_commands_begin(struct buf *b)
{
	buf_puts(b, "<section id=\"commands\"><h2>Commands</h2>"
	    "<table class=\"commands\"><thead><tr><th>Command</th>"
	    "<th>Queued</th><th>Status</th><th class=\"hide-narrow\">"
	    "Duration</th><th>Exit</th></tr></thead><tbody>");
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

	buf_printf(b, "<tr id=\"cmd-%s\"><td><strong>", c->command_id);
	buf_html(b, c->command);
	buf_puts(b, "</strong> <code>");
	buf_html(b, c->args);
	buf_puts(b, "</code></td><td>");
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
		buf_puts(b, "<tr class=\"output\"><td colspan=\"5\"><pre>");
		buf_html(b, c->output);
		buf_puts(b, "</pre></td></tr>");
	}
}

static const char *
severity_class(const char *sev)
{
	if (strcmp(sev, "critical") == 0 || strcmp(sev, "high") == 0)
		return "red";
	return strcmp(sev, "medium") == 0 ? "yellow" : "muted";
}

void
html_findings_begin(struct buf *b, const struct node_view *v, int64_t now)
{
	buf_puts(b, "<section id=\"findings\"><h2>Findings</h2>");
	if (v->last_scan_at == 0) {
		buf_puts(b, "<p class=\"muted\">Never scanned.</p>");
		return;
	}
	buf_puts(b, "<p>Latest scan ");
	age(b, v->last_scan_at, now);
	buf_printf(b, ": %d critical, %d high, %d medium, %d low, %d info.</p>",
	    v->findings[0], v->findings[1], v->findings[2], v->findings[3],
	    v->findings[4]);
}

void
html_finding(struct buf *b, const struct finding *f, char group[16])
{
	if (strcmp(group, f->severity) != 0) {
		if (group[0] != '\0')
			buf_puts(b, "</ul>");
		snprintf(group, 16, "%s", f->severity);
		/* critical_findings / high_findings: where attention links. */
		buf_printf(b, "<h3 id=\"%s_findings\" class=\"%s\">", group,
		    severity_class(group));
		buf_html(b, group);
		buf_puts(b, "</h3><ul class=\"findings\">");
	}
	buf_printf(b, "<li class=\"finding\"><span class=\"badge %s\">",
	    severity_class(f->severity));
	buf_html(b, f->severity);
	buf_puts(b, "</span> <strong>");
	buf_html(b, f->title);
	buf_puts(b, "</strong> <code>");
	buf_html(b, f->id);
	buf_puts(b, "</code><div>");
	buf_html(b, f->detail);
	buf_puts(b, "</div>");
	if (f->remediation != NULL && *f->remediation != '\0') {
		buf_puts(b, "<div class=\"muted\">Remediation: ");
		buf_html(b, f->remediation);
		buf_puts(b, "</div>");
	}
	buf_puts(b, "</li>");
}

void
html_findings_end(struct buf *b, const char *group, int scanned)
{
	if (group[0] != '\0')
		buf_puts(b, "</ul>");
	else if (scanned)
		buf_puts(b, "<p class=\"green\">No findings.</p>");
	buf_puts(b, "</section>");
}

void
html_scans_begin(struct buf *b)
{
	buf_puts(b, "<section id=\"scans\"><h2>Scan history</h2><table>"
	    "<thead><tr><th>Scanned</th><th>Critical</th><th>High</th>"
	    "<th>Medium</th><th>Low</th><th>Info</th></tr></thead><tbody>");
}

void
html_scan_row(struct buf *b, const struct scan_row *s, int64_t now)
{
	buf_printf(b, "<tr><td><a href=\"#cmd-%s\">", s->command_id);
	age(b, s->scanned_at, now);
	buf_printf(b, "</a></td><td class=\"%s\">%d</td><td class=\"%s\">%d"
	    "</td><td>%d</td><td>%d</td><td>%d</td></tr>",
	    s->counts[0] ? "red" : "", s->counts[0],
	    s->counts[1] ? "red" : "", s->counts[1], s->counts[2],
	    s->counts[3], s->counts[4]);
}

void
html_scans_end(struct buf *b, int any)
{
	if (!any)
		buf_puts(b, "<tr><td colspan=\"6\" class=\"muted\">No scans "
		    "yet.</td></tr>");
	buf_puts(b, "</tbody></table></section>");
}

void
html_commands_end(struct buf *b, int any)
{
	if (!any)
		buf_puts(b, "<tr><td colspan=\"5\" class=\"muted\">No commands "
		    "yet.</td></tr>");
	buf_puts(b, "</tbody></table></section>");
}

int
html_page_end(struct buf *b)
{
	page_foot(b);
	return buf_failed(b) ? -1 : 0;
}

void
html_audit_begin(struct buf *b)
{
	page_head(b, "Audit log");
	buf_puts(b, "<section id=\"audit\"><h2>Audit log</h2><table><thead>"
	    "<tr><th>When</th><th>Who</th><th class=\"hide-narrow\">From</th>"
	    "<th>Action</th><th>Target</th><th>Detail</th><th>Result</th>"
	    "</tr></thead><tbody>");
}

void
html_audit_row(struct buf *b, int64_t id, const struct audit_rec *a)
{
	buf_printf(b, "<tr id=\"audit-%lld\"><td>", (long long)id);
	timestamp(b, a->at);
	buf_puts(b, "</td><td>");
	buf_html(b, a->who);
	buf_puts(b, "</td><td class=\"hide-narrow\">");
	buf_html(b, a->peer);
	buf_puts(b, "</td><td>");
	buf_html(b, a->action);
	buf_puts(b, "</td><td>");
	if (uuid_valid(a->target))
		buf_printf(b, "<a href=\"/nodes/%s\">%s</a>", a->target,
		    a->target);
	else
		buf_html(b, a->target);
	buf_puts(b, "</td><td><code>");
	buf_html(b, a->detail);
	buf_printf(b, "</code></td><td class=\"%s\">", strcmp(a->result,
	    "ok") == 0 ? "green" : "red");
	buf_html(b, a->result);
	buf_puts(b, "</td></tr>");
}

void
html_audit_end(struct buf *b, int n, int64_t older)
{
	if (n == 0)
		buf_puts(b, "<tr><td colspan=\"7\" class=\"muted\">No operator "
		    "actions yet.</td></tr>");
	buf_puts(b, "</tbody></table>");
	if (older > 0)
		buf_printf(b, "<nav class=\"pages\"><a href=\"/audit?before="
		    "%lld\">older</a></nav>", (long long)older);
	buf_puts(b, "</section>");
	page_foot(b);
}

int
json_node(struct buf *b, const struct node_view *v, const char *hb_json)
{
	static const char *const sev[FINDING_SEVERITIES] = {
		"critical", "high", "medium", "low", "info" };
	char	 ts[32];
	int	 first = 1;

	buf_printf(b, "{\"node_id\":\"%s\",\"hostname\":", v->node_id);
	buf_json_str(b, v->hostname);
	buf_puts(b, ",\"os_profile\":");
	buf_json_str(b, v->os_profile);
	buf_puts(b, ",\"agent_version\":");
	buf_json_str(b, v->agent_version);
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
	buf_printf(b, "},\"heartbeat\":%s", hb_json ? hb_json : "null");
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
