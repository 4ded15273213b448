/* The operator endpoints: dashboard, node pages, node list, approve/revoke. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "dispatch.h"
#include "html.h"
#include "html_approvals.h"
#include "keys.h"
#include "target.h"
#include "views.h"
#include "metrics.h"
#include "policy.h"
#include "roles.h"
#include "webhooks.h"
#include "replica.h"
#include "routes.h"
#include "log.h"
#include "util.h"

#define PAGE_MAX (64u << 20)
#define PATH_Q 1040 /* a quoted request path */

/* The node id of /nodes/<id>/..., or NULL after answering 400. */
const char *
node_id_param(struct req *r)
{
	const char *id = req_param(r);

	if (id == NULL || !uuid_valid(id)) {
		resp_error(r, 400, "invalid_node_id",
		    "the node id must be a lowercase UUID");
		return NULL;
	}
	/* Replicas: a node enrolled elsewhere a moment ago is read now. */
	if (store_shared(app.store) && !fleet_known(app.fleet, id))
		(void)replica_catch_up();
	return id;
}

/*
 * 1 if the Host header names this command center: a loopback name or
 * address (any port), or VAULTMESH_PUBLIC_HOST. A DNS-rebinding page
 * reaches a loopback port under its own name, so it is refused here.
 */
static int
host_allowed(const char *host)
{
	char	    name[256];
	const char *colon, *pub = app.cfg.public_host;
	size_t	    n;

	if (host == NULL || (n = strlen(host)) == 0 || n >= sizeof(name))
		return 0;
	if (host[0] == '[') { /* [v6]:port */
		const char *close = strchr(host, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return 0;
		n = (size_t)(close - host - 1);
		memcpy(name, host + 1, n);
	} else {
		colon = strchr(host, ':');
		n = colon != NULL ? (size_t)(colon - host) : n;
		memcpy(name, host, n);
	}
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0 || addr_is_loopback(name))
		return 1;
	if (pub == NULL)
		return 0;
	/* The configured name, with or without its port. */
	if (strcasecmp(host, pub) == 0 || strcasecmp(name, pub) == 0)
		return 1;
	return pub[0] == '[' && strlen(pub) == n + 2 &&
	    strncasecmp(pub + 1, name, n) == 0 && pub[n + 1] == ']';
}

/*
 * The Host check applies whenever operators are not authenticated by
 * Access, and with Access too once VAULTMESH_PUBLIC_HOST names the host
 * (Access alone already defeats rebinding: the attacker's page has no
 * Access cookie for its own name).
 */
int
host_gate(struct req *r)
{
	const char *host = req_header(r, "Host");
	char	    q[300], p[PATH_Q];

	if (app.access != NULL && app.cfg.public_host == NULL)
		return 0;
	if (host_allowed(host))
		return 0;
	log_warn("host_refused", "host=%s path=%s peer=%s",
	    log_quote(q, sizeof(q), host ? host : ""),
	    log_quote(p, sizeof(p), req_path(r)), req_peer(r));
	resp_error(r, 421, "host_not_allowed",
	    "this command center answers "
	    "operators only under a loopback name or VAULTMESH_PUBLIC_HOST");
	return -1;
}

/*
 * Cross-site request forgery: a browser says where a request comes from
 * (Sec-Fetch-Site, which no page can set; Origin on every POST). A
 * state-changing operator request is refused when either says another
 * site; Sec-Fetch-Site "same-origin" settles it (an "Origin: null" beside
 * it is a privacy setting, not another site). API clients that send
 * neither (curl, scripts) are not browsers and cannot be forged this way.
 */
static int
cross_site(struct req *r)
{
	const char *sfs = req_header(r, "Sec-Fetch-Site");
	const char *origin = req_header(r, "Origin");
	const char *host = req_header(r, "Host");
	const char *p;

	if (sfs != NULL && strcmp(sfs, "same-origin") == 0)
		return 0;
	if (sfs != NULL && strcmp(sfs, "none") != 0)
		return 1;
	if (origin == NULL)
		return 0;
	if ((p = strstr(origin, "://")) == NULL || host == NULL)
		return 1;
	return strcmp(p + 3, host) != 0;
}

