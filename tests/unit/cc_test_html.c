/*
 * Unit tests of command-center/html.c's escaping: every renderer that
 * prints a string escapes it itself (HTML text and attributes, URL path
 * segments, JSON strings), whatever checks the value passed elsewhere.
 * The values here are ones the validators would refuse: the renderers
 * must be safe without them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cc_all.h"
#include "testlib.h"

#define NOW 1800000000LL
#define ID_A "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
/* Breaks out of an attribute, opens a script, and holds & and '. */
#define EVIL "\"><script>x</script>&'"
#define EVIL_HTML "&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;&#39;"
#define EVIL_URL "%22%3E%3Cscript%3Ex%3C%2Fscript%3E%26%27"
/* What call renders into b, made a fresh buffer first; free() it. */
#define RENDERED(b, call) (buf_init(&(b), 1 << 16), (call), tl_take(&(b)))

/*
 * No part of EVIL came through raw (the page itself loads htmx with a
 * <script src>, so look for EVIL's own pieces).
 */
static void
assert_no_raw(const char *s)
{
	static const char *const raw[] = {
		"<script>",
		"x</script>",
		"\"><script>",
		"&'",
	};

	TL_EXPECT_NONE(s, raw);
}

static char *
row_html(const struct cmd_row *c)
{
	struct buf b;

	return RENDERED(b, html_command_row(&b, c, NOW));
}

static void
command_row_escapes_every_string(void **state)
{
	struct cmd_row c = { .command_id = EVIL,
		.command = EVIL,
		.args = EVIL,
		.queued_by = EVIL,
		.queued_at = NOW - 60,
		.status = EVIL,
		.output = EVIL };
	char	      *s = row_html(&c);

	(void)state;
	assert_no_raw(s);
	/*
	 * The id attribute, the command (twice: its cell and the output's
	 * label), args, who, status and output.
	 */
	assert_non_null(strstr(s, "<tr id=\"cmd-" EVIL_HTML "\">"));
	assert_int_equal(tl_count(s, EVIL_HTML), 7);
	free(s);
}

static void
command_row_of_a_plain_command_is_unchanged(void **state)
{
	struct cmd_row c = { .command_id = ID_A,
		.command = "service-status",
		.args = "{\"unit\":\"a.service\"}",
		.queued_by = "ops@example.com",
		.queued_at = NOW - 60,
		.status = "ok" };
	char	      *s = row_html(&c);

	(void)state;
	assert_non_null(strstr(s,
	    "<tr id=\"cmd-" ID_A "\"><td><strong>"
	    "service-status</strong> <code>{&quot;unit&quot;:&quot;a.service"
	    "&quot;}</code>"));
	assert_non_null(strstr(s, "<td class=\"green\">ok</td>"));
	free(s);
}

/* f under a heading per severity, group the heading before it. */
static char *
finding_html(const struct finding *f, char group[16])
{
	struct buf b;

	return RENDERED(b, html_finding(&b, f, group));
}

static void
finding_escapes_severity_in_its_heading_id_and_every_text(void **state)
{
	struct finding f = { EVIL, "\"><b>x&'", EVIL, EVIL, EVIL };
	char	       group[16] = "";
	char	      *s = finding_html(&f, group);

	(void)state;
	assert_no_raw(s);
	assert_null(strstr(s, "<b>"));
	/* The heading's id (where attention links) and its text. */
	assert_non_null(strstr(s,
	    "<h3 id=\"&quot;&gt;&lt;b&gt;x&amp;&#39;"
	    "_findings\" class=\"muted\">&quot;&gt;&lt;b&gt;x&amp;&#39;</h3>"));
	/* id, title, detail and remediation. */
	assert_int_equal(tl_count(s, EVIL_HTML), 4);
	free(s);
}

