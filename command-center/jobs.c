/*
 * jobs: a job's preview (what its target selects now, what the policy
 * leaves out and why), its creation (the job and its nodes stored, the
 * first wave queued), its cancellation, and the tick that moves each
 * running job on: stop at the failure threshold, finish, or start the
 * next wave once the current one has finished and its pause has passed.
 * A job's state is all in the store, so a restart (or another replica,
 * when it leads) takes up where the last tick left off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "webhooks.h"
#include "approvals.h"
#include "jobs.h"
#include "log.h"
#include "policy.h"
#include "queue.h"
#include "util.h"

#define TICK_JOBS 256 /* running jobs looked at per tick */

const char *const job_count_names[JC_N] = { "queued", "delivered", "ok",
	"error", "rejected", "timeout", "expired", "cancelled", "not_started" };

/* ---- rollout -------------------------------------------------------- */

static int
get_int(const json_t *v, const char *name, long lo, long hi, int *out,
    char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		snprintf(err, errlen,
		    "rollout.%s: a whole number from %ld to %ld", name, lo, hi);
		return -1;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

int
rollout_from_json(const json_t *j, struct rollout *ro, char *err, size_t errlen)
{
	const char *k, *s;
	json_t	   *v;
	char	   *end;
	long	    pct;

	memset(ro, 0, sizeof(*ro));
	ro->max_failure_pct = -1;
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_object(j)) {
		snprintf(err, errlen, "rollout: must be an object");
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)j, k, v)
	{
		if (strcmp(k, "canary") == 0) {
			if (json_is_string(v)) {
				s = json_string_value(v);
				pct = strtol(s, &end, 10);
				if (end == s || strcmp(end, "%") != 0 ||
				    pct < 1 || pct > 100) {
					snprintf(err, errlen,
					    "rollout.canary: a number of "
					    "nodes, or a percentage (\"10%%\")");
					return -1;
				}
				ro->canary_pct = (int)pct;
			} else if (get_int(v, "canary", 1, 1000000, &ro->canary,
				       err, errlen) == -1)
				return -1;
		} else if (strcmp(k, "wave_size") == 0) {
			if (get_int(v, k, 1, 1000000, &ro->wave_size, err,
				errlen) == -1)
				return -1;
		} else if (strcmp(k, "pause_secs") == 0) {
			if (get_int(v, k, 0, 7 * 86400, &ro->pause_secs, err,
				errlen) == -1)
				return -1;
		} else if (strcmp(k, "max_failure_pct") == 0) {
			if (get_int(v, k, 0, 100, &ro->max_failure_pct, err,
				errlen) == -1)
				return -1;
		} else {
			snprintf(err, errlen,
			    "rollout: unknown field (known: canary, "
			    "wave_size, pause_secs, max_failure_pct)");
			return -1;
		}
	}
	return 0;
}

void
rollout_json(const struct rollout *ro, struct buf *b)
{
	buf_putc(b, '{');
	if (ro->canary_pct > 0)
		buf_printf(b, "\"canary\":\"%d%%\",", ro->canary_pct);
	else if (ro->canary > 0)
		buf_printf(b, "\"canary\":%d,", ro->canary);
	if (ro->wave_size > 0)
		buf_printf(b, "\"wave_size\":%d,", ro->wave_size);
	if (ro->max_failure_pct >= 0)
		buf_printf(b, "\"max_failure_pct\":%d,", ro->max_failure_pct);
	buf_printf(b, "\"pause_secs\":%d}", ro->pause_secs);
}

int
rollout_waves(const struct rollout *ro, size_t n, size_t *first, size_t *size)
{
	size_t rest;

	if (n == 0) {
		*first = *size = 0;
		return 0;
	}
	*first = ro->canary_pct > 0 ? (n * (size_t)ro->canary_pct + 99) / 100 :
				      (size_t)ro->canary;
	*size = (size_t)ro->wave_size;
	if (*first == 0)
		*first = *size > 0 ? *size : n;
	if (*first >= n) {
		*first = n;
		return 1;
	}
	rest = n - *first;
	if (*size == 0)
		*size = rest;
	return 1 + (int)((rest + *size - 1) / *size);
}

/* ---- preview -------------------------------------------------------- */

