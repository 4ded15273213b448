/*
 * Jobs (issue 18): the selector (target.c) and the rollout's waves
 * (jobs.c) as pure functions, and the store's jobs on either backend
 * (VM_TEST_PG): a wave queued in one transaction and only once, counts,
 * cancellation, results in both orders, grouped answers, and the SQLite
 * migration that made the commands table again keeping its rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cc_testlib.h"
#include "jobs.h"
#include "log.h"
#include "target.h"

#define NOW 1795773600
#define JOB "11111111-2222-4333-8444-555555555555"

static const char *const ids[] = {
	"00000000-0000-4000-8000-000000000001",
	"00000000-0000-4000-8000-000000000002",
	"00000000-0000-4000-8000-000000000003",
	"00000000-0000-4000-8000-000000000004",
	"00000000-0000-4000-8000-000000000005",
};
#define NIDS 5

/* ---- the selector --------------------------------------------------- */

static struct node_facts
facts(const char *labels, const char *host, const char *profile, enum level l,
    enum node_status st)
{
	struct node_facts nf = { ids[0], host, profile, labels, "", st, l, 0 };

	return nf;
}

static void
target_json_selects_by_every_part(void **state)
{
	struct target	  t;
	struct buf	  b;
	char		  err[256];
	json_t		 *j;
	struct node_facts nf;

	(void)state;
	j = json_loads("{\"labels\":{\"site\":\"ams\",\"role\":\"db\"},"
		       "\"os_profile\":\"debian-12\",\"attention\":[\"red\","
		       "\"green\"],\"hostname\":\"DB-*\",\"node_ids\":[\"" JOB
		       "\",\"00000000-0000-4000-8000-000000000001\",\"" JOB
		       "\"]}",
	    0, NULL);
	assert_non_null(j);
	assert_int_equal(target_from_json(j, &t, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(t.nids, 2); /* sorted, each once */
	nf = facts("{\"role\":\"db\",\"site\":\"ams\",\"tier\":\"1\"}", "db-01",
	    "debian-12", LEVEL_RED, NODE_APPROVED);
	assert_true(target_match(&nf, &t));
	/* A value that only begins like the one asked for is not it. */
	nf.labels = "{\"role\":\"dbx\",\"site\":\"ams\"}";
	assert_false(target_match(&nf, &t));
	nf.labels = "{\"role\":\"db\",\"site\":\"amsterdam\"}";
	assert_false(target_match(&nf, &t));
	nf.labels = "{\"xrole\":\"db\",\"site\":\"ams\"}";
	assert_false(target_match(&nf, &t));
	nf.labels = "{\"role\":\"db\",\"site\":\"ams\"}";
	nf.level = LEVEL_YELLOW;
	assert_false(target_match(&nf, &t));
	nf.level = LEVEL_GREEN;
	assert_true(target_match(&nf, &t));
	nf.hostname = "web-01";
	assert_false(target_match(&nf, &t));
	nf.hostname = "db-07.example";
	assert_true(target_match(&nf, &t)); /* a pattern, any case */
	nf.os_profile = "debian-11";
	assert_false(target_match(&nf, &t));
	nf.os_profile = "debian-12";
	nf.node_id = "00000000-0000-4000-8000-000000000009";
	assert_false(target_match(&nf, &t));
	nf.node_id = JOB;
	assert_true(target_match(&nf, &t));
	/* Only approved nodes. */
	for (int st = NODE_PENDING; st <= NODE_DELETED; st++) {
		nf.status = (enum node_status)st;
		assert_int_equal(target_match(&nf, &t), st == NODE_APPROVED);
	}
	/* Kept as JSON, read back the same. */
	buf_init(&b, 1 << 16);
	target_json(&t, &b);
	assert_string_equal(b.p,
	    "{\"labels\":{\"role\":\"db\",\"site\":\"ams\"},\"os_profile\":"
	    "\"debian-12\",\"attention\":[\"red\",\"green\"],\"hostname\":"
	    "\"DB-*\",\"node_ids\":[\"00000000-0000-4000-8000-000000000001\","
	    "\"" JOB "\"]}");
	buf_reset(&b);
	target_query(&t, &b);
	assert_string_equal(b.p,
	    "labels=role%3Ddb%2Csite%3Dams&os_profile=debian-12&attention="
	    "red%2Cgreen&hostname=DB-%2A&node_ids=00000000-0000-4000-8000-"
	    "000000000001%2C" JOB);
	buf_free(&b);
	target_free(&t);
}

static void
target_empty_selects_every_approved_node_and_none_selects_nothing(void **st)
{
	struct target	  t;
	char		  err[256];
	json_t		 *j = json_loads("{\"node_ids\":[]}", 0, NULL);
	struct node_facts nf =
	    facts("{}", "h", "p", LEVEL_GREEN, NODE_APPROVED);

	(void)st;
	assert_int_equal(target_from_json(NULL, &t, err, sizeof(err)), 0);
	assert_true(target_is_all(&t));
	assert_true(target_match(&nf, &t));
	target_free(&t);
	assert_int_equal(target_from_json(j, &t, err, sizeof(err)), 0);
	assert_false(target_is_all(&t));
	assert_false(target_match(&nf, &t));
	target_free(&t);
	json_decref(j);
}

static void
target_refuses_bad_input_with_the_field(void **state)
{
	static const char *const bad[][2] = {
		{ "[]", "target: must be an object" },
		{ "{\"labels\":{\"Role\":\"db\"}}", "target.labels" },
		{ "{\"labels\":[\"role\"]}", "target.labels" },
		{ "{\"os_profile\":7}", "target.os_profile" },
		{ "{\"os_profile\":\"a b\"}", "target.os_profile" },
		{ "{\"hostname\":[]}", "target.hostname" },
		{ "{\"hostname\":\"a\\u0001\"}", "target.hostname" },
		{ "{\"attention\":\"red\"}", "target.attention" },
		{ "{\"attention\":[]}", "target.attention" },
		{ "{\"attention\":[\"revoked\"]}", "target.attention" },
		{ "{\"node_ids\":[\"ABC\"]}", "target.node_ids" },
		{ "{\"node_ids\":[7]}", "target.node_ids" },
		{ "{\"node_ids\":\"" JOB "\"}", "target.node_ids" },
		{ "{\"tags\":{}}", "target: unknown field" },
	};
	struct target t;
	char	      err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i][0], 0, NULL);

		assert_non_null(j);
		assert_int_equal(target_from_json(j, &t, err, sizeof(err)), -1);
		if (strncmp(err, bad[i][1], strlen(bad[i][1])) != 0)
			fail_msg("%s: \"%s\"", bad[i][0], err);
		target_free(&t);
		json_decref(j);
	}
	assert_int_equal(target_from_fields("role", NULL, NULL, NULL, NULL, &t,
			     err, sizeof(err)),
	    -1);
	target_free(&t);
	assert_int_equal(target_from_fields(NULL, NULL, "red,blue", NULL, NULL,
			     &t, err, sizeof(err)),
	    -1);
	target_free(&t);
	assert_int_equal(target_from_fields(NULL, NULL, NULL, NULL, "x y", &t,
			     err, sizeof(err)),
	    -1);
	target_free(&t);
	assert_int_equal(target_from_fields("role=db site=ams", "p",
			     "red, yellow", "web-?", JOB " " JOB, &t, err,
			     sizeof(err)),
	    0);
	assert_int_equal(t.nlabels, 2);
	assert_int_equal(t.levels, (1u << LEVEL_RED) | (1u << LEVEL_YELLOW));
	assert_int_equal(t.nids, 1);
	target_free(&t);
}

