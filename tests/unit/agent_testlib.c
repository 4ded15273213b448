/*
 * The agent's test fixtures (agent_testlib.h). Its name starts with agent_
 * so the Makefile builds it with node-agent/ in the include path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent_testlib.h"

struct tl_tree	 fx;
struct scan_opts opts;

int
scan_fx_setup(void **state)
{
	(void)state;
	return tl_tree_init(&fx, "vm-scan");
}

int
scan_fx_teardown(void **state)
{
	(void)state;
	return tl_tree_fini(&fx);
}

void
scan_fx_fresh(void)
{
	tl_tree_empty(&fx);
	memset(&opts, 0, sizeof(opts));
	opts.root = fx.tree;
}

json_t *
scan_fx_run(const char *only)
{
	char	err[256] = "";
	json_t *f;

	opts.only = only;
	if ((f = scan_run(&opts, err, sizeof(err))) == NULL)
		fail_msg("scan_run: %s", err);
	return f;
}

json_t *
scan_fx_count(const char *only, size_t n)
{
	json_t *f = scan_fx_run(only);
	char   *s;

	if (json_array_size(f) != n) {
		s = json_dumps(f, JSON_INDENT(1));
		print_message("%s\n", s != NULL ? s : "(null)");
		free(s);
		fail_msg("%s: %zu findings, want %zu", only ? only : "all",
		    json_array_size(f), n);
	}
	return f;
}

void
scan_fx_expect(const char *only, size_t n)
{
	json_decref(scan_fx_count(only, n));
}

void
scan_fx_expect_one(const char *only, const char *id, const char *severity)
{
	json_t *f = scan_fx_count(only, 1);

	if (tl_finding(f, id, severity) == NULL)
		fail_msg("%s: no %s finding %s", only ? only : "all", severity,
		    id);
	json_decref(f);
}