static int
excluded_add(struct job_preview *p, size_t *cap, const char *node_id,
    const char *reason)
{
	struct job_node *nx;

	if (p->nexcluded == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((nx = realloc(p->excluded, *cap * sizeof(*nx))) == NULL)
			return -1;
		p->excluded = nx;
	}
	memset(&p->excluded[p->nexcluded], 0, sizeof(*nx));
	snprintf(p->excluded[p->nexcluded].node_id, 37, "%s", node_id);
	p->excluded[p->nexcluded].wave = -1;
	if ((p->excluded[p->nexcluded].reason = strdup(reason)) == NULL)
		return -1;
	p->nexcluded++;
	return 0;
}

/* A selected node and what orders the waves: hostname, then id. */
struct pick {
	char node_id[37];
	char hostname[HOSTNAME_MAX + 1];
	char os_profile[PROFILE_MAX + 1];
	int  offline;
};

static int
pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	int		   c = strcmp(x->hostname, y->hostname);

	return c != 0 ? c : strcmp(x->node_id, y->node_id);
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* What the fleet's walk hands the preview (copied out under its lock). */
struct picks {
	struct pick *p;
	size_t	     n, cap;
	int	     failed;
};

static void
pick_node(const struct node_facts *nf, int offline, void *arg)
{
	struct picks *l = arg;
	struct pick  *np;

	if (l->failed)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if ((np = realloc(l->p, l->cap * sizeof(*np))) == NULL) {
			l->failed = 1;
			return;
		}
		l->p = np;
	}
	np = &l->p[l->n++];
	snprintf(np->node_id, sizeof(np->node_id), "%s", nf->node_id);
	snprintf(np->hostname, sizeof(np->hostname), "%s", nf->hostname);
	snprintf(np->os_profile, sizeof(np->os_profile), "%s", nf->os_profile);
	np->offline = offline;
}

int
jobs_preview(const struct job_spec *spec, struct job_preview *p)
{
	const struct target *t = &spec->target;
	struct picks	     l = { NULL, 0, 0, 0 };
	unsigned char	    *seen = NULL;
	size_t		     npick = 0, xcap = 0;
	char		     why[200];
	char(*hit)[37];

	memset(p, 0, sizeof(p[0]));
	if (t->ids != NULL && (seen = calloc(t->nids + 1, 1)) == NULL)
		return -1;
	/*
	 * The fleet's lock is held for the walk only: the policy and the
	 * store are asked afterwards, of the nodes the target selected.
	 */
	fleet_select(app.fleet, time(NULL), target_match, t,
	    (const char(*)[37])t->ids, t->nids, pick_node, &l);
	if (l.failed)
		goto fail;
	for (size_t i = 0; i < l.n; i++) {
		struct pick *k = &l.p[i];

		if (seen != NULL &&
		    (hit = bsearch(k->node_id, t->ids, t->nids, sizeof(*t->ids),
			 id_cmp)) != NULL)
			seen[hit - t->ids] = 1;
		if (spec->skip_open &&
		    store_command_open(app.store, k->node_id, spec->command) >
			0) {
			if (excluded_add(p, &xcap, k->node_id,
				"already queued or running") == -1)
				goto fail;
			continue;
		}
		if (!policy_allows(k->os_profile, spec->command)) {
			snprintf(why, sizeof(why),
			    "policy: profile %s may not run %s", k->os_profile,
			    spec->command);
			if (excluded_add(p, &xcap, k->node_id, why) == -1)
				goto fail;
			continue;
		}
		if (k->offline)
			p->offline++;
		if (policy_needs_approval(k->os_profile, spec->command))
			p->need_approval++;
		l.p[npick++] = *k;
	}
	/* A node named by id that is not selected: it is not approved. */
	for (size_t i = 0; seen != NULL && i < t->nids; i++)
		if (!seen[i] &&
		    excluded_add(p, &xcap, t->ids[i],
			fleet_known(app.fleet, t->ids[i]) ?
			    "not an approved node, or not selected" :
			    "no node with this id") == -1)
			goto fail;
	if (npick > 0)
		qsort(l.p, npick, sizeof(*l.p), pick_cmp);
	if ((p->ids = calloc(npick + 1, sizeof(*p->ids))) == NULL)
		goto fail;
	for (size_t i = 0; i < npick; i++)
		memcpy(p->ids[i], l.p[i].node_id, 37);
	p->n = npick;
	{
		size_t first, size;
		long   over = policy_job_approval_over();

		p->waves = rollout_waves(&spec->ro, npick, &first, &size);
		/* The built-in scheduler's scans are the system's own. */
		p->awaits = strcmp(spec->created_by, "scheduler") != 0 &&
		    (p->need_approval > 0 ||
			(over >= 0 && npick > (size_t)over));
	}
	free(l.p);
	free(seen);
	return 0;
fail:
	free(l.p);
	free(seen);
	jobs_preview_free(p);
	return -1;
}

