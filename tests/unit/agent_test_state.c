/*
 * Files under VAULTMESH_ROOT: creation and modes, node id, enroll key,
 * token, pinned key, last seq, and the result spool (write, list oldest
 * first, delete).
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

#include "../../common/log.h"
#include "command.h"
#include "state.h"
#include "testlib.h"

static char base[256];
static char root[512];

static int
setup(void **state)
{
	if (tl_sodium_setup(state) == -1 ||
	    tl_mkdtemp(base, sizeof(base), NULL, "agent_test_state") == -1)
		return -1;
	snprintf(root, sizeof(root), "%s/a/b/root", base);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tl_rmtree(base);
}

static mode_t
mode_of(const char *name)
{
	char	    p[600];
	struct stat st;

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

static int
is_enroll_key(const char *k)
{
	return strlen(k) == AGENT_ENROLL_KEY_LEN &&
	    strspn(k,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789-_") == AGENT_ENROLL_KEY_LEN;
}

static void
enroll_key_is_created_once_then_loaded(void **state)
{
	char k1[AGENT_ENROLL_KEY_LEN + 1], k2[AGENT_ENROLL_KEY_LEN + 1];
	char err[256] = "", p[600], want[AGENT_ENROLL_KEY_LEN + 2], *f;
	char logp[600], *logs;
	int  fd;

	(void)state;
	assert_int_equal(state_prepare(root, err, sizeof(err)), 0);
	snprintf(logp, sizeof(logp), "%s/log", base);
	assert_true((fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	log_set_level("info");
	log_set_fd(fd);
	assert_int_equal(state_enroll_key(root, k1, err, sizeof(err)), 0);
	log_set_fd(2);
	close(fd);
	assert_true(is_enroll_key(k1));
	assert_int_equal(mode_of("enroll_key"), 0600);
	/* The file holds the key and a newline, nothing else. */
	snprintf(p, sizeof(p), "%s/enroll_key", root);
	assert_non_null(f = file_read(p, 256, NULL));
	snprintf(want, sizeof(want), "%s\n", k1);
	assert_string_equal(f, want);
	free(f);
	/* Creation is logged with the path, never the key. */
	assert_non_null(logs = file_read(logp, 65536, NULL));
	assert_non_null(strstr(logs, "enroll_key_created"));
	assert_non_null(strstr(logs, p));
	assert_null(strstr(logs, k1));
	free(logs);
	assert_int_equal(state_enroll_key(root, k2, err, sizeof(err)), 0);
	assert_string_equal(k1, k2);
	assert_int_equal(state_enroll_key(root, k2, err, sizeof(err)), 0);
	assert_string_equal(k1, k2);
}

static void
enroll_key_differs_between_roots(void **state)
{
	char k1[AGENT_ENROLL_KEY_LEN + 1], k2[AGENT_ENROLL_KEY_LEN + 1];
	char err[256] = "", other[600];

	(void)state;
	snprintf(other, sizeof(other), "%s/other", base);
	assert_int_equal(state_prepare(other, err, sizeof(err)), 0);
	assert_int_equal(state_enroll_key(root, k1, err, sizeof(err)), 0);
	assert_int_equal(state_enroll_key(other, k2, err, sizeof(err)), 0);
	assert_true(is_enroll_key(k1));
	assert_true(is_enroll_key(k2));
	assert_string_not_equal(k1, k2);
}

