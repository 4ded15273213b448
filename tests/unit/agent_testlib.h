/*
 * The agent's test fixtures: the tree a scan test looks at, the fixture
 * programs beside it and the options of a scan of that tree, shared by
 * agent_test_scan.c and agent_test_scan_rules.c. Linked into the agent_*
 * unit tests only; built with node-agent/ in its path.
 */
#ifndef VM_AGENT_TESTLIB_H
#define VM_AGENT_TESTLIB_H

#include <jansson.h>

#include "scan.h"
#include "testlib.h"

/* fx.tree is scanned, fx.bin's programs run; opts: of that scan. */
extern struct tl_tree	fx;
extern struct scan_opts opts;

/* cmocka group fixtures: make fx, and remove it with all in it. */
int scan_fx_setup(void **state);
int scan_fx_teardown(void **state);
/* Empties the tree; opts zeroed but for the root, the tree. */
void scan_fx_fresh(void);
/* The findings of a scan of the checks named only (NULL: all of them). */
json_t *scan_fx_run(const char *only);
/* The same, expected to be n findings (printed when they are not). */
json_t *scan_fx_count(const char *only, size_t n);
/* Expects a scan of the checks named only to give n findings. */
void scan_fx_expect(const char *only, size_t n);
/* The same for one finding, id of severity. */
void scan_fx_expect_one(const char *only, const char *id, const char *severity);

/* Writes text to the tree's rel, parents made. */
#define put_mode(rel, text, mode) tl_write(fx.tree, rel, text, mode)
#define put(rel, text) put_mode(rel, text, 0644)
/* A fixture program: fx.bin/name, a script run by execve. */
#define script(name, body) tl_script(fx.bin, name, body)
/* The first finding with id (and severity, unless NULL), and its detail. */
#define find(findings, id, severity) tl_finding(findings, id, severity)
#define detail(f) tl_detail(f)

#endif