void
jobs_preview_free(struct job_preview *p)
{
	for (size_t i = 0; i < p->nexcluded; i++)
		free((char *)(uintptr_t)p->excluded[i].reason);
	free(p->excluded);
	free(p->ids);
	memset(p, 0, sizeof(*p));
}

/* ---- creation ------------------------------------------------------- */

int
jobs_create(const struct job_spec *spec, const struct job_preview *p,
    char job_id[37])
{
	struct job_rec	 j;
	struct job_node *nodes;
	struct buf	 tj, rj;
	char		*args, detail[800];
	size_t		 first, size, nn = p->n + p->nexcluded;
	int		 rc = -1, queued;

	memset(&j, 0, sizeof(j));
	uuid_generate(j.job_id);
	memcpy(job_id, j.job_id, 37);
	if ((args = json_dumps(spec->args, JSON_COMPACT)) == NULL)
		return -1;
	if ((nodes = calloc(nn + 1, sizeof(*nodes))) == NULL) {
		free(args);
		return -1;
	}
	buf_init(&tj, 4u << 20);
	buf_init(&rj, 4096);
	if (spec->target_text != NULL)
		buf_puts(&tj, spec->target_text);
	else
		target_json(&spec->target, &tj);
	rollout_json(&spec->ro, &rj);
	j.waves = rollout_waves(&spec->ro, p->n, &first, &size);
	for (size_t i = 0; i < p->n; i++) {
		memcpy(nodes[i].node_id, p->ids[i], 37);
		nodes[i].wave = i < first ? 0 : 1 + (int)((i - first) / size);
	}
	for (size_t i = 0; i < p->nexcluded; i++)
		nodes[p->n + i] = p->excluded[i];
	j.command = spec->command;
	j.args = args;
	j.reason = spec->reason;
	j.target = tj.p;
	j.rollout = rj.p;
	j.created_by = spec->created_by;
	j.created_at = time(NULL);
	j.status = p->awaits ? "awaiting_approval" : "running";
	j.selected = (int)p->n;
	j.pause_secs = spec->ro.pause_secs;
	j.max_failure_pct = spec->ro.max_failure_pct;
	if (buf_failed(&tj) || buf_failed(&rj))
		goto out;
	if (p->awaits) {
		/* The request first: a job row never waits without one. */
		struct approval_rec a;

		memset(&a, 0, sizeof(a));
		memcpy(a.id, j.job_id, 37);
		a.kind = "job";
		a.command = spec->command;
		a.args = args;
		a.reason = spec->reason;
		a.requested_by = spec->created_by;
		a.selected = (int)p->n;
		if (approvals_request(&a, NULL) == -1)
			goto out;
	}
	if (store_job_create(app.store, &j, nodes, nn) == -1)
		goto out;
	snprintf(detail, sizeof(detail),
	    "%s selected=%zu excluded=%zu waves=%d reason=%s%s", spec->command,
	    p->n, p->nexcluded, j.waves, spec->reason,
	    p->awaits ? " awaiting_approval" : "");
	audit_record(spec->created_by, NULL, "job_create", j.job_id, detail,
	    "ok");
	if (p->awaits) {
		rc = 0;
		goto out;
	}
	queued = command_queue_wave(j.job_id, 0, spec->command, spec->args,
	    spec->created_by, (const char(*)[37])p->ids, first);
	if (queued < 0)
		log_err("job_wave_failed",
		    "job_id=%s wave=1 msg=\"the next tick tries again\"",
		    j.job_id);
	rc = 0;
out:
	buf_free(&tj);
	buf_free(&rj);
	free(nodes);
	free(args);
	return rc;
}