/* ---- the rollout ---------------------------------------------------- */

static void
rollout_waves_are_the_canary_then_waves_of_a_size(void **state)
{
	struct rollout ro;
	size_t	       first, size;
	char	       err[256];
	json_t	      *j;

	(void)state;
	memset(&ro, 0, sizeof(ro));
	assert_int_equal(rollout_waves(&ro, 10, &first, &size), 1);
	assert_int_equal(first, 10);
	assert_int_equal(rollout_waves(&ro, 0, &first, &size), 0);
	ro.canary = 2;
	ro.wave_size = 4;
	assert_int_equal(rollout_waves(&ro, 10, &first, &size), 3);
	assert_int_equal(first, 2);
	assert_int_equal(size, 4);
	assert_int_equal(rollout_waves(&ro, 2, &first, &size), 1);
	ro.canary = 0;
	ro.canary_pct = 10;
	ro.wave_size = 0;
	assert_int_equal(rollout_waves(&ro, 101, &first, &size), 2);
	assert_int_equal(first, 11); /* rounded up */
	assert_int_equal(size, 90);
	ro.canary_pct = 0;
	ro.wave_size = 3;
	assert_int_equal(rollout_waves(&ro, 10, &first, &size), 4);
	assert_int_equal(first, 3);
	j = json_loads("{\"canary\":\"5%\",\"wave_size\":50,\"pause_secs\":"
		       "30,\"max_failure_pct\":0}",
	    0, NULL);
	assert_int_equal(rollout_from_json(j, &ro, err, sizeof(err)), 0);
	assert_int_equal(ro.canary_pct, 5);
	assert_int_equal(ro.max_failure_pct, 0);
	json_decref(j);
	assert_int_equal(rollout_from_json(NULL, &ro, err, sizeof(err)), 0);
	assert_int_equal(ro.max_failure_pct, -1);
	for (const char *const *s = (const char *const[]) { "[]",
		 "{\"canary\":0}", "{\"canary\":\"0%\"}", "{\"canary\":\"5\"}",
		 "{\"canary\":\"101%\"}", "{\"canary\":\"5%x\"}",
		 "{\"wave_size\":-1}", "{\"pause_secs\":1e3}",
		 "{\"max_failure_pct\":101}", "{\"waves\":2}", NULL };
	     *s != NULL; s++) {
		j = json_loads(*s, 0, NULL);
		assert_non_null(j);
		if (rollout_from_json(j, &ro, err, sizeof(err)) != -1)
			fail_msg("accepted %s", *s);
		json_decref(j);
	}
}

