/*
 * html_keys: the /keys page. The rotate forms post to /keys/rotate and
 * work without JavaScript (303 back here); the emergency one needs its
 * box ticked (a required checkbox, checked again by the handler).
 */
#include <inttypes.h>
#include <string.h>

#include "html.h"
#include "html_keys.h"

void
html_keys_begin(struct buf *b, const char *current_id, long unmoved,
    int64_t now)
{
	(void)now;
	html_page_head(b, "Signing keys");
	buf_puts(b,
	    "<section id=\"keys\"><h2>Signing keys</h2><p class=\"muted\">"
	    "Every command is signed with the current key. A rotation makes a "
	    "new key and a link to it signed by both keys; agents walk the "
	    "links from the key they pinned and move on by themselves. A "
	    "replaced key is destroyed once every approved node has moved, "
	    "or when its overlap ends.</p>");
	buf_html_in(b, "<p>Current key: <code id=\"current-key\">", current_id,
	    "</code>. ");
	if (unmoved > 0)
		buf_printf(b,
		    "<strong id=\"unmoved\">%ld approved node%s not yet on "
		    "it</strong>.</p>",
		    unmoved, unmoved == 1 ? " is" : "s are");
	else
		buf_puts(b,
		    "<span id=\"unmoved\">Every approved node is on it."
		    "</span></p>");
	buf_puts(b,
	    "<div class=\"scroll\" role=\"region\" tabindex=\"0\" "
	    "aria-label=\"Keys\"><table id=\"key-list\"><thead><tr>"
	    "<th>Version</th><th>Key id</th><th>State</th><th>Made</th>"
	    "<th>Nodes on it</th><th>Until</th></tr></thead><tbody>");
}

void
html_key_row(struct buf *b, const struct key_view *k, long nodes)
{
	buf_printf(b, "<tr id=\"key-%s\"><td>%" PRId64 "</td><td><code>",
	    k->key_id, k->version);
	buf_html(b, k->key_id);
	buf_puts(b, "</code></td><td>");
	buf_html(b, k->state);
	if (k->emergency)
		buf_puts(b, " (emergency)");
	buf_puts(b, "</td><td>");
	html_timestamp(b, k->created_at);
	buf_printf(b, "</td><td>%ld</td><td>", nodes);
	if (strcmp(k->state, "retiring") == 0)
		html_timestamp(b, k->retire_by);
	else if (k->retired_at > 0) {
		buf_puts(b, "destroyed ");
		html_timestamp(b, k->retired_at);
	}
	buf_puts(b, "</td></tr>");
}

void
html_keys_nodes_begin(struct buf *b)
{
	buf_puts(b,
	    "</tbody></table></div><h3>Nodes not on the current key</h3>"
	    "<div class=\"scroll\" role=\"region\" tabindex=\"0\" "
	    "aria-label=\"Nodes not on the current key\"><table "
	    "id=\"unmoved-nodes\"><thead><tr><th>Node</th><th>Pinned key"
	    "</th></tr></thead><tbody>");
}

void
html_keys_node(struct buf *b, const char *node_id, const char *hostname,
    const char *pinned_id)
{
	buf_puts(b, "<tr><td><a href=\"/nodes/");
	buf_urlenc(b, node_id);
	buf_html_in(b, "\">", hostname, "</a></td><td>");
	if (pinned_id[0] != '\0')
		buf_html_in(b, "<code>", pinned_id, "</code>");
	else
		buf_puts(b, "<span class=\"muted\">not reported yet</span>");
	buf_puts(b, "</td></tr>");
}

void
html_keys_end(struct buf *b, long listed, long unmoved, enum role role)
{
	if (listed == 0)
		buf_puts(b,
		    "<tr><td colspan=\"2\" class=\"muted\">None.</td></tr>");
	buf_puts(b, "</tbody></table></div>");
	if (unmoved > listed)
		buf_printf(b, "<p class=\"muted\">The first %ld of %ld.</p>",
		    listed, unmoved);
	if (role >= ROLE_ADMIN) {
		buf_puts(b,
		    "<h3>Rotate</h3><form id=\"rotate\" method=\"post\" "
		    "action=\"/keys/rotate\"><p>A planned rotation: nodes "
		    "follow the link to the new key at their next heartbeat; "
		    "offline ones when they come back.</p><button "
		    "type=\"submit\">Rotate the signing key</button></form>"
		    "<form id=\"rotate-emergency\" method=\"post\" "
		    "action=\"/keys/rotate\"><input type=\"hidden\" "
		    "name=\"emergency\" value=\"1\"><p>An emergency rotation, "
		    "when the current key may be in other hands: no link "
		    "leads to the new key, and every node refuses commands "
		    "until it is re-pinned by hand (<code>vaultmesh-node-agent "
		    "--pin</code>, one command a node).</p><label><input "
		    "type=\"checkbox\" name=\"confirm\" value=\"yes\" "
		    "required> The current key is compromised</label> <button "
		    "type=\"submit\" class=\"danger\">Emergency rotation"
		    "</button></form>");
	}
	buf_puts(b, "</section>");
	html_page_foot(b);
}