int
jobs_cancel(const char *job_id, const char *who, const char *peer)
{
	char detail[64];
	int  n = store_job_cancel(app.store, job_id, "cancelled", time(NULL),
	     NULL, NULL);

	if (n >= 0) {
		snprintf(detail, sizeof(detail), "cancelled=%d", n);
		/* A job still awaiting approval: its request ends with it. */
		(void)store_approval_decide(app.store, job_id, "rejected", who,
		    time(NULL), "the job was cancelled", NULL, NULL, NULL);
	}
	audit_record(who, peer, "job_cancel", job_id, n >= 0 ? detail : "",
	    n >= 0	? "ok" :
		n == -2 ? "job_ended" :
			  "store_unavailable");
	return n;
}

/* ---- recurring jobs ---------------------------------------------------- */

int
jobs_schedule_add(const struct job_spec *spec, const char *job_id, char id[37])
{
	struct schedule_rec sc;
	struct buf	    tj, rj;
	char		   *args, detail[700];
	int		    rc = -1;

	memset(&sc, 0, sizeof(sc));
	uuid_generate(sc.schedule_id);
	if ((args = json_dumps(spec->args, JSON_COMPACT)) == NULL)
		return -1;
	buf_init(&tj, 4u << 20);
	buf_init(&rj, 4096);
	target_json(&spec->target, &tj);
	rollout_json(&spec->ro, &rj);
	sc.command = spec->command;
	sc.args = args;
	sc.reason = spec->reason;
	sc.target = tj.p;
	sc.rollout = rj.p;
	sc.created_by = spec->created_by;
	sc.created_at = time(NULL);
	sc.every_secs = spec->every_secs;
	sc.next_at = sc.created_at + spec->every_secs;
	sc.last_job_id = job_id;
	if (!buf_failed(&tj) && !buf_failed(&rj) &&
	    store_schedule_add(app.store, &sc) == 0) {
		memcpy(id, sc.schedule_id, 37);
		snprintf(detail, sizeof(detail),
		    "%s every_secs=%lld first_job=%s reason=%s", spec->command,
		    (long long)spec->every_secs, job_id ? job_id : "none",
		    spec->reason);
		audit_record(spec->created_by, NULL, "schedule_add",
		    sc.schedule_id, detail, "ok");
		rc = 0;
	}
	buf_free(&tj);
	buf_free(&rj);
	free(args);
	return rc;
}

int
jobs_schedule_delete(const char *id, const char *who, const char *peer)
{
	int rc = store_schedule_delete(app.store, id, time(NULL));

	audit_record(who, peer, "schedule_delete", id, "",
	    rc == 1	? "ok" :
		rc == 0 ? "unknown_schedule" :
			  "store_unavailable");
	return rc;
}

/* A due recurring job, copied out of the store's row. */
struct due {
	char	schedule_id[37];
	char   *command, *args, *reason, *target, *rollout, *created_by;
	int64_t every_secs, next_at;
};

struct due_list {
	struct due d[TICK_JOBS];
	size_t	   n;
	int64_t	   now;
};

static int
due_row(const struct schedule_rec *sc, void *arg)
{
	struct due_list *l = arg;
	struct due	*d;

	if (sc->next_at > l->now || l->n == TICK_JOBS)
		return 0;
	d = &l->d[l->n++];
	memcpy(d->schedule_id, sc->schedule_id, 37);
	d->command = strdup(sc->command);
	d->args = strdup(sc->args);
	d->reason = strdup(sc->reason);
	d->target = strdup(sc->target);
	d->rollout = strdup(sc->rollout);
	d->created_by = strdup(sc->created_by);
	d->every_secs = sc->every_secs;
	d->next_at = sc->next_at;
	return d->command && d->args && d->reason && d->target && d->rollout &&
		d->created_by ?
	    0 :
	    -1;
}

static void
due_free(struct due *d)
{
	free(d->command);
	free(d->args);
	free(d->reason);
	free(d->target);
	free(d->rollout);
	free(d->created_by);
}

/*
 * One run of a recurring job: the same job for the target as it selects
 * now, less the nodes still running the last run's command. Then the
 * next run, a period from now (a CC that was down runs it once, not
 * once per missed period).
 */