static void
enroll_key_garbled_is_an_error_and_kept(void **state)
{
	static const char *bad[] = {
		"",
		"short\n",
		/* 43 characters, but standard base64 or padding */
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP+\n",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP/\n",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP=\n",
		"abcdefghijklmn pqrstuvwxyzABCDEFGHIJKLMNOPQ\n",
		/* 44 and 42 characters */
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR\n",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP\n",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ\nmore\n",
	};
	char  k[AGENT_ENROLL_KEY_LEN + 1], err[256], p[600], want[700];
	char *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/enroll_key", root);
	snprintf(want, sizeof(want),
	    "VAULTMESH_ROOT: %s/enroll_key does not "
	    "hold a 43-character key; fix or remove it",
	    root);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    file_write_atomic(p, bad[i], strlen(bad[i]), 0600), 0);
		err[0] = '\0';
		assert_int_equal(state_enroll_key(root, k, err, sizeof(err)),
		    -1);
		assert_string_equal(err, want);
		/* Never silently replaced: the operator decides. */
		assert_non_null(f = file_read(p, 256, NULL));
		assert_string_equal(f, bad[i]);
		free(f);
	}
	/* Trailing whitespace is stripped, as for node_id. */
	assert_int_equal(file_write_atomic(p,
			     "abcdefghijklmnopqrstuvwxyzABCDEF-_012345678\n\n",
			     45, 0600),
	    0);
	assert_int_equal(state_enroll_key(root, k, err, sizeof(err)), 0);
	assert_string_equal(k, "abcdefghijklmnopqrstuvwxyzABCDEF-_012345678");
	/* Removed: a new key is made. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(state_enroll_key(root, k, err, sizeof(err)), 0);
	assert_true(is_enroll_key(k));
}

static void
enroll_key_bad_root_is_an_error(void **state)
{
	char k[AGENT_ENROLL_KEY_LEN + 1], err[256], p[600];

	(void)state;
	err[0] = '\0';
	assert_int_equal(state_enroll_key("", k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VAULTMESH_ROOT"));
	/* A root below a plain file: fails even for root. */
	snprintf(p, sizeof(p), "%s/plainfile2", base);
	assert_int_equal(file_write_atomic(p, "x", 1, 0600), 0);
	snprintf(p, sizeof(p), "%s/plainfile2/root", base);
	err[0] = '\0';
	assert_int_equal(state_enroll_key(p, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "enroll_key"));
	assert_non_null(strstr(err, p));
}