/* ---- the store ------------------------------------------------------ */

static void
add_nodes(struct cct_fx *f)
{
	for (int i = 0; i < NIDS; i++) {
		struct node_rec r;

		memset(&r, 0, sizeof(r));
		snprintf(r.node_id, sizeof(r.node_id), "%s", ids[i]);
		r.hostname = (char *)(uintptr_t)(i % 2 ? "b-host" : "a-host");
		r.os_profile = (char *)(uintptr_t) "debian-12";
		r.agent_version = (char *)(uintptr_t) "0.1.0";
		r.status = NODE_APPROVED;
		r.enrolled_at = NOW;
		assert_int_equal(store_node_insert(f->st, &r), 0);
	}
}

/* A job of ids[0..3] in waves {0,1}, {2,3} and ids[4] left out. */
static void
make_job(struct cct_fx *f)
{
	struct job_rec	j;
	struct job_node n[NIDS];

	memset(&j, 0, sizeof(j));
	snprintf(j.job_id, sizeof(j.job_id), "%s", JOB);
	j.command = "agent-info";
	j.args = "{}";
	j.reason = "a test's";
	j.target = "{}";
	j.rollout = "{\"canary\":2,\"wave_size\":2,\"pause_secs\":0}";
	j.created_by = "ops@example.com";
	j.created_at = NOW;
	j.status = "running";
	j.selected = 4;
	j.waves = 2;
	j.max_failure_pct = 50;
	memset(n, 0, sizeof(n));
	for (int i = 0; i < NIDS; i++) {
		snprintf(n[i].node_id, sizeof(n[i].node_id), "%s", ids[i]);
		n[i].wave = i < 4 ? i / 2 : -1;
		n[i].reason = i < 4 ? NULL : "policy: profile x may not run y";
	}
	assert_int_equal(store_job_create(f->st, &j, n, NIDS), 0);
}

