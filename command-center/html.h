/*
 * html: pages, fragments and pictures, rendered into a buf; every string
 * escaped by the writer (html.c).
 */
#ifndef VM_CC_HTML_H
#define VM_CC_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fleet.h"
#include "model.h"
#include "roles.h"
#include "store.h"

/* html.c: pages and fragments into b (see html_dash, html_node below). */
#define NODE_COMMANDS_SHOWN 50 /* on the node page; older ones: history */
#define SPARK_MIN 3	       /* samples a sparkline needs to draw a line */
#define DASH_PAGE_ROWS 100

struct dash_filter {
	int	    level; /* enum level, or -1 for all */
	const char *q;	   /* substring of hostname, id or profile */
	int	    page;  /* from 1 */
	/* A job's selector (target.h), as typed; NULL or "": not given. */
	const char *labels;
	const char *os_profile;
	const char *hostname;
};

/* One row of a node's command history. */
void html_command_row(struct buf *b, const struct cmd_row *c, int64_t now);
/* Renders f under a heading per severity; group[16] tracks the current one. */
void html_finding(struct buf *b, const struct finding *f, char group[16]);
/* A finding as a JSON object (its two forms side by side in html.c). */
void json_finding(struct buf *b, const struct finding *f);
void html_audit_begin(struct buf *b, const struct audit_filter *flt);
/* hostname: the target node's, shown beside its id (NULL: none). */
void html_audit_row(struct buf *b, int64_t id, const struct audit_rec *a,
    const char *hostname);
void html_audit_end(struct buf *b, int n, int64_t older,
    const struct audit_filter *flt);
/* json rendering of one node (operator views). */
int json_node(struct buf *b, const struct node_view *v, const char *hb_json);

/* html.c: pictures, as inline SVG (no script, no style attribute). */
/* A scan's severity counts, copied out of the store's row. */
struct scan_point {
	char	command_id[37];
	int64_t scanned_at;
	int	counts[FINDING_SEVERITIES];
};

/* Stacked areas of nodes per level over [since, now]; s oldest first. */
void svg_fleet_history(struct buf *b, const struct fleet_sample *s, size_t n,
    int64_t since, int64_t now);
/*
 * A sparkline of y over [since, now] scaled to [0, ymax]; title (escaped)
 * names it for screen readers. NAN values are skipped.
 */
void svg_sparkline(struct buf *b, const char *title, const int64_t *t,
    const double *y, size_t n, int64_t since, int64_t now, double ymax);
/* Stacked bars of findings per severity, one per scan, s oldest first. */
void svg_scan_bars(struct buf *b, const char *title, const struct scan_point *s,
    size_t n, int64_t now);

/* Which part of a page to render. */
enum page_part {
	PART_PAGE, /* the whole page */
	PART_LIVE, /* the polled sections, each swapped out of band */
	PART_ALL,  /* every section, after a form or filter (htmx) */
};

/* Everything the dashboard shows. */
struct dash_view {
	const struct node_view	  *v; /* the page's rows, in order */
	size_t			   n;
	struct fleet_counts	   c;
	int64_t			   now;
	const struct dash_filter  *f;
	const char		  *range; /* "1d", "7d" or "30d" */
	int64_t			   range_secs;
	const struct fleet_sample *hist; /* oldest first */
	size_t			   nhist;
	enum role		   role; /* the reader's: links it may follow */
	const char *current_key; /* the signing key's id; NULL: not shown */
};

/* Everything the node page shows; the lists are rendered by the caller. */
struct node_parts {
	const struct node_view	*v;
	const char		*hb_json; /* may be NULL */
	int64_t			 now;
	const char		*error;	  /* refused form, or NULL */
	unsigned		 allowed; /* policy_allowed() */
	const struct scan_point *scans;	  /* oldest first */
	size_t			 nscans;
	const struct hb_sample	*samples; /* oldest first */
	size_t			 nsamples;
	const char		*findings; /* html_finding()s, closed */
	const char		*commands; /* html_command_row()s */
	int			 any_commands;
	const char *enroll_peer; /* where it enrolled from, or "" */
	const char *current_key; /* the signing key's id; NULL: not shown */
	/* A refused command form: shown at that form, what was typed kept. */
	const char *refused_cmd;
	const char *typed_unit;
	const char *typed_lines;
	enum role   role; /* the reader's: forms only for what it may do */
	/* The node's requests awaiting approval (a table), or NULL. */
	const char *approvals;
};

int html_dash(struct buf *b, struct dash_view *d, enum page_part part);
int html_node(struct buf *b, const struct node_parts *p, enum page_part part);
/* The page that asks before action ("revoke", "reject", "delete"). */
int html_confirm(struct buf *b, const struct node_view *v, const char *action);
/*
 * The command history page of v: rows (html_command_row()s, n of them),
 * filtered by flt, the older page from before seq older (0: none).
 */
int html_history(struct buf *b, const struct node_view *v,
    const struct cmd_filter *flt, const char *rows, int n, int64_t older,
    const char *const *statuses);
/* The parts every page shares, for the pages of other files. */
void html_page_head(struct buf *b, const char *title);
void html_page_foot(struct buf *b);
/* "12s ago", ..., or "never"; a time as <time> in UTC. */
void html_age(struct buf *b, int64_t t, int64_t now);
void html_timestamp(struct buf *b, int64_t t);
/* An error page: what went wrong, and a link back (href, label). */
int html_error(struct buf *b, unsigned status, const char *code,
    const char *msg, const char *back, const char *back_label);

#endif
