/*
 * Unit tests of command-center/keys.c over a real store (SQLite, or
 * PostgreSQL with VM_TEST_PG): the root key from the key file, rotations
 * and their links, commands signed again with the current key, the
 * retirement of replaced keys (every node moved, or the overlap over), the
 * key file losing its seed once the root is retired, emergency rotations,
 * and a key file that is not the store's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "cc_testlib.h"
#include "command.h"
#include "keychain.h"
#include "log.h"
#include "util.h"

#define HOUR 3600

static char keyfile[600];

/* keys_init() on f's store with the key file beside its database. */
static int
init(struct cct_fx *f, int64_t overlap, char *err, size_t n)
{
	snprintf(keyfile, sizeof(keyfile), "%s/cc.key", f->db.dir);
	keys_wipe();
	return keys_init("VAULTMESH_CC_KEY_PATH", keyfile, f->st, overlap, err,
	    n);
}

static void
init_ok(struct cct_fx *f, int64_t overlap)
{
	char err[512] = "";

	if (init(f, overlap, err, sizeof(err)) != 0)
		fail_msg("keys_init: %s", err);
}

/* The current key's public key. */
static void
current_pk(unsigned char pk[32])
{
	char b64[48];

	keys_current(b64, NULL, NULL);
	assert_int_equal(b64_decode(b64, pk, 32), 32);
}

/* Walks what keys_chain_field() gives from pk at version. */
static int
walk(const char *pinned_id, unsigned char pk[32], int64_t *version)
{
	struct buf b;
	json_t	  *o;
	char	  *text, why[160];
	int	   n;

	buf_init(&b, 1u << 20);
	buf_putc(&b, '{');
	buf_puts(&b, "\"x\":0");
	if (keys_chain_field(&b, pinned_id) != 1) {
		buf_free(&b);
		return 0;
	}
	buf_putc(&b, '}');
	text = buf_take(&b, NULL);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	n = keychain_walk(json_object_get(o, "key_chain"), pk, version, why,
	    sizeof(why));
	if (n == -1)
		fail_msg("walk: %s", why);
	json_decref(o);
	free(text);
	return n;
}

struct states {
	char	state[8][12];
	int	sealed[8];
	int64_t retire_by[8];
	int	n;
};

static int
state_cb(const struct key_rec *k, void *arg)
{
	struct states *s = arg;

	if (s->n < 8) {
		snprintf(s->state[s->n], sizeof(s->state[0]), "%s", k->state);
		s->sealed[s->n] = k->sealed != NULL;
		s->retire_by[s->n] = k->retire_by;
		s->n++;
	}
	return 0;
}

static struct states
states_of(struct cct_fx *f)
{
	struct states s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_keys(f->st, state_cb, &s), 0);
	return s;
}

static void
a_rotation_signs_with_the_new_key_and_links_from_the_old(void **state)
{
	struct cct_fx *f = *state;
	unsigned char  pk1[32], pk2[32], at[32];
	char	       id1[33], id2[33], *p64, *s64, *plain, why[160];
	size_t	       plen;
	int64_t	       v, version;
	struct states  s;

	init_ok(f, 24 * HOUR);
	current_pk(pk1);
	keys_current(NULL, id1, &version);
	assert_int_equal(version, 1);
	/* One key: nothing to walk. */
	assert_int_equal(keys_chain_wanted(NULL), 0);
	assert_int_equal(keys_rotate(0, id2, why, sizeof(why)), 1);
	current_pk(pk2);
	assert_memory_not_equal(pk1, pk2, 32);
	keys_current(NULL, NULL, &version);
	assert_int_equal(version, 2);
	s = states_of(f);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.state[0], "retiring");
	assert_true(s.sealed[0]); /* kept during the overlap */
	assert_true(s.retire_by[0] >= time(NULL) + 24 * HOUR - 5);
	assert_string_equal(s.state[1], "current");
	/* Commands are signed with key 2. */
	assert_int_equal(keys_sign("{}", 2, &p64, &s64), 0);
	assert_int_equal(
	    cmd_verify(pk2, p64, s64, &plain, &plen, why, sizeof(why)), 0);
	free(plain);
	assert_int_equal(
	    cmd_verify(pk1, p64, s64, &plain, &plen, why, sizeof(why)), -1);
	free(p64);
	free(s64);
	/* An agent on key 1 walks to key 2; one on key 2 gets no chain. */
	memcpy(at, pk1, 32);
	v = 1;
	assert_true(keys_chain_wanted(id1));
	assert_int_equal(walk(id1, at, &v), 1);
	assert_memory_equal(at, pk2, 32);
	assert_int_equal(v, 2);
	assert_false(keys_chain_wanted(id2));
	assert_int_equal(walk(id2, at, &v), 0);
	/* A restart reads the same keys back. */
	cct_reopen(f);
	init_ok(f, 24 * HOUR);
	current_pk(at);
	assert_memory_equal(at, pk2, 32);
	keys_wipe();
}