/*
 * The wave's commands as the jobs module makes them (ids of nodes), those
 * in `handed` marked delivered (their polls wait); `handed` gets back what
 * the store kept of the marks.
 */
static int
start_handed(struct cct_fx *f, int wave, int first, int n, int *handed)
{
	struct cmd_new c[NIDS];
	int	       rc;

	memset(c, 0, sizeof(c));
	for (int i = 0; i < n; i++) {
		snprintf(c[i].command_id, sizeof(c[i].command_id),
		    "%08x-0000-4000-8000-%012x", (unsigned)wave & 0xffu,
		    (unsigned)i & 0xffu);
		c[i].node_id = ids[first + i];
		c[i].command = "agent-info";
		c[i].args = "{}";
		c[i].queued_by = "ops@example.com";
		c[i].job_id = JOB;
		c[i].queued_at = NOW;
		c[i].expires_at = NOW + 3600;
		c[i].delivered = handed != NULL && handed[i];
	}
	rc = store_job_start_wave(f->st, JOB, wave, c, (size_t)n, cct_sign_stub,
	    NULL);
	for (int i = 0; i < n; i++) {
		if (handed != NULL)
			handed[i] = c[i].delivered;
		free(c[i].payload);
		free(c[i].signature);
	}
	return rc;
}

static int
start(struct cct_fx *f, int wave, int first, int n)
{
	return start_handed(f, wave, first, n, NULL);
}

static int
count_in(const char *command, const char *status, int n, void *arg)
{
	int *c = arg;

	assert_null(command);
	for (int i = 0; i < JC_N; i++)
		if (strcmp(status, job_count_names[i]) == 0)
			c[i] += n;
	return 0;
}

static void
counts(struct cct_fx *f, int c[JC_N])
{
	memset(c, 0, sizeof(int) * JC_N);
	assert_int_equal(store_job_counts(f->st, JOB, count_in, c), 0);
}

struct got {
	char  node[8][37];
	char  status[8][16];
	int   wave[8];
	int   n;
	char *reason;
};

static int
result_in(const struct job_result *r, void *arg)
{
	struct got *g = arg;

	snprintf(g->node[g->n], 37, "%s", r->node_id);
	snprintf(g->status[g->n], 16, "%s", r->status);
	g->wave[g->n] = r->wave;
	if (r->reason != NULL && g->reason == NULL)
		g->reason = strdup(r->reason);
	g->n++;
	return 0;
}

static void
answer(struct cct_fx *f, const char *node, const char *cmd_id,
    const char *status, const char *output)
{
	struct cmd_result res;

	memset(&res, 0, sizeof(res));
	res.node_id = node;
	res.command_id = cmd_id;
	res.status = status;
	res.has_exit = 1;
	res.exit_code = strcmp(status, "ok") ? 1 : 0;
	res.output = output;
	res.now = NOW + 5;
	assert_int_equal(store_command_result(f->st, &res), RESULT_STORED);
}

static int
group_in(const char *status, const char *output, int n, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%d %s %s;", n, status,
	    output ? output : "-");
	return 0;
}

struct one_job {
	char status[24];
	int  wave;
	int  n;
};

static int
job_in(const struct job_rec *j, void *arg)
{
	struct one_job *o = arg;

	snprintf(o->status, sizeof(o->status), "%s", j->status);
	o->wave = j->wave;
	o->n++;
	return 0;
}

/*
 * A wave hands its command at once to a waiting poll only when the node
 * has nothing older queued or delivered: else the new command would
 * overtake that one, which the agent would then refuse as a replay.
 */
