/*
 * keys_api: the signing keys' routes (CONTRACT: "Operator endpoints,
 * second set"): GET /keys (JSON, or the page for a browser) and POST
 * /keys/rotate (admin; JSON {"emergency": bool} or the page's forms),
 * 202 {"key_id"} of the new key. The keys themselves are keys.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "fleet.h"
#include "html_keys.h"
#include "keychain.h"
#include "keys.h"
#include "log.h"
#include "routes.h"

#define UNMOVED_LISTED 200 /* nodes the page lists by name */
#define KEYS_COUNTED 64	   /* keys whose nodes are counted */

/* What the page gathers from the fleet, under its lock. */
struct keys_count {
	char current[KEY_ID_LEN + 1];
	struct {
		char id[KEY_ID_LEN + 1];
		long n;
	} per[KEYS_COUNTED];
	size_t nper;
	long   unmoved;
	struct {
		char node_id[37];
		char hostname[HOSTNAME_MAX + 1];
		char pinned[KEY_ID_LEN + 1];
	} * list;
	size_t nlist;
};

static void
count_node(const struct node_facts *nf, int offline, void *arg)
{
	struct keys_count *c = arg;
	size_t		   i;

	(void)offline;
	if (nf->status != NODE_APPROVED)
		return;
	for (i = 0; i < c->nper; i++)
		if (strcmp(c->per[i].id, nf->pinned_key_id) == 0)
			break;
	if (i == c->nper && c->nper < KEYS_COUNTED && nf->pinned_key_id[0]) {
		snprintf(c->per[i].id, sizeof(c->per[i].id), "%s",
		    nf->pinned_key_id);
		c->per[c->nper++].n = 0;
	}
	if (i < c->nper)
		c->per[i].n++;
	if (strcmp(nf->pinned_key_id, c->current) == 0)
		return;
	c->unmoved++;
	if (c->list != NULL && c->nlist < UNMOVED_LISTED) {
		snprintf(c->list[c->nlist].node_id, 37, "%s", nf->node_id);
		snprintf(c->list[c->nlist].hostname,
		    sizeof(c->list[c->nlist].hostname), "%s", nf->hostname);
		snprintf(c->list[c->nlist].pinned,
		    sizeof(c->list[c->nlist].pinned), "%s", nf->pinned_key_id);
		c->nlist++;
	}
}

struct row_ctx {
	struct buf		*b;
	const struct keys_count *c;
};

static void
key_row(const struct key_view *k, void *arg)
{
	struct row_ctx *x = arg;
	long		n = 0;

	for (size_t i = 0; i < x->c->nper; i++)
		if (strcmp(x->c->per[i].id, k->key_id) == 0)
			n = x->c->per[i].n;
	html_key_row(x->b, k, n);
}

void
h_keys(struct req *r)
{
	struct keys_count *c;
	struct row_ctx	   x;
	struct buf	   b;
	int64_t		   now = time(NULL);

	if (!req_wants_html(r)) {
		buf_init(&b, 1u << 20);
		keys_json(&b);
		resp_json(r, 200, &b);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->list = calloc(UNMOVED_LISTED, sizeof(*c->list))) == NULL) {
		free(c);
		resp_error(r, 503, "unavailable", "out of memory");
		return;
	}
	keys_current(NULL, c->current, NULL);
	fleet_select(app.fleet, now, NULL, NULL, NULL, 0, count_node, c);
	buf_init(&b, 4u << 20);
	html_keys_begin(&b, c->current, c->unmoved, now);
	x.b = &b;
	x.c = c;
	keys_each(key_row, &x);
	html_keys_nodes_begin(&b);
	for (size_t i = 0; i < c->nlist; i++)
		html_keys_node(&b, c->list[i].node_id, c->list[i].hostname,
		    c->list[i].pinned);
	html_keys_end(&b, (long)c->nlist, c->unmoved, operator_role(r));
	free(c->list);
	free(c);
	resp_html(r, 200, &b);
}

/* emergency from the JSON body or the form: 0, or -1 (answered 400). */
static int
rotate_request(struct req *r, int form, int *emergency)
{
	struct bytes body = req_body(r);
	json_t	    *root, *v;

	*emergency = 0;
	if (form) {
		const char *e = req_form(r, "emergency");
		const char *ok = req_form(r, "confirm");

		if (e == NULL || *e == '\0')
			return 0;
		if (strcmp(e, "1") != 0) {
			resp_error(r, 400, "invalid_field",
			    "emergency: 1 or "
			    "absent");
			return -1;
		}
		if (ok == NULL || strcmp(ok, "yes") != 0) {
			resp_error(r, 400, "invalid_field",
			    "confirm: tick the box that says the current key "
			    "is compromised");
			return -1;
		}
		*emergency = 1;
		return 0;
	}
	if (body.len == 0)
		return 0;
	if ((root = parse_body(r)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		json_decref(root);
		resp_error(r, 400, "invalid_field", "body: a JSON object");
		return -1;
	}
	v = json_object_get(root, "emergency");
	if (v != NULL && !json_is_boolean(v)) {
		json_decref(root);
		resp_error(r, 400, "invalid_field",
		    "emergency: must be true or false");
		return -1;
	}
	*emergency = json_is_true(v);
	json_decref(root);
	return 0;
}

void
h_keys_rotate(struct req *r)
{
	int	   form = req_is_form(r) && !req_wants_json(r);
	int	   emergency, rc;
	char	   id[KEY_ID_LEN + 1], err[256];
	int64_t	   version;
	struct buf b;

	if (rotate_request(r, form, &emergency) == -1)
		return;
	rc = keys_rotate(emergency, id, err, sizeof(err));
	if (rc == -1) {
		audit(r, emergency ? "key_rotate_emergency" : "key_rotate", "",
		    err, "store_unavailable");
		resp_error(r, 503, "store_unavailable", "%s", err);
		return;
	}
	if (rc == 0) {
		audit(r, emergency ? "key_rotate_emergency" : "key_rotate", "",
		    NULL, "rotation_conflict");
		resp_error(r, 409, "rotation_conflict",
		    "another rotation came first; look at /keys and try "
		    "again");
		return;
	}
	keys_current(NULL, NULL, &version);
	audit(r, emergency ? "key_rotate_emergency" : "key_rotate", id, NULL,
	    "ok");
	if (form) {
		resp_redirect(r, "/keys");
		return;
	}
	buf_init(&b, 256);
	buf_putc(&b, '{');
	buf_json_field(&b, "key_id", id);
	buf_printf(&b, ",\"version\":%lld,\"emergency\":%s}",
	    (long long)version, emergency ? "true" : "false");
	resp_json(r, 202, &b);
}