/*
 * The operator routes' gate, when the headers are in: the Host, then the
 * Cloudflare Access token when Access is configured (its identity is
 * recorded), then, for a request that changes state, its origin.
 */
static int
node_known(const char *id)
{
	struct node_view v;

	return fleet_get(app.fleet, id, time(NULL), &v, NULL) == 0;
}

/* Operators' browsers get errors as pages, with a way back. */
static void
error_page(struct req *r, struct buf *b, unsigned status, const char *code,
    const char *msg)
{
	const char *id = req_param(r);
	char	    back[64];

	/* Back to the node's page when there is one to go back to. */
	if (id != NULL && uuid_valid(id) && strcmp(code, "unknown_node") != 0 &&
	    strncmp(req_path(r), "/nodes/", 7) == 0 && node_known(id)) {
		snprintf(back, sizeof(back), "/nodes/%s", id);
		html_error(b, status, code, msg, back, "Back to the node");
	} else
		html_error(b, status, code, msg, "/", "Back to the fleet");
}

/*
 * The gate of every operator route, for the role it needs: Host, Access
 * (its identity and role recorded), CSRF, then the role.
 */
static int
gate(struct req *r, enum role need)
{
	struct access_groups g;
	const char	    *jwt;
	char		     who[256], why[160], q[200], p[PATH_Q];
	enum role	     role = ROLE_ADMIN; /* local: the one operator */

	req_set_error_page(r, error_page);
	if (host_gate(r) == -1)
		return -1;
	if (app.access == NULL)
		goto csrf;
	if ((jwt = req_header(r, "Cf-Access-Jwt-Assertion")) == NULL)
		jwt = req_cookie(r, "CF_Authorization");
	if (jwt == NULL || *jwt == '\0') {
		log_warn("access_denied", "path=%s peer=%s reason=no_token",
		    log_quote(p, sizeof(p), req_path(r)), req_peer(r));
		resp_error(r, 403, "access_denied",
		    "a Cloudflare Access token is required");
		return -1;
	}
	if (access_verify_groups(app.access, jwt, time(NULL), who, sizeof(who),
		&g, why, sizeof(why)) == -1) {
		log_warn("access_denied", "path=%s peer=%s reason=%s",
		    log_quote(p, sizeof(p), req_path(r)), req_peer(r),
		    log_quote(q, sizeof(q), why));
		resp_error(r, 403, "access_denied",
		    "the Cloudflare Access token was refused: %s", why);
		return -1;
	}
	req_set_who(r, who);
	role = roles_of(who, g.name, g.n);
csrf:
	req_set_role(r, (int)role);
	if (strcmp(req_method(r), "GET") != 0 &&
	    strcmp(req_method(r), "HEAD") != 0 && cross_site(r)) {
		log_warn("csrf_refused", "path=%s peer=%s",
		    log_quote(p, sizeof(p), req_path(r)), req_peer(r));
		resp_error(r, 403, "cross_site_request",
		    "this form was posted from another site");
		return -1;
	}
	if (role < need) {
		log_warn("role_refused", "path=%s who=%s role=%s needs=%s",
		    log_quote(p, sizeof(p), req_path(r)),
		    log_quote(q, sizeof(q), operator_of(r)), role_names[role],
		    role_names[need]);
		resp_error_field(r, 403, "role_required", "role",
		    role_names[need], "this needs the %s role (you have %s)",
		    role_names[need], role_names[role]);
		return -1;
	}
	return 0;
}

int
operator_gate(struct req *r)
{
	return gate(r, ROLE_VIEWER);
}

int
operator_gate_operator(struct req *r)
{
	return gate(r, ROLE_OPERATOR);
}

int
operator_gate_approver(struct req *r)
{
	return gate(r, ROLE_APPROVER);
}

int
operator_gate_admin(struct req *r)
{
	return gate(r, ROLE_ADMIN);
}

enum role
operator_role(struct req *r)
{
	return (enum role)req_role(r);
}

/*
 * Who is acting: the verified Access identity, or "local" without Access
 * (a header a client sets proves nothing, so none is believed).
 */