static void
finding_heading_of_a_known_severity_is_unchanged(void **state)
{
	struct finding f = { "ssh.permit_root_login", "critical", "Root",
		"sshd_config:3", NULL };
	char	       group[16] = "";
	char	      *s = finding_html(&f, group);

	(void)state;
	assert_non_null(strstr(s,
	    "<h3 id=\"critical_findings\" "
	    "class=\"red\">critical</h3>"));
	assert_string_equal(group, "critical");
	free(s);
}

static char *
audit_html(const struct audit_rec *a)
{
	struct buf b;

	return RENDERED(b, html_audit_row(&b, 7, a, NULL));
}

static void
audit_row_escapes_a_target_that_is_not_a_node_id(void **state)
{
	struct audit_rec a = { NOW, EVIL, EVIL, EVIL, EVIL, EVIL, EVIL };
	char		*s = audit_html(&a);

	(void)state;
	assert_no_raw(s);
	assert_null(strstr(s, "<a href"));
	/* who, peer, action, target, detail, result. */
	assert_int_equal(tl_count(s, EVIL_HTML), 6);
	free(s);
}

static void
audit_row_links_a_node_id_target(void **state)
{
	struct audit_rec a = { NOW, "ops", "127.0.0.1", "approve", ID_A, "",
		"ok" };
	char		*s = audit_html(&a);

	(void)state;
	assert_non_null(strstr(s, "<a href=\"/nodes/" ID_A "\">" ID_A "</a>"));
	assert_non_null(strstr(s, "<td class=\"green\">ok</td>"));
	free(s);
}

static void
audit_page_frame_prints_no_value_raw(void **state)
{
	struct audit_filter flt = { 0, "queue\"><script>", NULL };
	struct buf	    b;
	char		   *s;

	(void)state;
	buf_init(&b, 1 << 16);
	html_audit_begin(&b, &flt);
	html_audit_end(&b, 0, 42, &flt);
	s = tl_take(&b);
	assert_non_null(strstr(s, "<title>Audit log · VaultMesh</title>"));
	assert_null(strstr(s, "<script>"));
	assert_non_null(strstr(s,
	    "href=\"/audit?action=queue%22%3E%3Cscript%3E"
	    "&amp;before=42\""));
	free(s);
}

/* A node whose every string, node id included, is markup. */
static void
evil_view(struct node_view *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->node_id, sizeof(v->node_id), "%s", EVIL);
	snprintf(v->hostname, sizeof(v->hostname), "%s", EVIL);
	snprintf(v->os_profile, sizeof(v->os_profile), "%s", EVIL);
	snprintf(v->agent_version, sizeof(v->agent_version), "%s", EVIL);
	v->status = NODE_PENDING;
	v->enrolled_at = NOW - 86400;
	v->last_heartbeat_at = NOW - 5;
	v->last_scan_at = NOW - 60;
	v->level = LEVEL_YELLOW;
	v->reasons = R_NEVER_SCANNED;
	v->load1 = NAN;
	v->mem_used_pct = NAN;
}

static void
dashboard_escapes_node_id_strings_search_and_range(void **state)
{
	struct node_view v;
	/* The selector's fields too: shown in the form, kept in the links. */
	struct dash_filter f = { -1, EVIL, 1, EVIL, EVIL, EVIL };
	struct dash_view   d;
	struct buf	   b;
	char		  *s;

	(void)state;
	evil_view(&v);
	memset(&d, 0, sizeof(d));
	d.v = &v;
	d.n = 1;
	d.c.total = 1;
	d.c.matched = 1;
	d.c.by_level[v.level] = 1;
	d.now = NOW;
	d.f = &f;
	d.range = EVIL;
	d.range_secs = 86400;
	d.role = ROLE_ADMIN;
	for (int part = PART_PAGE; part <= PART_ALL; part++) {
		buf_init(&b, 1 << 20);
		assert_int_equal(html_dash(&b, &d, (enum page_part)part), 0);
		s = tl_take(&b);
		assert_no_raw(s);
		/* The host's link and the reason's link: one path segment. */
		assert_non_null(strstr(s,
		    "<a href=\"/nodes/" EVIL_URL "\">" EVIL_HTML "</a>"));
		assert_non_null(strstr(s,
		    "<a href=\"/nodes/" EVIL_URL "#never_scanned\">"));
		/* The poller's query keeps the range, encoded. */
		if (part != PART_LIVE)
			assert_non_null(
			    strstr(s, "range=" EVIL_URL "&amp;page=1"));
		if (part == PART_PAGE) {
			assert_non_null(strstr(s,
			    "name=\"range\" value=\"" EVIL_HTML "\">"));
			assert_non_null(strstr(s,
			    "name=\"labels\" maxlength=\"255\" placeholder="
			    "\"role=db,site=ams\" value=\"" EVIL_HTML "\">"));
			assert_non_null(strstr(s,
			    "href=\"/jobs/new?labels=" EVIL_URL
			    "&amp;os_profile=" EVIL_URL));
		}
		free(s);
	}
}