static void
store_job_wave_is_handed_only_where_nothing_older_is_out(void **state)
{
	struct cct_fx	*f = *state;
	int		 handed[2] = { 1, 1 };
	struct cmd_wire *w;
	size_t		 nw;

	add_nodes(f);
	make_job(f);
	/* ids[0] has a command out without a result (its answer was lost). */
	assert_int_equal(cct_queue(f->st, NULL, ids[0], NOW, NOW + 3600), 0);
	assert_int_equal(store_commands_deliver(f->st, ids[0], NOW, 8, &w, &nw),
	    0);
	assert_int_equal(nw, 1);
	cmd_wire_free(w, nw);
	assert_int_equal(start_handed(f, 0, 0, 2, handed), 2);
	assert_int_equal(handed[0], 0);
	assert_int_equal(handed[1], 1);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM commands WHERE job_id IS NOT"
			     " NULL AND status = 'queued'"),
	    1);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM commands WHERE job_id IS NOT"
			     " NULL AND status = 'delivered'"),
	    1);
	/* ids[0]'s job command waits behind the one out. */
	assert_int_equal(store_commands_deliver(f->st, ids[0], NOW, 8, &w, &nw),
	    0);
	assert_int_equal(nw, 0);
	cmd_wire_free(w, nw);
}

static void
store_job_waves_counts_results_and_cancel(void **state)
{
	struct cct_fx	   *f = *state;
	int		    c[JC_N];
	struct got	    g;
	struct one_job	    o;
	struct job_result_q q = { JOB, NULL, 0, 0, 10 };
	char		    groups[256] = "";
	struct cmd_wire	   *w;
	size_t		    nw;

	add_nodes(f);
	make_job(f);
	counts(f, c);
	assert_int_equal(c[JC_NOT_STARTED], 4); /* the left-out one: none */
	/* A wave starts once, and only after the one before it. */
	assert_int_equal(start(f, 1, 2, 2), -3);
	assert_int_equal(start(f, 0, 0, 2), 2);
	assert_int_equal(start(f, 0, 0, 2), -3);
	counts(f, c);
	assert_int_equal(c[JC_QUEUED], 2);
	assert_int_equal(c[JC_NOT_STARTED], 2);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_job_get(f->st, JOB, job_in, &o), 0);
	assert_int_equal(o.wave, 0);
	/* Delivered and answered like any command of the node. */
	assert_int_equal(store_commands_deliver(f->st, ids[0], NOW, 8, &w, &nw),
	    0);
	assert_int_equal(nw, 1);
	answer(f, ids[0], w[0].command_id, "error", "no such unit");
	cmd_wire_free(w, nw);
	answer(f, ids[1], "00000000-0000-4000-8000-000000000001", "error",
	    "no such unit");
	counts(f, c);
	assert_int_equal(c[JC_ERROR], 2);
	assert_int_equal(store_job_groups(f->st, JOB, 10, group_in, groups), 0);
	assert_string_equal(groups, "2 error no such unit;");
	assert_int_equal(store_job_update(f->st, JOB, "running", NOW, NOW + 6),
	    1);
	assert_int_equal(start(f, 1, 2, 2), 2);
	/* Failures first; by id with a cursor. */
	memset(&g, 0, sizeof(g));
	q.failures_first = 1;
	assert_int_equal(store_job_results(f->st, &q, result_in, &g), 0);
	assert_int_equal(g.n, 5);
	assert_string_equal(g.status[0], "error");
	assert_string_equal(g.status[1], "error");
	assert_string_equal(g.status[2], "queued");
	assert_string_equal(g.status[4], "excluded");
	assert_string_equal(g.reason, "policy: profile x may not run y");
	free(g.reason);
	memset(&g, 0, sizeof(g));
	q.failures_first = 0;
	q.after = ids[1];
	q.limit = 2;
	assert_int_equal(store_job_results(f->st, &q, result_in, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.node[0], ids[2]);
	assert_int_equal(g.wave[0], 1);
	assert_string_equal(g.node[1], ids[3]);
	/* Cancelled: what is queued, once; the queued count told. */
	assert_int_equal(
	    store_job_cancel(f->st, JOB, "cancelled", NOW + 7, NULL, NULL), 2);
	assert_int_equal(
	    store_job_cancel(f->st, JOB, "cancelled", NOW + 8, NULL, NULL), -2);
	assert_int_equal(store_job_update(f->st, JOB, "done", NOW, NOW), 0);
	counts(f, c);
	assert_int_equal(c[JC_CANCELLED], 2);
	assert_int_equal(c[JC_QUEUED], 0);
	assert_int_equal(store_commands_deliver(f->st, ids[2], NOW, 8, &w, &nw),
	    0);
	assert_int_equal(nw, 0);
	cmd_wire_free(w, nw);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_job_list(f->st, 0, "cancelled", 10, job_in, &o),
	    0);
	assert_int_equal(o.n, 1);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_job_list(f->st, 0, "running", 10, job_in, &o),
	    0);
	assert_int_equal(o.n, 0);
	assert_int_equal(store_job_get(f->st,
			     "99999999-2222-4333-8444-555555555555", job_in,
			     &o),
	    -2);
	/* A restart keeps all of it. */
	cct_reopen(f);
	counts(f, c);
	assert_int_equal(c[JC_ERROR], 2);
	assert_int_equal(c[JC_CANCELLED], 2);
}