const char *
operator_of(struct req *r)
{
	if (app.access != NULL)
		return req_who(r) ? req_who(r) : "unknown";
	return "local";
}

/*
 * Where the operator is: Cloudflare's client address, only for a request
 * whose Access token was verified (it came through Cloudflare); the
 * socket's peer otherwise.
 */
const char *
operator_peer(struct req *r)
{
	const char *ip = req_header(r, "Cf-Connecting-IP");

	if (app.access == NULL || req_who(r) == NULL)
		return req_peer(r);
	return ip != NULL && *ip != '\0' && strlen(ip) <= 45 &&
		strspn(ip, "0123456789abcdefABCDEF.:") == strlen(ip) ?
	    ip :
	    req_peer(r);
}

void
audit(struct req *r, const char *action, const char *target, const char *detail,
    const char *result)
{
	audit_record(operator_of(r), operator_peer(r), action, target, detail,
	    result);
}

struct audit_page {
	struct buf *b;
	int	    html;
	int	    n;
	int64_t	    last_id;
};

static int
audit_row(int64_t id, const struct audit_rec *a, void *arg)
{
	struct audit_page *p = arg;
	char		   ts[32], host[HOSTNAME_MAX + 1];
	int		   have_host;

	time_rfc3339((time_t)a->at, ts);
	/* A node's hostname beside its id (a deleted node's too). */
	have_host = uuid_valid(a->target) &&
	    fleet_hostname(app.fleet, a->target, host, sizeof(host)) == 0;
	if (p->html)
		html_audit_row(p->b, id, a, have_host ? host : NULL);
	else {
		buf_printf(p->b,
		    "%s{\"id\":%lld,\"at\":\"%s\",\"who\":", p->n ? "," : "",
		    (long long)id, ts);
		buf_json_str(p->b, a->who);
		buf_json_field(p->b, "peer", a->peer);
		buf_json_field(p->b, "action", a->action);
		buf_json_field(p->b, "target", a->target);
		if (have_host) {
			buf_json_field(p->b, "target_hostname", host);
		}
		buf_json_field(p->b, "detail", a->detail);
		buf_json_field(p->b, "result", a->result);
		buf_putc(p->b, '}');
	}
	p->n++;
	p->last_id = id;
	return buf_failed(p->b) ? -1 : 0;
}

void
h_audit(struct req *r)
{
	struct audit_page   p = { NULL, 0, 0, 0 };
	struct audit_filter flt = { 0, NULL, NULL };
	const char	   *acc = req_header(r, "Accept");
	const char	   *before = req_query(r, "before");
	const char	   *action = req_query(r, "action");
	const char	   *node = req_query(r, "node");
	struct buf	    b;
	char		   *end;
	int		    rc;

	if (before != NULL && *before != '\0') {
		errno = 0;
		flt.before = strtoll(before, &end, 10);
		if (errno != 0 || *end != '\0' || flt.before < 1) {
			resp_error(r, 400, "invalid_field",
			    "before: must be an audit entry id");
			return;
		}
	}
	if (action != NULL && *action != '\0') {
		if (strlen(action) > 32 ||
		    strspn(action, "abcdefghijklmnopqrstuvwxyz_") !=
			strlen(action)) {
			resp_error(r, 400, "invalid_field",
			    "action: a name like queue, approve or revoke");
			return;
		}
		flt.action = action;
	}
	if (node != NULL && *node != '\0') {
		if (!uuid_valid(node)) {
			resp_error(r, 400, "invalid_field",
			    "node: must be a lowercase UUID");
			return;
		}
		flt.target = node;
	}
	buf_init(&b, PAGE_MAX);
	p.b = &b;
	/* Browsers get the page; API clients (curl, scripts) the JSON. */
	p.html = acc != NULL && strstr(acc, "text/html") != NULL;
	if (p.html)
		html_audit_begin(&b, &flt);
	else
		buf_puts(&b, "{\"entries\":[");
	rc = store_audit_list(app.store, &flt, 200, audit_row, &p);
	if (rc == -1) {
		buf_free(&b);
		resp_error(r, 503, "store_unavailable",
		    "the audit log could not be read");
		return;
	}
	if (p.html) {
		html_audit_end(&b, p.n, p.n == 200 ? p.last_id : 0, &flt);
		resp_html(r, 200, &b);
	} else {
		buf_puts(&b, "]}");
		resp_json(r, 200, &b);
	}
}