static void
commands_signed_before_a_rotation_go_out_signed_again(void **state)
{
	struct cct_fx  *f = *state;
	struct cmd_wire w[2];
	unsigned char	pk2[32];
	char		id[33], why[160], *plain;
	size_t		plen;

	init_ok(f, 24 * HOUR);
	memset(w, 0, sizeof(w));
	snprintf(w[0].command_id, sizeof(w[0].command_id), "a");
	assert_int_equal(
	    keys_sign("{\"n\":1}", 7, &w[0].payload, &w[0].signature), 0);
	assert_int_equal(keys_rotate(0, id, why, sizeof(why)), 1);
	snprintf(w[1].command_id, sizeof(w[1].command_id), "b");
	assert_int_equal(
	    keys_sign("{\"n\":2}", 7, &w[1].payload, &w[1].signature), 0);
	current_pk(pk2);
	assert_int_equal(cmd_verify(pk2, w[0].payload, w[0].signature, &plain,
			     &plen, why, sizeof(why)),
	    -1);
	assert_int_equal(keys_for_delivery(w, 2), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(cmd_verify(pk2, w[i].payload, w[i].signature,
				     &plain, &plen, why, sizeof(why)),
		    0);
		assert_int_equal(plen, 7);
		free(plain);
		free(w[i].payload);
		free(w[i].signature);
	}
	keys_wipe();
}

static void
a_replaced_key_is_destroyed_when_every_node_moved_or_the_overlap_ends(
    void **state)
{
	struct cct_fx *f = *state;
	char	       id[33], why[160], *text;
	int64_t	       now = time(NULL);
	struct states  s;

	init_ok(f, 24 * HOUR);
	assert_int_equal(keys_rotate(0, id, why, sizeof(why)), 1);
	/* Three nodes not moved, the overlap not over: kept. */
	keys_tick(now, 1, 3);
	s = states_of(f);
	assert_string_equal(s.state[0], "retiring");
	assert_true(keys_retiring());
	/* Not the leader: not its decision. */
	keys_tick(now, 0, 0);
	assert_string_equal(states_of(f).state[0], "retiring");
	/* Every node moved: retired, its secret gone. */
	keys_tick(now, 1, 0);
	s = states_of(f);
	assert_string_equal(s.state[0], "retired");
	assert_false(s.sealed[0]);
	assert_false(keys_retiring());
	/* The root is retired: the key file keeps the sealing key alone. */
	text = file_read(keyfile, 256, NULL);
	assert_non_null(text);
	assert_int_equal(strncmp(text, "seal:", 5), 0);
	free(text);
	/* And the next start works from it. */
	init_ok(f, 0);
	/* Overlap 0: the next key replaced goes at the next tick. */
	assert_int_equal(keys_rotate(0, id, why, sizeof(why)), 1);
	keys_tick(now + 1, 1, 5);
	s = states_of(f);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.state[1], "retired");
	assert_string_equal(s.state[2], "current");
	keys_wipe();
}