static void
node_page_escapes_node_id_in_every_link_and_form(void **state)
{
	static const char *const hb =
	    "{\"services\":[{\"name\":"
	    "\"\\\"><script>x</script>&'\",\"state\":\"\\\"><script>x"
	    "</script>&'\"}],\"cloudflare\":\"\\\"><script>x</script>&'\","
	    "\"sent_at\":\"\\\"><script>x</script>&'\"}";
	struct node_view  v;
	struct scan_point sp;
	struct node_parts p;
	struct buf	  b;
	char		 *s;

	(void)state;
	evil_view(&v);
	memset(&sp, 0, sizeof(sp));
	snprintf(sp.command_id, sizeof(sp.command_id), "%s", EVIL);
	sp.scanned_at = NOW - 60;
	memset(&p, 0, sizeof(p));
	p.v = &v;
	p.hb_json = hb;
	p.now = NOW;
	p.error = EVIL;
	p.scans = &sp;
	p.nscans = 1;
	p.findings = "";
	p.commands = "";
	p.role = ROLE_ADMIN;
	buf_init(&b, 1 << 20);
	assert_int_equal(html_node(&b, &p, PART_PAGE), 0);
	s = tl_take(&b);
	assert_no_raw(s);
	assert_non_null(
	    strstr(s, "hx-get=\"/nodes/" EVIL_URL "?fragment=live\""));
	assert_non_null(strstr(s,
	    "action=\"/nodes/" EVIL_URL "/approve\" "
	    "hx-post=\"/nodes/" EVIL_URL "/approve\""));
	assert_non_null(strstr(s,
	    "action=\"/nodes/" EVIL_URL "/revoke\" "
	    "hx-post=\"/nodes/" EVIL_URL "/revoke\""));
	assert_non_null(strstr(s, "<a href=\"#cmd-" EVIL_HTML "\">"));
	assert_non_null(strstr(s, "Refused: " EVIL_HTML));
	/* Node id, profile, version, tunnel, sent_at; service name, state. */
	assert_non_null(strstr(s, "<dt>Node ID</dt><dd>" EVIL_HTML "</dd>"));
	assert_non_null(strstr(s, "<td class=\"muted\">" EVIL_HTML "</td>"));
	free(s);

	/* Approved, every command allowed: the run forms. */
	v.status = NODE_APPROVED;
	p.allowed = ~0u;
	buf_init(&b, 1 << 20);
	assert_int_equal(html_node(&b, &p, PART_ALL), 0);
	s = tl_take(&b);
	assert_no_raw(s);
	assert_non_null(strstr(s,
	    "action=\"/nodes/" EVIL_URL "/commands\" "
	    "hx-post=\"/nodes/" EVIL_URL "/commands\""));
	free(s);
}

/*
 * The page shows only what the reader's role may do: a viewer gets no form
 * and no link to one; an operator the command and labels forms but not the
 * node's trust; an admin everything.
 */