#define NODES_BATCH 256

struct nodes_stream {
	int64_t		    now;
	struct views_cursor cur;
	int		    opened; /* '[' written */
	size_t		    any;    /* nodes written */
};

/* The next NODES_BATCH nodes of GET /nodes (views.c). */
static int
nodes_part(void *arg, struct buf *out)
{
	struct nodes_stream *ns = arg;
	struct node_view    *v;
	char		   **hb = NULL;
	size_t		     n;

	if (!ns->opened) {
		buf_putc(out, '[');
		ns->opened = 1;
	}
	if ((v = views_list(ns->now, &ns->cur, NODES_BATCH, &n, &hb)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (ns->any++ > 0)
			buf_putc(out, ',');
		json_node(out, &v[i], hb[i]);
		free(hb[i]);
	}
	free(hb);
	free(v);
	if (ns->cur.done) {
		buf_putc(out, ']');
		return 0;
	}
	return 1;
}

void
h_nodes_json(struct req *r)
{
	struct nodes_stream *ns;

	if ((ns = calloc(1, sizeof(*ns))) == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		return;
	}
	ns->now = time(NULL);
	if (views_ready(ns->now) == -1) {
		free(ns);
		resp_error(r, 503, "store_unavailable",
		    "the nodes could not be read");
		return;
	}
	resp_stream(r, 200, "application/json", nodes_part, ns, free);
}

/*
 * Which part of a page to answer: ?fragment=live (the poll), every
 * section for an htmx request (a form or the filter), else the page. A
 * history restore asks for the whole page.
 */
static int
page_part(struct req *r, enum page_part *part)
{
	const char *frag = req_query(r, "fragment");

	*part = PART_PAGE;
	if (frag != NULL && *frag != '\0') {
		if (strcmp(frag, "live") != 0) {
			resp_error(r, 400, "invalid_field",
			    "fragment: must be live");
			return -1;
		}
		*part = PART_LIVE;
	} else if (req_header(r, "HX-Request") != NULL &&
	    req_header(r, "HX-History-Restore-Request") == NULL)
		*part = PART_ALL;
	return 0;
}

struct hist_acc {
	struct fleet_sample *s;
	size_t		     n, cap;
};

static int
hist_row(const struct fleet_sample *fs, void *arg)
{
	struct hist_acc	    *h = arg;
	struct fleet_sample *ns;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		if ((ns = realloc(h->s, h->cap * sizeof(*ns))) == NULL)
			return -1;
		h->s = ns;
	}
	h->s[h->n++] = *fs;
	return 0;
}