static void
an_emergency_rotation_links_nothing_and_retires_every_older_key(void **state)
{
	struct cct_fx *f = *state;
	char	       id1[33], id2[33], id3[33], why[160];
	unsigned char  at[32];
	int64_t	       v = 1;
	struct states  s;

	init_ok(f, 24 * HOUR);
	current_pk(at);
	keys_current(NULL, id1, NULL);
	assert_int_equal(keys_rotate(0, id2, why, sizeof(why)), 1);
	assert_int_equal(keys_rotate(1, id3, why, sizeof(why)), 1);
	s = states_of(f);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.state[0], "retired");
	assert_string_equal(s.state[1], "retired");
	assert_false(s.sealed[0]);
	assert_false(s.sealed[1]);
	assert_string_equal(s.state[2], "current");
	/* No chain reaches the new key: nodes must be pinned by hand. */
	assert_false(keys_chain_wanted(id1));
	assert_int_equal(walk(id1, at, &v), 0);
	keys_wipe();
}

static void
a_node_far_behind_walks_the_chain_over_several_answers(void **state)
{
	struct cct_fx *f = *state;
	unsigned char  at[32], cur[32];
	char	       id[33], why[160];
	int64_t	       v = 1, version;

	init_ok(f, 24 * HOUR);
	current_pk(at);
	keys_current(NULL, id, NULL);
	for (int i = 0; i < KEYCHAIN_MAX + 2; i++)
		assert_int_equal(keys_rotate(0, id, why, sizeof(why)), 1);
	keys_current(NULL, NULL, &version);
	assert_int_equal(version, KEYCHAIN_MAX + 3);
	/* One answer: the first KEYCHAIN_MAX links from its key. */
	key_id_of(at, id);
	assert_int_equal(walk(id, at, &v), KEYCHAIN_MAX);
	assert_int_equal(v, KEYCHAIN_MAX + 1);
	/* The next answer starts where it got to. */
	key_id_of(at, id);
	assert_int_equal(walk(id, at, &v), 2);
	current_pk(cur);
	assert_memory_equal(at, cur, 32);
	keys_wipe();
}

static void
a_key_file_that_is_not_the_stores_is_refused(void **state)
{
	struct cct_fx *f = *state;
	char	       err[512] = "", *text;
	unsigned char  seed[32];

	init_ok(f, HOUR);
	keys_wipe();
	/* Another seed in the file: not this store's root. */
	randombytes_buf(seed, sizeof(seed));
	text = b64_encode(seed, sizeof(seed));
	assert_int_equal(file_write_atomic(keyfile, text, strlen(text), 0600),
	    0);
	free(text);
	assert_int_equal(init(f, HOUR, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not the key this store began with"));
	/* A sealing key that is not the store's opens nothing. */
	text = b64_encode(seed, sizeof(seed));
	{
		char line[96];

		snprintf(line, sizeof(line), "seal:%s\n", text);
		assert_int_equal(
		    file_write_atomic(keyfile, line, strlen(line), 0600), 0);
	}
	free(text);
	assert_int_equal(init(f, HOUR, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not open"));
	keys_wipe();
}

static void
a_rotation_that_lost_the_race_changes_nothing(void **state)
{
	struct cct_fx *f = *state;
	struct key_rec r;
	struct states  s;

	init_ok(f, HOUR);
	/* Another replica took version 2 first; this one tries it too. */
	memset(&r, 0, sizeof(r));
	r.version = 1;
	snprintf(r.key_id, sizeof(r.key_id), "%032d", 0);
	snprintf(r.public_key, sizeof(r.public_key), "x");
	r.state = "current";
	assert_int_equal(store_key_add(f->st, &r), 0);
	r.version = 3;
	assert_int_equal(store_key_add(f->st, &r), 0);
	s = states_of(f);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.state[0], "current");
	assert_int_equal(store_key_version(f->st), 1);
	keys_wipe();
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, cct_setup_store, cct_teardown)
	const struct CMUnitTest tests[] = {
		T(a_rotation_signs_with_the_new_key_and_links_from_the_old),
		T(commands_signed_before_a_rotation_go_out_signed_again),
		T(a_replaced_key_is_destroyed_when_every_node_moved_or_the_overlap_ends),
		T(an_emergency_rotation_links_nothing_and_retires_every_older_key),
		T(a_node_far_behind_walks_the_chain_over_several_answers),
		T(a_key_file_that_is_not_the_stores_is_refused),
		T(a_rotation_that_lost_the_race_changes_nothing),
#undef T
	};

	log_set_level("error");
	if (tl_sodium_setup(NULL) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