static void
store_migration_12_makes_commands_again_keeping_every_row(void **state)
{
	struct cct_fx	 *f = *state;
	struct cmd_result res;
	struct finding	  fd = { "F1", "high", "t", "d", NULL };

	CCT_SQLITE_ONLY();
	add_nodes(f);
	assert_int_equal(cct_queue(f->st,
			     "00000000-0000-4000-8000-0000000000aa", ids[0],
			     NOW, NOW + 60),
	    0);
	memset(&res, 0, sizeof(res));
	res.node_id = ids[0];
	res.command_id = "00000000-0000-4000-8000-0000000000aa";
	res.status = "ok";
	res.now = NOW;
	res.findings = &fd;
	res.nfindings = 1;
	assert_int_equal(store_command_result(f->st, &res), RESULT_STORED);
	cct_db_exec(f,
	    "UPDATE commands SET command = 'sovereign-scan';"
	    "INSERT INTO scans VALUES ('00000000-0000-4000-8000-0000000000aa',"
	    " '"
	    "00000000-0000-4000-8000-000000000001"
	    "', 1, 0, 1, 0, 0, 0);"
	    "DROP TABLE jobs;DROP TABLE job_nodes;DROP TABLE job_schedules;"
	    "DROP TABLE approvals;DROP TABLE webhook_outbox;"
	    "DROP TABLE webhook_levels;DROP TABLE cc_keys;"
	    "ALTER TABLE nodes DROP COLUMN pinned_key_id;"
	    "PRAGMA user_version = 11");
	cct_reopen(f);
	assert_int_equal(cct_db_int(f, "PRAGMA user_version"), 16);
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM commands WHERE status = 'ok'"
			     " AND job_id IS NULL"),
	    1);
	assert_int_equal(cct_db_int(f, "SELECT count(*) FROM scans"), 1);

	/* The new table takes the new status; its indexes are there. */
	cct_db_exec(f, "UPDATE commands SET status = 'cancelled'");
	assert_int_equal(cct_db_int(f,
			     "SELECT count(*) FROM sqlite_master WHERE name IN"
			     " ('commands_by_node', 'commands_open',"
			     " 'commands_by_job')"),
	    3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(target_json_selects_by_every_part),
		cmocka_unit_test(
		    target_empty_selects_every_approved_node_and_none_selects_nothing),
		cmocka_unit_test(target_refuses_bad_input_with_the_field),
		cmocka_unit_test(
		    rollout_waves_are_the_canary_then_waves_of_a_size),
#define T(fn) cmocka_unit_test_setup_teardown(fn, cct_setup_store, cct_teardown)
		T(store_job_waves_counts_results_and_cancel),
		T(store_job_wave_is_handed_only_where_nothing_older_is_out),
		T(store_migration_12_makes_commands_again_keeping_every_row),
#undef T
	};

	log_set_level("error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
