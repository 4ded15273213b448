/*
 * What the unit tests share, whichever program they test: table loops,
 * temporary folders and files, cmocka fixtures over them, and checks of
 * rendered text and of findings. Every unit test binary links testlib.c,
 * which sees common/ only; each program's own fixtures are in
 * cc_testlib.h and agent_testlib.h.
 *
 * The helpers fail the running test (cmocka's fail_msg) when a test could
 * not go on; the cmocka fixtures return -1 where they can.
 */
#ifndef VM_TESTLIB_H
#define VM_TESTLIB_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/* The number of elements of the array a. */
#define TL_NITEMS(a) (sizeof(a) / sizeof((a)[0]))
/* One past the last element of the array a. */
#define TL_END(a) ((a) + TL_NITEMS(a))
/* Points var at each element of the array a in turn. */
#define TL_FOREACH(var, a) for ((var) = (a); (var) < TL_END(a); (var)++)

/* ---- temporary files ---------------------------------------------------- */

/* tmpfs when there is one (SQLite fsyncs every commit), else $TMPDIR. */
const char *tl_tmp_base(void);
/* A folder programs may be run from: tmpfs is often mounted noexec. */
const char *tl_exec_base(void);

/*
 * Makes the folder "<where>/<prefix>.XXXXXX" (where NULL: tl_tmp_base())
 * and puts its name in dir[n]. 0, or -1 with errno set.
 */
int tl_mkdtemp(char *dir, size_t n, const char *where, const char *prefix);
/* Removes path and all below it, as rm -rf; gone already is fine. 0 or -1. */
int tl_rmtree(const char *path);
/* Makes path and its missing parents (0755), as mkdir -p. */
void tl_mkdirs(const char *path);
/* Writes text to dir/rel (rel NULL: dir), parents made, with mode. */
void
tl_write(const char *dir, const char *rel, const char *text, unsigned mode);
/* A program dir/name running body with /bin/sh; its path (static). */
const char *tl_script(const char *dir, const char *name, const char *body);
/* A new empty file "<tl_tmp_base()>/<prefix>.XXXXXX", named in out[n]. */
void tl_tmp_file(char *out, size_t n, const char *prefix);
/* Removes every variable whose name starts with prefix from environ. */
void tl_unsetenv_prefix(const char *prefix);
/* Sets each "NAME=value" of a NULL-ended list in the environment. */
void tl_setenvs(const char *first, ...) __attribute__((sentinel));

/* A temporary folder and the path of a file in it (not made). */
struct tl_dir {
	char dir[256];
	char path[320]; /* dir/file */
};

/* Makes the folder (tl_mkdtemp() under tmpfs) and names file in it. */
int tl_dir_init(struct tl_dir *t, const char *prefix, const char *file);
/* Removes the folder and all in it. 0 or -1. */
int tl_dir_fini(struct tl_dir *t);

/*
 * A tree to scan and a folder of fixture programs beside it, under base:
 * not on tmpfs, as the programs run from it.
 */
struct tl_tree {
	char base[256];
	char tree[300]; /* base/tree */
	char bin[300];	/* base/bin */
};

/* Makes base ("<tl_exec_base()>/<prefix>.XXXXXX"), tree and bin. 0 or -1. */
int tl_tree_init(struct tl_tree *t, const char *prefix);
/* Removes base and all in it. 0 or -1. */
int tl_tree_fini(struct tl_tree *t);
/* Empties the tree. */
void tl_tree_empty(struct tl_tree *t);

/* ---- cmocka fixtures ---------------------------------------------------- */

/* size zeroed bytes as a test's state (*state); no memory fails the test. */
void *tl_state_new(void **state, size_t size);
/* Frees that state. */
int tl_state_free(void **state);
/* *state is a struct tl_dir of a file named "file"; removed after. */
int tl_dir_setup(void **state);
int tl_dir_teardown(void **state);
/* For a group whose code needs libsodium. */
int tl_sodium_setup(void **state);

/* ---- checks ------------------------------------------------------------- */

/*
 * Expects pred to hold for each string of yes[] and for none of no[]
 * (NULL members allowed); what names pred in the failure message.
 */
void tl_expect_split(int (*pred)(const char *), const char *what,
    const char *const *yes, size_t nyes, const char *const *no, size_t nno);
#define TL_EXPECT_SPLIT(pred, yes, no) \
	tl_expect_split(pred, #pred, yes, TL_NITEMS(yes), no, TL_NITEMS(no))

/* Fails naming the first string of what[] (n of them) s does not hold. */
void tl_expect_all(const char *s, const char *const *what, size_t n);
/* Fails naming the first string of what[] (n of them) that s holds. */
void tl_expect_none(const char *s, const char *const *what, size_t n);
#define TL_EXPECT_NONE(s, what) tl_expect_none(s, what, TL_NITEMS(what))

/* How often what occurs in s. */
size_t tl_count(const char *s, const char *what);
/* What was rendered into b, which must not have failed; free() it. */
char *tl_take(struct buf *b);

/* The first finding with id and severity (NULL: any), or NULL. */
json_t *tl_finding(json_t *findings, const char *id, const char *severity);
/* f's detail; a missing finding (f NULL) fails the test. */
const char *tl_detail(json_t *f);
/* How many findings have id. */
size_t tl_count_findings(json_t *findings, const char *id);

#endif