void
h_dashboard(struct req *r)
{
	char current_key[33];
	static const struct {
		const char *name;
		int64_t	    secs;
	} ranges[] = { { "1d", 86400 }, { "7d", 7 * 86400 },
		{ "30d", 30 * 86400 } };
	struct node_view  *v;
	struct dash_filter f = { -1, NULL, 1, NULL, NULL, NULL };
	struct target	   sel;
	char		   err[256];
	struct dash_view   d;
	struct hist_acc	   hist = { NULL, 0, 0 };
	enum page_part	   part;
	const char	  *lvl = req_query(r, "attention");
	const char	  *page = req_query(r, "page");
	const char	  *range = req_query(r, "range");
	size_t		   n, ri = 0;
	struct buf	   b;
	int64_t		   now = time(NULL);
	char		  *end;
	long		   pg;

	if (page_part(r, &part) == -1)
		return;
	if (lvl != NULL && *lvl != '\0') {
		if (strcmp(lvl, "red") == 0)
			f.level = LEVEL_RED;
		else if (strcmp(lvl, "yellow") == 0)
			f.level = LEVEL_YELLOW;
		else if (strcmp(lvl, "green") == 0)
			f.level = LEVEL_GREEN;
		else if (strcmp(lvl, "revoked") == 0)
			f.level = FLEET_REVOKED;
		else {
			resp_error(r, 400, "invalid_field",
			    "attention: must be red, yellow, green or revoked");
			return;
		}
	}
	f.q = req_query(r, "q");
	f.labels = req_query(r, "labels");
	f.os_profile = req_query(r, "os_profile");
	f.hostname = req_query(r, "hostname");
	if (target_from_fields(f.labels, f.os_profile, NULL, f.hostname, NULL,
		&sel, err, sizeof(err)) == -1) {
		target_free(&sel);
		resp_error(r, 400, "invalid_field", "%s", err);
		return;
	}
	if (f.q != NULL && (strlen(f.q) > 128 || !str_printable(f.q, 128))) {
		resp_error(r, 400, "invalid_field",
		    "q: at most 128 printable characters");
		return;
	}
	if (page != NULL && *page != '\0') {
		pg = strtol(page, &end, 10);
		if (*end != '\0' || pg < 1 || pg > 1000000) {
			resp_error(r, 400, "invalid_field",
			    "page: must be a page number");
			return;
		}
		f.page = (int)pg;
	}
	if (range != NULL && *range != '\0') {
		for (ri = 0; ri < 3 && strcmp(range, ranges[ri].name) != 0;
		     ri++)
			;
		if (ri == 3) {
			resp_error(r, 400, "invalid_field",
			    "range: must be 1d, 7d or 30d");
			return;
		}
	}
	/*
	 * About 300 points whatever the range: the newest of each bucket. A
	 * history younger than the range is drawn from its start, so it is
	 * read again in buckets that fit its age.
	 */
	if (store_fleet_history(app.store, now - ranges[ri].secs,
		ranges[ri].secs / 300, hist_row, &hist) == -1)
		hist.n = 0; /* the picture shows only the present */
	if (hist.n > 0 && hist.n < 300 && ranges[ri].secs / 300 > 1 &&
	    (now - hist.s[0].at) / 300 < ranges[ri].secs / 300) {
		int64_t since = hist.s[0].at - ranges[ri].secs / 300;

		hist.n = 0;
		if (store_fleet_history(app.store, since,
			(now - since) / 300 + 1, hist_row, &hist) == -1)
			hist.n = 0;
	}
	memset(&d, 0, sizeof(d));
	v = views_page(now, f.level, f.q,
	    target_is_all(&sel) ? NULL : target_match, &sel,
	    (size_t)(f.page - 1) * DASH_PAGE_ROWS, DASH_PAGE_ROWS, &n, &d.c);
	target_free(&sel);
	if (v == NULL) {
		free(hist.s);
		resp_error(r, 503, "unavailable",
		    "the nodes could not be read");
		return;
	}
	d.v = v;
	d.n = n;
	d.now = now;
	d.role = operator_role(r);
	keys_current(NULL, current_key, NULL);
	d.current_key = current_key;
	d.f = &f;
	d.range = ranges[ri].name;
	d.range_secs = ranges[ri].secs;
	d.hist = hist.s;
	d.nhist = hist.n;
	buf_init(&b, PAGE_MAX);
	html_dash(&b, &d, part);
	free(v);
	free(hist.s);
	resp_html(r, 200, &b);
}

/* What the node page lists, gathered from the store. */
struct node_acc {
	struct buf	  *b; /* findings, then commands */
	int64_t		   now;
	int		   any;
	char		   group[16];
	struct scan_point *scans; /* newest first as read */
	size_t		   nscans;
	struct hb_sample  *samples;
	size_t		   nsamples, cap;
};

static int
finding_row(const struct finding *f, void *arg)
{
	struct node_acc *h = arg;

	html_finding(h->b, f, h->group);
	return buf_failed(h->b) ? -1 : 0;
}

static int
history_row(const struct cmd_row *c, void *arg)
{
	struct node_acc *h = arg;

	h->any = 1;
	html_command_row(h->b, c, h->now);
	return buf_failed(h->b) ? -1 : 0;
}

#define SCANS_SHOWN 30

