/*
 * html_approvals: the approvals page and sections. Forms post to
 * /<kind>s/<id>/approve or /reject with a reason; they work without
 * JavaScript (303 back to the list).
 */
#include <string.h>

#include "approvals.h"
#include "html.h"
#include "html_approvals.h"

void
html_approvals_begin(struct buf *b, const char *status)
{
	static const char *const st[] = { "awaiting_approval", "approved",
		"rejected", "expired", NULL };

	html_page_head(b, "Approvals");
	buf_puts(b,
	    "<section id=\"approvals\"><h2>Approvals</h2><p class=\"muted\">"
	    "Commands and jobs that wait for a second operator: an approver "
	    "other than the one who asked signs them off.</p><form "
	    "class=\"filter\" method=\"get\" action=\"/approvals\"><label>"
	    "Status <select name=\"status\">");
	for (int i = 0; st[i] != NULL; i++)
		buf_printf(b, "<option%s>%s</option>",
		    status != NULL && strcmp(status, st[i]) == 0 ? " selected" :
								   "",
		    st[i]);
	buf_puts(b,
	    "</select></label> <button type=\"submit\">Show</button></form>");
	html_approvals_section_begin(b);
}

void
html_approvals_section_begin(struct buf *b)
{
	buf_puts(b,
	    "<div class=\"scroll\" role=\"region\" tabindex=\"0\" "
	    "aria-label=\"Requests\"><table id=\"approval-list\"><thead><tr>"
	    "<th>What</th><th>Asked by</th><th>Why</th><th>Status</th>"
	    "<th>Until</th><th>Decide</th></tr></thead><tbody>");
}

void
html_approvals_section_end(struct buf *b)
{
	buf_puts(b, "</tbody></table></div>");
}

/* The form that approves or rejects request a (action: its verb). */
static void
decide_form(struct buf *b, const struct approval_rec *a, const char *action,
    const char *label, const char *cls)
{
	buf_printf(b, "<form class=\"inline\" method=\"post\" action=\"/%ss/",
	    strcmp(a->kind, "job") == 0 ? "job" : "command");
	buf_urlenc(b, a->id);
	buf_printf(b,
	    "/%s\"><input name=\"reason\" maxlength=\"%d\" "
	    "aria-label=\"Reason to %s\" placeholder=\"reason\"> <button "
	    "type=\"submit\"%s>%s</button></form>",
	    action, APPROVAL_REASON_MAX, action, cls, label);
}

void
html_approval_row(struct buf *b, const struct approval_rec *a,
    const char *reader, enum role role, int64_t now)
{
	int awaiting = strcmp(a->status, "awaiting_approval") == 0;

	buf_printf(b, "<tr id=\"approval-%s\"><td>", a->id);
	if (strcmp(a->kind, "job") == 0) {
		buf_puts(b, "job <a href=\"/jobs/");
		buf_urlenc(b, a->id);
		buf_html_in(b, "\">", a->command, "</a>");
		buf_printf(b, " on %d nodes", a->selected);
	} else {
		buf_html_in(b, "<code>", a->command, "</code> ");
		buf_html_in(b, "<code class=\"args\">", a->args, "</code> on ");
		buf_puts(b, "<a href=\"/nodes/");
		buf_urlenc(b, a->node_id ? a->node_id : "");
		buf_html_in(b, "\">", a->node_id ? a->node_id : "", "</a>");
	}
	buf_html_in(b, "</td><td>", a->requested_by, "</td><td>");
	buf_html(b, a->reason);
	buf_html_in(b, "</td><td>", a->status, "");
	if (a->decided_by != NULL) {
		buf_html_in(b, " by ", a->decided_by, "");
		if (a->decision_reason != NULL && *a->decision_reason)
			buf_html_in(b, ": ", a->decision_reason, "");
	}
	buf_puts(b, "</td><td>");
	if (awaiting && a->expires_at > now)
		html_timestamp(b, a->expires_at);
	buf_puts(b, "</td><td>");
	if (awaiting && role >= ROLE_APPROVER) {
		if (!approvals_same_person(reader, a->requested_by))
			decide_form(b, a, "approve", "Approve", "");
		else
			buf_puts(b,
			    "<span class=\"muted\">yours: another approver "
			    "decides</span> ");
		decide_form(b, a, "reject", "Reject", " class=\"danger\"");
	}
	buf_puts(b, "</td></tr>");
}

void
html_approvals_end(struct buf *b, int n)
{
	if (n == 0)
		buf_puts(b,
		    "<tr><td colspan=\"6\" class=\"muted\">Nothing here."
		    "</td></tr>");
	html_approvals_section_end(b);
	buf_puts(b, "</section>");
	html_page_foot(b);
}
