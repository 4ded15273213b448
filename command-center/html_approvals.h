/*
 * html_approvals: what waits for a second operator, as a page (the list)
 * and as a section of a node's or a job's page (html_approvals.c); every
 * string escaped as html.c does.
 */
#ifndef VM_CC_HTML_APPROVALS_H
#define VM_CC_HTML_APPROVALS_H

#include <stdint.h>

#include "buf.h"
#include "roles.h"
#include "store.h"

/* The list page: begin, a row a request, end (n rows shown). */
void html_approvals_begin(struct buf *b, const char *status);
/*
 * One request: who asked, what, why, until when; the approve and reject
 * forms when reader (whose role is role) may decide it (an approver, and
 * not the requester for approving).
 */
void html_approval_row(struct buf *b, const struct approval_rec *a,
    const char *reader, enum role role, int64_t now);
void html_approvals_end(struct buf *b, int n);
/* The same rows as a section of another page (a node's, a job's). */
void html_approvals_section_begin(struct buf *b);
void html_approvals_section_end(struct buf *b);

#endif