static int
scan_row(const struct scan_row *sr, void *arg)
{
	struct node_acc	  *h = arg;
	struct scan_point *p;

	if (h->nscans == SCANS_SHOWN)
		return 0;
	p = &h->scans[h->nscans++];
	snprintf(p->command_id, sizeof(p->command_id), "%s", sr->command_id);
	p->scanned_at = sr->scanned_at;
	memcpy(p->counts, sr->counts, sizeof(p->counts));
	return 0;
}

static int
sample_row(const struct hb_sample *hs, void *arg)
{
	struct node_acc	 *h = arg;
	struct hb_sample *ns;

	if (h->nsamples == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		if ((ns = realloc(h->samples, h->cap * sizeof(*ns))) == NULL)
			return -1;
		h->samples = ns;
	}
	h->samples[h->nsamples++] = *hs;
	return 0;
}

void
node_page(struct req *r, const char *id, unsigned status, const char *error)
{
	node_page_refused(r, id, status, error, NULL);
}

void
node_page_refused(struct req *r, const char *id, unsigned status,
    const char *error, const char *command)
{
	char		  current_key[33];
	struct node_view  v;
	struct node_parts p;
	struct node_acc	  h;
	struct scan_point scans[SCANS_SHOWN], tmp;
	enum page_part	  part;
	char		 *hb = NULL, peer[160];
	struct buf	  b, findings, commands, appr;
	int64_t		  now = time(NULL);

	if (page_part(r, &part) == -1)
		return;
	if (fleet_get(app.fleet, id, now, &v, &hb) == -1) {
		resp_error(r, 404, "unknown_node", "no node with this id");
		return;
	}
	buf_init(&b, PAGE_MAX);
	if (req_wants_json(r) && error == NULL) {
		json_node(&b, &v, hb);
		resp_json(r, 200, &b);
		free(hb);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.now = now;
	h.scans = scans;
	buf_init(&findings, PAGE_MAX);
	buf_init(&commands, PAGE_MAX);
	store_scans_list(app.store, id, SCANS_SHOWN, scan_row, &h);
	/* The pictures run oldest to newest. */
	for (size_t i = 0; i < h.nscans / 2; i++) {
		tmp = scans[i];
		scans[i] = scans[h.nscans - 1 - i];
		scans[h.nscans - 1 - i] = tmp;
	}
	if (store_hb_history(app.store, id, now - HB_SAMPLE_KEEP, sample_row,
		&h) == -1)
		h.nsamples = 0;
	/* The newest scan's findings. */
	h.b = &findings;
	if (h.nscans > 0)
		store_findings(app.store, scans[h.nscans - 1].command_id,
		    finding_row, &h);
	if (h.group[0] != '\0')
		buf_puts(&findings, "</ul>");
	h.b = &commands;
	store_commands_list(app.store, id, NULL, NODE_COMMANDS_SHOWN,
	    history_row, &h);

	memset(&p, 0, sizeof(p));
	p.v = &v;
	p.hb_json = hb;
	p.now = now;
	p.role = operator_role(r);
	keys_current(NULL, current_key, NULL);
	p.current_key = current_key;
	p.error = error;
	p.allowed = policy_allowed(v.os_profile);
	p.scans = scans;
	p.nscans = h.nscans;
	p.samples = h.samples;
	p.nsamples = h.nsamples;
	p.findings = buf_failed(&findings) ? NULL : findings.p;
	p.commands = buf_failed(&commands) ? NULL : commands.p;
	p.any_commands = h.any;
	buf_init(&appr, 4u << 20);
	if (approvals_rows(&appr, r, id, NULL) > 0 && !buf_failed(&appr))
		p.approvals = appr.p;
	if (store_node_enroll_peer(app.store, id, peer, sizeof(peer)) == -1)
		peer[0] = '\0';
	p.enroll_peer = peer;
	if (command != NULL && error != NULL) {
		p.refused_cmd = command;
		p.typed_unit = req_form(r, "unit");
		p.typed_lines = req_form(r, "lines");
	}
	html_node(&b, &p, part);
	buf_free(&findings);
	buf_free(&commands);
	buf_free(&appr);
	free(h.samples);
	resp_html(r, status, &b);
	free(hb);
}

void
h_node_page(struct req *r)
{
	const char *id;

	if ((id = node_id_param(r)) != NULL)
		node_page(r, id, 200, NULL);
}

static void
set_status(struct req *r, enum node_status st)
{
	const char *id;
	struct buf  b;
	char	    loc[64], who[300];

	if ((id = node_id_param(r)) == NULL)
		return;
	switch (fleet_set_status(app.fleet, id, st)) {
	case -2:
		resp_error(r, 404, "unknown_node", "no node with this id");
		return;
	case -1:
		audit(r, st == NODE_REVOKED ? "revoke" : "approve", id, NULL,
		    "store_unavailable");
		resp_error(r, 503, "store_unavailable",
		    "the change could not be stored; nothing changed");
		return;
	}
	audit(r, st == NODE_REVOKED ? "revoke" : "approve", id, NULL, "ok");
	if (st == NODE_REVOKED) /* a parked poll of the node ends now */
		dispatch_wake(id);
	log_info("node_status", "node_id=%s status=%s by=%s peer=%s", id,
	    status_name(st), log_quote(who, sizeof(who), operator_of(r)),
	    req_peer(r));
	/* htmx: every section of the node page at once, no round trip. */
	if (req_header(r, "HX-Request") != NULL && !req_wants_json(r)) {
		node_page(r, id, 200, NULL);
		return;
	}
	if (req_is_form(r) && !req_wants_json(r)) {
		snprintf(loc, sizeof(loc), "/nodes/%s", id);
		resp_redirect(r, loc);
		return;
	}
	buf_init(&b, 128);
	buf_printf(&b, "{\"ok\":true,\"status\":\"%s\"}", status_name(st));
	resp_json(r, 200, &b);
}

/*
 * Deletes a node (reject: only a pending one). Its token stops working
 * before the answer, it leaves the dashboard and GET /nodes, and its
 * commands, scans and audit entries stay.
 */
static void
remove_node(struct req *r, int reject)
{
	const char *id, *action = reject ? "reject" : "delete";
	struct buf  b;
	char	    who[300];

	if ((id = node_id_param(r)) == NULL)
		return;
	switch (fleet_delete(app.fleet, id, reject)) {
	case -2:
		resp_error(r, 404, "unknown_node", "no node with this id");
		return;
	case -3:
		audit(r, action, id, NULL, "not_pending");
		resp_error(r, 409, "not_pending",
		    "only a pending node can be "
		    "rejected; delete an enrolled node instead");
		return;
	case -1:
		audit(r, action, id, NULL, "store_unavailable");
		resp_error(r, 503, "store_unavailable",
		    "the change could not be stored; nothing changed");
		return;
	}
	audit(r, action, id, NULL, "ok");
	dispatch_wake(id); /* a parked poll of the node ends now */
	log_info("node_removed", "node_id=%s action=%s by=%s peer=%s", id,
	    action, log_quote(who, sizeof(who), operator_of(r)), req_peer(r));
	/* The node page is gone: back to the fleet (htmx navigates there). */
	if (!req_wants_json(r) && req_header(r, "HX-Request") != NULL) {
		resp_hx_redirect(r, "/");
		return;
	}
	if (!req_wants_json(r) && req_is_form(r)) {
		resp_redirect(r, "/");
		return;
	}
	buf_init(&b, 128);
	buf_printf(&b, "{\"ok\":true,\"node_id\":\"%s\",\"status\":\"%s\"}", id,
	    reject ? "rejected" : "deleted");
	resp_json(r, 200, &b);
}

void
h_node_confirm(struct req *r)
{
	const char	*id, *path = req_path(r), *action;
	struct node_view v;
	struct buf	 b;

	if ((id = node_id_param(r)) == NULL)
		return;
	action = strrchr(path, '/') + 1; /* the route ends in one */
	if (fleet_get(app.fleet, id, time(NULL), &v, NULL) == -1) {
		resp_error(r, 404, "unknown_node", "no node with this id");
		return;
	}
	buf_init(&b, 64 * 1024);
	html_confirm(&b, &v, action);
	resp_html(r, 200, &b);
}

void
h_node_reject(struct req *r)
{
	remove_node(r, 1);
}

void
h_node_delete(struct req *r)
{
	remove_node(r, 0);
}

void
h_node_approve(struct req *r)
{
	set_status(r, NODE_APPROVED);
}

void
h_node_revoke(struct req *r)
{
	set_status(r, NODE_REVOKED);
}

void
h_metrics(struct req *r)
{
	struct buf b;

	buf_init(&b, 1u << 20);
	if (metrics_render(&b, time(NULL)) == -1 || replica_metrics(&b) == -1 ||
	    webhooks_metrics(&b) == -1) {
		buf_free(&b);
		resp_error(r, 503, "unavailable", "metrics could not be read");
		return;
	}
	resp_metrics(r, &b);
}

/*
 * Replaces a node's labels: a JSON body {"labels": {...}} (PUT or POST),
 * or a form's "labels" text of key=value pairs (the node page). Audited.
 */
void
h_node_labels(struct req *r)
{
	const char *id, *text;
	json_t	   *root = NULL;
	char	    labels[LABELS_JSON_MAX + 1], err[160], loc[64];
	int	    form = req_is_form(r) && !req_wants_json(r);
	struct buf  b;

	if ((id = node_id_param(r)) == NULL)
		return;
	if (form) {
		text = req_form(r, "labels");
		if (validate_labels_text(text != NULL ? text : "", labels,
			sizeof(labels), err, sizeof(err)) == -1) {
			audit(r, "labels", id, NULL, "invalid_field");
			resp_error(r, 400, "invalid_field", "%s", err);
			return;
		}
	} else {
		if ((root = parse_body(r)) == NULL)
			return;
		if (validate_labels(json_object_get(root, "labels"), labels,
			sizeof(labels), err, sizeof(err)) == -1) {
			json_decref(root);
			audit(r, "labels", id, NULL, "invalid_field");
			resp_error(r, 400, "invalid_field", "%s", err);
			return;
		}
		json_decref(root);
	}
	switch (fleet_set_labels(app.fleet, id, labels)) {
	case -2:
		resp_error(r, 404, "unknown_node", "no node with this id");
		return;
	case -1:
		audit(r, "labels", id, labels, "store_unavailable");
		resp_error(r, 503, "store_unavailable",
		    "the change could not be stored; nothing changed");
		return;
	}
	audit(r, "labels", id, labels, "ok");
	if (form) {
		snprintf(loc, sizeof(loc), "/nodes/%s", id);
		resp_redirect(r, loc);
		return;
	}
	buf_init(&b, 64 + sizeof(labels));
	buf_printf(&b, "{\"labels\":%s}", labels);
	resp_json(r, 200, &b);
}

void
h_healthz(struct req *r)
{
	struct buf b;

	buf_init(&b, 96);
	/*
	 * A replica that has not heard its database lately is down: the
	 * load balancer sends agents and operators to another one.
	 */
	if (!replica_fresh()) {
		buf_printf(&b, "{\"ok\":false,\"store\":\"down\"}");
		resp_json(r, 503, &b);
		return;
	}
	buf_puts(&b, "{\"ok\":true}");
	resp_json(r, 200, &b);
}

/* ---- approvals shown on other pages (approvals_api.c has the list) ---- */

struct one_ctx {
	struct buf *b;
	struct req *r;
	int	    n;
	int64_t	    now;
};

static int
one_row(const struct approval_rec *a, void *arg)
{
	struct one_ctx *c = arg;

	html_approval_row(c->b, a, operator_of(c->r), operator_role(c->r),
	    c->now);
	c->n++;
	return buf_failed(c->b) ? -1 : 0;
}

int
approvals_rows(struct buf *b, struct req *r, const char *node_id,
    const char *id)
{
	struct one_ctx c = { b, r, 0, time(NULL) };
	int	       rc;

	html_approvals_section_begin(b);
	if (id != NULL)
		rc = store_approval_get(app.store, id, one_row, &c);
	else
		rc = store_approvals(app.store, "awaiting_approval", node_id,
		    200, one_row, &c);
	html_approvals_section_end(b);
	return rc == -1 ? -1 : c.n;
}