static void
run_schedule(const struct due *d, int64_t now)
{
	struct job_spec	   spec;
	struct job_preview p;
	json_t		  *t = json_loads(d->target, 0, NULL);
	json_t		  *ro = json_loads(d->rollout, 0, NULL);
	char		   err[256], job_id[37], reason[JOB_REASON_MAX + 64];
	int		   made = 0;

	memset(&spec, 0, sizeof(spec));
	memset(&p, 0, sizeof(p));
	spec.command = d->command;
	spec.args = json_loads(d->args, 0, NULL);
	snprintf(reason, sizeof(reason), "%s (recurring %.8s)", d->reason,
	    d->schedule_id);
	spec.reason = reason;
	spec.created_by = d->created_by;
	spec.skip_open = 1;
	spec.confirm = 1; /* confirmed when it was made */
	if (spec.args == NULL ||
	    target_from_json(t, &spec.target, err, sizeof(err)) == -1 ||
	    rollout_from_json(ro, &spec.ro, err, sizeof(err)) == -1 ||
	    jobs_preview(&spec, &p) == -1)
		log_err("schedule_failed", "schedule_id=%s", d->schedule_id);
	else if (p.n > 0 && jobs_create(&spec, &p, job_id) == 0)
		made = 1;
	else if (p.n == 0)
		log_info("schedule_empty",
		    "schedule_id=%s msg=\"no node to run on\"", d->schedule_id);
	(void)store_schedule_ran(app.store, d->schedule_id, d->next_at,
	    now + d->every_secs, made ? job_id : NULL);
	jobs_preview_free(&p);
	target_free(&spec.target);
	json_decref(spec.args);
	json_decref(t);
	json_decref(ro);
}

static void
schedules_tick(int64_t now)
{
	struct due_list *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return;
	l->now = now;
	if (store_schedules(app.store, due_row, l) == 0)
		for (size_t i = 0; i < l->n; i++)
			run_schedule(&l->d[i], now);
	for (size_t i = 0; i < l->n; i++)
		due_free(&l->d[i]);
	free(l);
}

/* ---- counts --------------------------------------------------------- */

static int
count_row(const char *command, const char *status, int n, void *arg)
{
	int *counts = arg;

	(void)command;
	for (int i = 0; i < JC_N; i++)
		if (strcmp(status, job_count_names[i]) == 0)
			counts[i] += n;
	return 0;
}

int
jobs_counts(const char *job_id, int counts[JC_N])
{
	memset(counts, 0, sizeof(int) * JC_N);
	return store_job_counts(app.store, job_id, count_row, counts);
}

int
jobs_failed(const int counts[JC_N])
{
	return counts[JC_ERROR] + counts[JC_REJECTED] + counts[JC_TIMEOUT];
}

int
jobs_finished(const int counts[JC_N])
{
	return jobs_failed(counts) + counts[JC_OK] + counts[JC_EXPIRED] +
	    counts[JC_CANCELLED];
}

/* ---- the tick ------------------------------------------------------- */

/* What the tick needs of a running job, copied out of the store's row. */
struct running {
	char	job_id[37];
	char	command[33];
	char   *args;
	char   *created_by;
	int	wave, waves, pause_secs, max_failure_pct;
	int64_t wave_done_at;
};

struct running_list {
	struct running r[TICK_JOBS];
	size_t	       n;
};

static int
running_row(const struct job_rec *j, void *arg)
{
	struct running_list *l = arg;
	struct running	    *r;

	if (l->n == TICK_JOBS)
		return 0;
	r = &l->r[l->n];
	memcpy(r->job_id, j->job_id, 37);
	snprintf(r->command, sizeof(r->command), "%s", j->command);
	r->args = strdup(j->args);
	r->created_by = strdup(j->created_by);
	r->wave = j->wave;
	r->waves = j->waves;
	r->pause_secs = j->pause_secs;
	r->max_failure_pct = j->max_failure_pct;
	r->wave_done_at = j->wave_done_at;
	if (r->args == NULL || r->created_by == NULL) {
		free(r->args);
		free(r->created_by);
		return -1;
	}
	l->n++;
	return 0;
}

struct ids {
	char (*id)[37];
	size_t n, cap;
	int    failed;
};

