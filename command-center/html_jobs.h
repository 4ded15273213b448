/*
 * html_jobs: the jobs pages (the list, a job's page with its results, the
 * new-job form and its preview), rendered into a buf; every string
 * escaped here as html.c does.
 */
#ifndef VM_CC_HTML_JOBS_H
#define VM_CC_HTML_JOBS_H

#include <stdint.h>

#include "buf.h"
#include "html.h"
#include "roles.h"
#include "jobs.h"

#define JOB_PAGE_ROWS 200   /* results on a job's page; more: next page */
#define JOB_GROUPS 20	    /* groups of identical answers shown */
#define JOB_GROUP_TEXT 2000 /* bytes of a group's output shown */
#define JOB_ROW_TEXT 4096   /* bytes of a node's output on the page */

/* A group of identical answers (copied out of the store's row). */
struct job_group {
	char *status;
	char *output; /* NULL: none */
	int   n;
};

struct job_page {
	const struct job_rec   *j;
	const int	       *counts; /* JC_N */
	int64_t			now;
	const struct job_group *groups;
	size_t			ngroups;
	const char	       *rows; /* html_job_result_row()s */
	int			nrows;
	int			page; /* from 1 */
	int			more; /* a next page exists */
	enum role		role; /* the reader's: cancel for operators */
	const char	       *approval; /* its request (a table), or NULL */
};

/*
 * The jobs list: a page of jobs, newest first (before: the page's cursor;
 * live: only the table, for the page's poller).
 */
void html_jobs_begin(struct buf *b, const char *status, int64_t before,
    int live, enum role role);
void html_jobs_row(struct buf *b, const struct job_rec *j, const int *counts,
    int64_t now);
void html_jobs_end(struct buf *b, int n, int64_t older, const char *status,
    int live);
/* A job's page, whole or its live sections. */
int html_job(struct buf *b, const struct job_page *p, enum page_part part);
/* One node's line of a job's results (offline: waits for it). */
void
html_job_result_row(struct buf *b, const struct job_result *r, int offline);

/* The new-job form, as typed, and the preview of it (NULL: none yet). */
struct job_form {
	const char *command, *unit, *lines, *reason;
	const char *labels, *os_profile, *attention, *hostname, *node_ids;
	const char *canary, *wave_size, *pause_secs, *max_failure_pct;
	int	    confirm;
	const char *every_secs;
	const char *error; /* a refusal to show, or NULL */
	const struct job_preview *preview;
	long			  max_nodes; /* VAULTMESH_JOB_MAX_NODES */
};
int html_job_form(struct buf *b, const struct job_form *f);

/* The recurring jobs: the built-in scan first, then each one made. */
void html_schedules_begin(struct buf *b, long tick_secs, long interval_hours,
    enum role role);
void
html_schedule_row(struct buf *b, const struct schedule_rec *sc, enum role role);
void html_schedules_end(struct buf *b, int n);

#endif
