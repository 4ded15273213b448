/* The operator endpoints: dashboard, node pages, node list, approve/revoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc.h"
#include "log.h"
#include "util.h"

#define PAGE_MAX	(64u << 20)

extern const char vm_css[];

/* The node id of /nodes/<id>/..., or NULL after answering 400. */
const char *
node_id_param(struct req *r)
{
	const char *id = req_param(r);

	if (id == NULL || !uuid_valid(id)) {
		resp_error(r, 400, "invalid_node_id", "the node id must be a "
		    "lowercase UUID");
		return NULL;
	}
	return id;
}

/* Who is acting: the Access identity when present, otherwise "local". */
const char *
operator_of(struct req *r)
{
	const char *who = req_header(r, "Cf-Access-Authenticated-User-Email");

	return who != NULL && str_printable(who, 254) && *who ? who : "local";
}

void
h_nodes_json(struct req *r)
{
	struct node_view	*v;
	char			**hb = NULL;
	size_t			 n;
	struct buf		 b;

	if ((v = fleet_list(app.fleet, time(NULL), &n, &hb)) == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		return;
	}
	buf_init(&b, PAGE_MAX);
	buf_putc(&b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(&b, ',');
		json_node(&b, &v[i], hb[i]);
		free(hb[i]);
	}
	buf_putc(&b, ']');
	free(hb);
	free(v);
	resp_json(r, 200, &b);
}

void
h_dashboard(struct req *r)
{
	struct node_view	*v;
	size_t			 n;
	struct buf		 b;
	int64_t			 now = time(NULL);

	if ((v = fleet_list(app.fleet, now, &n, NULL)) == NULL) {
		resp_error(r, 503, "unavailable", "out of memory");
		return;
	}
	buf_init(&b, PAGE_MAX);
	html_dashboard(&b, v, n, now);
	free(v);
	resp_html(r, 200, &b);
}

struct history {
	struct buf	*b;
	int64_t		 now;
	int		 any;
};

static int
finding_row(const struct finding *f, void *arg)
{
	html_finding(arg, f);
	return 0;
}

static int
history_row(const struct cmd_row *c, void *arg)
{
	struct history *h = arg;

	h->any = 1;
	html_command_row(h->b, c, h->now);
	if (strcmp(c->command, "sovereign-scan") == 0 &&
	    strcmp(c->status, "ok") == 0) {
		buf_puts(h->b, "<tr class=\"output\"><td colspan=\"5\">"
		    "<ul class=\"findings\">");
		store_findings(app.store, c->command_id, finding_row, h->b);
		buf_puts(h->b, "</ul></td></tr>");
	}
	return buf_failed(h->b) ? -1 : 0;
}

void
node_page(struct req *r, const char *id, unsigned status, const char *error)
{
	struct node_view	 v;
	struct history		 h;
	char			*hb = NULL;
	struct buf		 b;
	int64_t			 now = time(NULL);

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
	html_node_head(&b, &v, hb, now, error);
	html_command_forms(&b, &v, policy_allowed(v.os_profile));
	html_commands_begin(&b);
	h.b = &b;
	h.now = now;
	h.any = 0;
	store_commands_list(app.store, id, 50, history_row, &h);
	html_commands_end(&b, h.any);
	html_page_end(&b);
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
	const char	*id;
	struct buf	 b;
	char		 loc[64], who[300];

	if ((id = node_id_param(r)) == NULL)
		return;
	switch (fleet_set_status(app.fleet, id, st)) {
	case -2:
		resp_error(r, 404, "unknown_node", "no node with this id");
		return;
	case -1:
		resp_error(r, 503, "store_unavailable", "the change could not "
		    "be stored; nothing changed");
		return;
	}
	log_info("node_status", "node_id=%s status=%s by=%s peer=%s", id,
	    status_name(st), log_quote(who, sizeof(who), operator_of(r)),
	    req_peer(r));
	if (req_is_form(r) && !req_wants_json(r)) {
		snprintf(loc, sizeof(loc), "/nodes/%s", id);
		resp_redirect(r, loc);
		return;
	}
	buf_init(&b, 128);
	buf_printf(&b, "{\"ok\":true,\"status\":\"%s\"}", status_name(st));
	resp_json(r, 200, &b);
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
h_static_css(struct req *r)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_puts(&b, vm_css);
	resp_css(r, &b);
}

void
h_healthz(struct req *r)
{
	struct buf b;

	buf_init(&b, 64);
	buf_puts(&b, "{\"ok\":true}");
	resp_json(r, 200, &b);
}