static void
id_row(const char *node_id, void *arg)
{
	struct ids *l = arg;
	char(*nid)[37];

	if (l->failed)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if ((nid = realloc(l->id, l->cap * sizeof(*nid))) == NULL) {
			l->failed = 1;
			return;
		}
		l->id = nid;
	}
	snprintf(l->id[l->n++], 37, "%s", node_id);
}

static void
start_wave(const struct running *r, int wave)
{
	struct ids l = { NULL, 0, 0, 0 };
	json_t	  *args = json_loads(r->args, 0, NULL);
	char	   detail[64];
	int	   queued = -1;

	if (args != NULL &&
	    store_job_wave_nodes(app.store, r->job_id, wave, id_row, &l) == 0 &&
	    !l.failed)
		queued = command_queue_wave(r->job_id, wave, r->command, args,
		    r->created_by, (const char(*)[37])l.id, l.n);
	if (queued >= 0) {
		snprintf(detail, sizeof(detail), "wave=%d of %d queued=%d",
		    wave + 1, r->waves, queued);
		audit_record("command-center", NULL, "job_wave", r->job_id,
		    detail, "ok");
	} else if (queued == -1)
		log_err("job_wave_failed", "job_id=%s wave=%d", r->job_id,
		    wave + 1);
	json_decref(args);
	free(l.id);
}

/* job.finished for the webhooks: the job, how it ended, its counts. */
static void
job_finished(const struct running *r, const char *status, const int c[JC_N])
{
	json_t *counts = json_object(), *f;

	for (int i = 0; counts != NULL && i < JC_N; i++)
		json_object_set_new(counts, job_count_names[i],
		    json_integer(c[i]));
	f = json_pack("{s:s, s:s, s:s, s:o, s:i, s:i}", "job_id", r->job_id,
	    "command", r->command, "status", status, "counts", counts, "failed",
	    jobs_failed(c), "finished", jobs_finished(c));
	if (f != NULL)
		webhooks_emit(WH_JOB, f);
	json_decref(f);
}

static void
tick_one(struct running *r, int64_t now)
{
	int  c[JC_N], failed, finished;
	char detail[96];

	if (r->wave < 0) { /* created, the first wave not stored: again */
		start_wave(r, 0);
		return;
	}
	if (jobs_counts(r->job_id, c) == -1)
		return;
	failed = jobs_failed(c);
	finished = jobs_finished(c);
	if (r->max_failure_pct >= 0 && finished > 0 &&
	    (long)failed * 100 > (long)r->max_failure_pct * finished) {
		int n = store_job_cancel(app.store, r->job_id, "stopped", now,
		    NULL, NULL);

		if (n >= 0) {
			snprintf(detail, sizeof(detail),
			    "failed=%d of finished=%d over %d%% cancelled=%d",
			    failed, finished, r->max_failure_pct, n);
			audit_record("command-center", NULL, "job_stop",
			    r->job_id, detail, "ok");
			job_finished(r, "stopped", c);
		}
		return;
	}
	if (c[JC_QUEUED] + c[JC_DELIVERED] > 0)
		return; /* the current wave runs */
	if (r->wave >= r->waves - 1) {
		if (store_job_update(app.store, r->job_id, "done", now, now) ==
		    1) {
			snprintf(detail, sizeof(detail),
			    "ok=%d failed=%d finished=%d", c[JC_OK], failed,
			    finished);
			audit_record("command-center", NULL, "job_done",
			    r->job_id, detail, "ok");
			job_finished(r, "done", c);
		}
		return;
	}
	if (r->wave_done_at == 0) {
		if (store_job_update(app.store, r->job_id, "running", now,
			now) != 1)
			return;
		r->wave_done_at = now;
	}
	if (now >= r->wave_done_at + r->pause_secs)
		start_wave(r, r->wave + 1);
}

void
jobs_tick(int64_t now)
{
	struct running_list *l = calloc(1, sizeof(*l));

	schedules_tick(now);
	if (l == NULL)
		return;
	if (store_job_list(app.store, 0, "running", TICK_JOBS, running_row,
		l) == 0)
		for (size_t i = 0; i < l->n; i++)
			tick_one(&l->r[i], now);
	for (size_t i = 0; i < l->n; i++) {
		free(l->r[i].args);
		free(l->r[i].created_by);
	}
	free(l);
}