static void
enroll_key_read_only_root_is_an_error(void **state)
{
	char k[AGENT_ENROLL_KEY_LEN + 1], err[256], ro[600];

	(void)state;
	/* Permissions do not bind root: nothing to test then. */
	if (geteuid() == 0)
		skip();
	snprintf(ro, sizeof(ro), "%s/readonly", base);
	assert_int_equal(mkdir(ro, 0500), 0);
	err[0] = '\0';
	assert_int_equal(state_enroll_key(ro, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot write"));
	assert_non_null(strstr(err, "enroll_key"));
	assert_int_equal(chmod(ro, 0700), 0);
}

static void
token_key_and_seq_round_trip(void **state)
{
	char	      tok[AGENT_TOKEN_MAX + 1], p[600];
	unsigned char pk[32], got[32];
	int64_t	      seq, version;

	(void)state;
	assert_int_equal(state_load_token(root, tok, sizeof(tok)), 0);
	assert_int_equal(state_save_token(root, "tok-123"), 0);
	assert_int_equal(mode_of("node_token"), 0600);
	assert_int_equal(state_load_token(root, tok, sizeof(tok)), 1);
	assert_string_equal(tok, "tok-123");
	snprintf(p, sizeof(p), "%s/node_token", root);
	assert_int_equal(file_write_atomic(p, "has space", 9, 0600), 0);
	assert_int_equal(state_load_token(root, tok, sizeof(tok)), -1);

	assert_int_equal(state_load_pubkey(root, got, &version), 0);
	randombytes_buf(pk, sizeof(pk));
	assert_int_equal(state_save_pubkey(root, pk, 7), 0);
	assert_int_equal(mode_of("cc_ed25519.pub"), 0600);
	assert_int_equal(state_load_pubkey(root, got, &version), 1);
	assert_memory_equal(pk, got, 32);
	assert_int_equal(version, 7);
	/* A file from before key rotation: the key alone, version unknown. */
	{
		char *b64 = b64_encode(pk, 32);

		snprintf(p, sizeof(p), "%s/cc_ed25519.pub", root);
		assert_int_equal(file_write_atomic(p, b64, strlen(b64), 0600),
		    0);
		free(b64);
	}
	assert_int_equal(state_load_pubkey(root, got, &version), 1);
	assert_memory_equal(pk, got, 32);
	assert_int_equal(version, 0);
	/* A version that is not a number: refused, not guessed. */
	assert_int_equal(file_write_atomic(p, "AAAA\nx2\n", 8, 0600), 0);
	assert_int_equal(state_load_pubkey(root, got, &version), -1);

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
	const char     *a = "aaaaaaaa-0000-4000-8000-000000000001";
	const char     *b = "bbbbbbbb-0000-4000-8000-000000000002";
	char	      **ids;
	char	       *body, p[600];
	size_t		n, len;
	struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };

	(void)state;
	assert_int_equal(spool_list(root, &ids, &n), 0);
	assert_int_equal(n, 0);
	spool_list_free(ids, n);
	assert_int_equal(spool_write(root, b, "{\"b\":1}", 7), 0);
	assert_int_equal(spool_write(root, a, "{\"a\":1}", 7), 0);
	assert_int_equal(
	    mode_of("spool/aaaaaaaa-0000-4000-8000-000000000001.json"), 0600);
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
	assert_int_equal(spool_delete(root, a), 0); /* already gone: fine */
	assert_null(spool_read(root, a, &len));
	assert_int_equal(spool_list(root, &ids, &n), 0);
	assert_int_equal(n, 1);
	spool_list_free(ids, n);
	/* Ids that are not UUIDs never become paths. */
	assert_int_equal(spool_write(root, "../../etc/x", "{}", 2), -1);
	assert_int_equal(spool_delete(root, "../node_token"), -1);
	assert_true(
	    spool_name_valid("aaaaaaaa-0000-4000-8000-000000000001.json"));
	assert_false(
	    spool_name_valid("aaaaaaaa-0000-4000-8000-000000000001.js"));
	assert_false(spool_name_valid("x.json"));
	spool_list_free(NULL, 0);
}

/*
 * Under a shell's umask 022 every file and folder the state functions make
 * is owner-only, and a spool folder made by hand with 0755 is tightened.
 */
static void
state_is_private_under_umask_022(void **state)
{
	static const char *const files[] = { "node_id", "enroll_key",
		"node_token", "cc_ed25519.pub", "last_seq",
		"spool/aaaaaaaa-0000-4000-8000-000000000009.json" };
	unsigned char		 pk[32] = { 1 };
	char	    id[UUID_STRLEN + 1], key[AGENT_ENROLL_KEY_LEN + 1];
	char	    err[256] = "", p[600];
	struct stat st;
	mode_t	    old;

	(void)state;
	old = umask(022);
	snprintf(root, sizeof(root), "%s/u/root", base);
	assert_int_equal(state_prepare(root, err, sizeof(err)), 0);
	assert_int_equal(state_node_id(root, id, err, sizeof(err)), 0);
	assert_int_equal(state_enroll_key(root, key, err, sizeof(err)), 0);
	assert_int_equal(state_save_token(root, "tok"), 0);
	assert_int_equal(state_save_pubkey(root, pk, 1), 0);
	assert_int_equal(state_save_seq(root, 5), 0);
	assert_int_equal(
	    spool_write(root, "aaaaaaaa-0000-4000-8000-000000000009", "{}", 2),
	    0);
	assert_int_equal(mode_of(""), 0700);
	assert_int_equal(mode_of("spool"), 0700);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (mode_of(files[i]) != 0600)
			fail_msg("%s is %o", files[i],
			    (unsigned)mode_of(files[i]));
	/* The parents mkdir -p made on the way are the agent's: 0700. */
	snprintf(p, sizeof(p), "%s/u", base);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* A spool folder made by hand (mkdir under umask 022) is tightened. */
	snprintf(p, sizeof(p), "%s/spool", root);
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(state_prepare(root, err, sizeof(err)), 0);
	assert_int_equal(mode_of("spool"), 0700);
	umask(old);
	snprintf(root, sizeof(root), "%s/a/b/root", base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prepare_creates_root_0700_with_spool),
		cmocka_unit_test(prepare_fails_on_a_file),
		cmocka_unit_test(node_id_is_created_once_then_loaded),
		cmocka_unit_test(enroll_key_is_created_once_then_loaded),
		cmocka_unit_test(enroll_key_differs_between_roots),
		cmocka_unit_test(enroll_key_garbled_is_an_error_and_kept),
		cmocka_unit_test(enroll_key_bad_root_is_an_error),
		cmocka_unit_test(enroll_key_read_only_root_is_an_error),
		cmocka_unit_test(token_key_and_seq_round_trip),
		cmocka_unit_test(spool_write_list_read_delete),
		cmocka_unit_test(state_is_private_under_umask_022),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
