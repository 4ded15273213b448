/*
 * Files under VAULTMESH_ROOT: creation and modes, node id, token, pinned
 * key, last seq, and the result spool (write, list oldest first, delete).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../node-agent/agent.h"

static char base[] = "/tmp/agent_test_state.XXXXXX";
static char root[512];

static int
setup(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	assert_non_null(mkdtemp(base));
	snprintf(root, sizeof(root), "%s/a/b/root", base);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static mode_t
mode_of(const char *name)
{
	char		p[600];
	struct stat	st;

	snprintf(p, sizeof(p), "%s/%s", root, name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static void
prepare_creates_root_0700_with_spool(void **state)
{
	char err[256] = "", p[600];

	(void)state;
	assert_int_equal(state_prepare(root, err, sizeof(err)), 0);
	assert_int_equal(mode_of(""), 0700);
	assert_int_equal(mode_of("spool"), 0700);
	/* A loosened root is tightened again; leftovers are removed. */
	chmod(root, 0755);
	snprintf(p, sizeof(p), "%s/spool/x.json.tmp.123", root);
	assert_int_equal(file_write_atomic(p, "x", 1, 0600), 0);
	assert_int_equal(state_prepare(root, err, sizeof(err)), 0);
	assert_int_equal(mode_of(""), 0700);
	assert_int_equal(access(p, F_OK), -1);
}

static void
prepare_fails_on_a_file(void **state)
{
	char err[256] = "", p[600];

	(void)state;
	snprintf(p, sizeof(p), "%s/plainfile", base);
	assert_int_equal(file_write_atomic(p, "x", 1, 0600), 0);
	assert_int_equal(state_prepare(p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VAULTMESH_ROOT"));
}

static void
node_id_is_created_once_then_loaded(void **state)
{
	char id1[UUID_STRLEN + 1], id2[UUID_STRLEN + 1], err[256], p[600];

	(void)state;
	assert_int_equal(state_prepare(root, err, sizeof(err)), 0);
	assert_int_equal(state_node_id(root, id1, err, sizeof(err)), 0);
	assert_true(uuid_valid(id1));
	assert_int_equal(mode_of("node_id"), 0600);
	assert_int_equal(state_node_id(root, id2, err, sizeof(err)), 0);
	assert_string_equal(id1, id2);
	/* A garbled id is an error, never silently replaced. */
	snprintf(p, sizeof(p), "%s/node_id", root);
	assert_int_equal(file_write_atomic(p, "garbage\n", 8, 0600), 0);
	assert_int_equal(state_node_id(root, id2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node_id"));
	assert_int_equal(file_write_atomic(p, id1, strlen(id1), 0600), 0);
}

static void
token_key_and_seq_round_trip(void **state)
{
	char		 tok[AGENT_TOKEN_MAX + 1], p[600];
	unsigned char	 pk[32], got[32];
	int64_t		 seq;

	(void)state;
	assert_int_equal(state_load_token(root, tok, sizeof(tok)), 0);
	assert_int_equal(state_save_token(root, "tok-123"), 0);
	assert_int_equal(mode_of("node_token"), 0600);
	assert_int_equal(state_load_token(root, tok, sizeof(tok)), 1);
	assert_string_equal(tok, "tok-123");
	snprintf(p, sizeof(p), "%s/node_token", root);
	assert_int_equal(file_write_atomic(p, "has space", 9, 0600), 0);
	assert_int_equal(state_load_token(root, tok, sizeof(tok)), -1);

	assert_int_equal(state_load_pubkey(root, got), 0);
	randombytes_buf(pk, sizeof(pk));
	assert_int_equal(state_save_pubkey(root, pk), 0);
	assert_int_equal(mode_of("cc_ed25519.pub"), 0600);
	assert_int_equal(state_load_pubkey(root, got), 1);
	assert_memory_equal(pk, got, 32);

	assert_int_equal(state_load_seq(root, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(state_save_seq(root, 9007199254740993LL), 0);
	assert_int_equal(mode_of("last_seq"), 0600);
	assert_int_equal(state_load_seq(root, &seq), 0);
	assert_int_equal(seq, 9007199254740993LL);
	snprintf(p, sizeof(p), "%s/last_seq", root);
	assert_int_equal(file_write_atomic(p, "12x", 3, 0600), 0);
	assert_int_equal(state_load_seq(root, &seq), -1);
	assert_int_equal(file_write_atomic(p, "-1", 2, 0600), 0);
	assert_int_equal(state_load_seq(root, &seq), -1);
}

static void
spool_write_list_read_delete(void **state)
{
	const char	*a = "aaaaaaaa-0000-4000-8000-000000000001";
	const char	*b = "bbbbbbbb-0000-4000-8000-000000000002";
	char		**ids;
	char		*body, p[600];
	size_t		 n, len;
	struct timespec	 ts[2] = { { 1000, 0 }, { 1000, 0 } };

	(void)state;
	assert_int_equal(spool_list(root, &ids, &n), 0);
	assert_int_equal(n, 0);
	spool_list_free(ids, n);
	assert_int_equal(spool_write(root, b, "{\"b\":1}", 7), 0);
	assert_int_equal(spool_write(root, a, "{\"a\":1}", 7), 0);
	assert_int_equal(mode_of("spool/aaaaaaaa-0000-4000-8000-000000000001.json"),
	    0600);
	/* b is older: it comes first whatever the names. */
	snprintf(p, sizeof(p), "%s/spool/%s.json", root, b);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	/* Foreign names are ignored. */
	snprintf(p, sizeof(p), "%s/spool/notes.txt", root);
	assert_int_equal(file_write_atomic(p, "x", 1, 0600), 0);
	assert_int_equal(spool_list(root, &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], b);
	assert_string_equal(ids[1], a);
	spool_list_free(ids, n);

	assert_non_null(body = spool_read(root, a, &len));
	assert_string_equal(body, "{\"a\":1}");
	assert_int_equal(len, 7);
	free(body);
	assert_int_equal(spool_delete(root, a), 0);
	assert_int_equal(spool_delete(root, a), 0);	/* already gone: fine */
	assert_null(spool_read(root, a, &len));
	assert_int_equal(spool_list(root, &ids, &n), 0);
	assert_int_equal(n, 1);
	spool_list_free(ids, n);
	/* Ids that are not UUIDs never become paths. */
	assert_int_equal(spool_write(root, "../../etc/x", "{}", 2), -1);
	assert_int_equal(spool_delete(root, "../node_token"), -1);
	assert_true(spool_name_valid("aaaaaaaa-0000-4000-8000-000000000001.json"));
	assert_false(spool_name_valid("aaaaaaaa-0000-4000-8000-000000000001.js"));
	assert_false(spool_name_valid("x.json"));
	spool_list_free(NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prepare_creates_root_0700_with_spool),
		cmocka_unit_test(prepare_fails_on_a_file),
		cmocka_unit_test(node_id_is_created_once_then_loaded),
		cmocka_unit_test(token_key_and_seq_round_trip),
		cmocka_unit_test(spool_write_list_read_delete),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