static void
node_page_and_dashboard_show_only_what_the_role_may_do(void **state)
{
	static const char *const admin_only[] = { "/approve\"", "/revoke\"",
		"/reject\"", "/delete\"" };
	struct node_view	 v;
	struct node_parts	 p;
	struct dash_filter	 f = { -1, NULL, 1, "role=db", NULL, NULL };
	struct dash_view	 d;
	struct buf		 b;
	char			*s;

	(void)state;
	evil_view(&v);
	v.status = NODE_PENDING;
	memset(&p, 0, sizeof(p));
	p.v = &v;
	p.now = NOW;
	p.allowed = ~0u;
	p.findings = "";
	p.commands = "";
	for (int role = ROLE_VIEWER; role < ROLE_N; role++) {
		p.role = (enum role)role;
		for (int st = NODE_PENDING; st <= NODE_APPROVED; st++) {
			v.status = (enum node_status)st;
			buf_init(&b, 1 << 20);
			assert_int_equal(html_node(&b, &p, PART_PAGE), 0);
			s = tl_take(&b);
			for (size_t i = 0; i < 4; i++)
				if ((strstr(s, admin_only[i]) != NULL) !=
				    (role == ROLE_ADMIN &&
					(i != 0 || st != NODE_APPROVED) &&
					(i != 2 || st == NODE_PENDING) &&
					(i != 3 || st != NODE_PENDING)))
					fail_msg("role %s, status %d: %s",
					    role_names[role], st,
					    admin_only[i]);
			assert_int_equal(strstr(s, "/labels\"") != NULL,
			    role >= ROLE_OPERATOR);
			if (st == NODE_APPROVED) {
				assert_int_equal(strstr(s, "/commands\"") !=
					NULL,
				    role >= ROLE_OPERATOR);
				assert_int_equal(
				    strstr(s, "id=\"role-note\"") != NULL,
				    role < ROLE_OPERATOR);
			}
			free(s);
		}
	}
	memset(&d, 0, sizeof(d));
	d.f = &f;
	d.now = NOW;
	d.range = "1d";
	d.range_secs = 86400;
	for (int role = ROLE_VIEWER; role < ROLE_N; role++) {
		d.role = (enum role)role;
		buf_init(&b, 1 << 20);
		assert_int_equal(html_dash(&b, &d, PART_PAGE), 0);
		s = tl_take(&b);
		assert_int_equal(strstr(s, "id=\"new-job\"") != NULL,
		    role >= ROLE_OPERATOR);
		free(s);
	}
}

static void
json_node_keeps_the_document_valid_whatever_the_node_id(void **state)
{
	struct node_view v;
	struct buf	 b;
	json_t		*doc;
	char		*s;

	(void)state;
	evil_view(&v);
	buf_init(&b, 1 << 16);
	assert_int_equal(json_node(&b, &v, NULL), 0);
	s = tl_take(&b);
	doc = json_loads(s, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "node_id")),
	    EVIL);
	assert_string_equal(json_string_value(json_object_get(doc, "hostname")),
	    EVIL);
	json_decref(doc);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(command_row_escapes_every_string),
		cmocka_unit_test(command_row_of_a_plain_command_is_unchanged),
		cmocka_unit_test(
		    finding_escapes_severity_in_its_heading_id_and_every_text),
		cmocka_unit_test(
		    finding_heading_of_a_known_severity_is_unchanged),
		cmocka_unit_test(
		    audit_row_escapes_a_target_that_is_not_a_node_id),
		cmocka_unit_test(audit_row_links_a_node_id_target),
		cmocka_unit_test(audit_page_frame_prints_no_value_raw),
		cmocka_unit_test(
		    dashboard_escapes_node_id_strings_search_and_range),
		cmocka_unit_test(
		    node_page_escapes_node_id_in_every_link_and_form),
		cmocka_unit_test(
		    node_page_and_dashboard_show_only_what_the_role_may_do),
		cmocka_unit_test(
		    json_node_keeps_the_document_valid_whatever_the_node_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
