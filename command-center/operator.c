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
static const char *
node_param(struct req *r)
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
static const char *
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

void
h_node_page(struct req *r)
{
	struct node_view	 v;
	const char		*id;
	char			*hb = NULL;
	struct buf		 b;
	int64_t			 now = time(NULL);

	if ((id = node_param(r)) == NULL)
		return;
	if (fleet_get(app.fleet, id, now, &v, &hb) == -1) {
		resp_error(r, 404, "unknown_node", "no node with this id");
		return;
	}
	buf_init(&b, PAGE_MAX);
	if (req_wants_json(r)) {
		json_node(&b, &v, hb);
		resp_json(r, 200, &b);
	} else {
		html_node(&b, &v, hb, now);
		resp_html(r, 200, &b);
	}
	free(hb);
}

static void
set_status(struct req *r, enum node_status st)
{
	const char	*id;
	struct buf	 b;
	char		 loc[64], who[300];

	if ((id = node_param(r)) == NULL)
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
