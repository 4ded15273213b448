/*
 * Unit tests of common/keychain.c: links between command-signing keys
 * (issue 19) as the command center makes them and as an agent walks them.
 * An honest chain is walked one version at a time, from any key on it; a
 * forged link, a link signed by one key only, a replayed old chain and a
 * rollback to an older version are each refused, and the walk keeps the
 * key it had reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "command.h"
#include "keychain.h"
#include "testlib.h"

#define NKEYS 5

/* Keys 1..NKEYS (index 0 unused) and a stranger's. */
static unsigned char pk[NKEYS + 1][32], sk[NKEYS + 1][64];
static unsigned char evil_pk[32], evil_sk[64];

static int
keys_setup(void **state)
{
	(void)state;
	for (int i = 1; i <= NKEYS; i++)
		crypto_sign_keypair(pk[i], sk[i]);
	crypto_sign_keypair(evil_pk, evil_sk);
	return 0;
}

/* The link "key v follows key v - 1" as the command center makes it. */
static json_t *
link_of(int v)
{
	char   *text = keylink_make(sk[v - 1], sk[v], v, 1700000000 + v);
	json_t *l;

	assert_non_null(text);
	l = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(l);
	return l;
}

/* Links from..to (each "v follows v - 1") as an array. */
static json_t *
chain_of(int from, int to)
{
	json_t *a = json_array();

	for (int v = from; v <= to; v++)
		json_array_append_new(a, link_of(v));
	return a;
}

/* Walks c from key v at version v: what keychain_walk returns. */
static int
walk_from(json_t *c, int v, unsigned char out[32], int64_t *version, char *why,
    size_t n)
{
	memcpy(out, pk[v], 32);
	*version = v;
	why[0] = '\0';
	return keychain_walk(c, out, version, why, n);
}

/* A link's payload with a field replaced, re-encoded (signatures kept). */
static void
set_payload(json_t *link, const char *field, json_t *value)
{
	unsigned char buf[KEYLINK_PAYLOAD_MAX + 1];
	long n = b64_decode(json_string_value(json_object_get(link, "payload")),
	    buf, KEYLINK_PAYLOAD_MAX);
	json_t *p;
	char   *text, *b64;

	assert_true(n > 0);
	p = json_loadb((const char *)buf, (size_t)n, 0, NULL);
	assert_non_null(p);
	json_object_set_new(p, field, value);
	text = json_dumps(p, JSON_COMPACT);
	b64 = b64_encode((const unsigned char *)text, strlen(text));
	json_object_set_new(link, "payload", json_string(b64));
	free(text);
	free(b64);
	json_decref(p);
}

/* sig (over the link's payload, as the format signs it) by key. */
static void
resign(json_t *link, const char *field, const unsigned char key[64])
{
	unsigned char buf[sizeof(KEYLINK_DOMAIN) + KEYLINK_PAYLOAD_MAX];
	unsigned char sig[crypto_sign_BYTES];
	long n = b64_decode(json_string_value(json_object_get(link, "payload")),
	    buf + sizeof(KEYLINK_DOMAIN), KEYLINK_PAYLOAD_MAX);
	char *b64;

	assert_true(n > 0);
	memcpy(buf, KEYLINK_DOMAIN, sizeof(KEYLINK_DOMAIN));
	crypto_sign_detached(sig, NULL, buf, sizeof(KEYLINK_DOMAIN) + (size_t)n,
	    key);
	b64 = b64_encode(sig, sizeof(sig));
	json_object_set_new(link, field, json_string(b64));
	free(b64);
}

static void
key_ids_are_hex_of_the_key_and_differ(void **state)
{
	char a[KEY_ID_LEN + 1], b[KEY_ID_LEN + 1], again[KEY_ID_LEN + 1];

	(void)state;
	key_id_of(pk[1], a);
	key_id_of(pk[2], b);
	key_id_of(pk[1], again);
	assert_int_equal(strlen(a), KEY_ID_LEN);
	assert_true(key_id_valid(a));
	assert_string_equal(a, again);
	assert_string_not_equal(a, b);
	assert_false(key_id_valid("ABCDEF0123456789abcdef0123456789"));
	assert_false(key_id_valid("abc"));
	assert_false(key_id_valid(NULL));
}

static void
a_link_carries_both_keys_and_both_signatures(void **state)
{
	json_t	      *l = link_of(2);
	struct keylink k;
	char	       why[160];

	(void)state;
	assert_int_equal(keylink_verify(l, &k, why, sizeof(why)), 0);
	assert_int_equal(k.version, 2);
	assert_memory_equal(k.prev, pk[1], 32);
	assert_memory_equal(k.next, pk[2], 32);
	assert_int_equal(k.issued_at, 1700000002);
	json_decref(l);
}

static void
an_agent_walks_every_link_from_where_it_is(void **state)
{
	json_t	     *c = chain_of(2, 4);
	unsigned char at[32];
	int64_t	      v;
	char	      why[160];

	(void)state;
	/* Offline across three rotations: the whole chain. */
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), 3);
	assert_memory_equal(at, pk[4], 32);
	assert_int_equal(v, 4);
	/* Moved once already: the rest. */
	assert_int_equal(walk_from(c, 2, at, &v, why, sizeof(why)), 2);
	assert_memory_equal(at, pk[4], 32);
	/* On the newest key: nothing to do. */
	assert_int_equal(walk_from(c, 4, at, &v, why, sizeof(why)), 0);
	assert_memory_equal(at, pk[4], 32);
	assert_int_equal(v, 4);
	/* Pinned before key rotation (version unknown: 0). */
	memcpy(at, pk[1], 32);
	v = 0;
	assert_int_equal(keychain_walk(c, at, &v, why, sizeof(why)), 3);
	assert_int_equal(v, 4);
	json_decref(c);
}

static void
a_forged_link_is_refused_and_the_key_kept(void **state)
{
	json_t	     *c = chain_of(2, 3);
	unsigned char at[32];
	int64_t	      v;
	char	      why[160], *b64 = b64_encode(evil_pk, 32);

	(void)state;
	/* Link 3 now leads to the stranger's key, signed by the stranger. */
	set_payload(json_array_get(c, 1), "next_key", json_string(b64));
	resign(json_array_get(c, 1), "sig_next", evil_sk);
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not signed by the key it follows"));
	/* Link 2 was good: the walk stops at key 2, not before, not after. */
	assert_memory_equal(at, pk[2], 32);
	assert_int_equal(v, 2);
	/* A payload changed after signing: neither signature holds. */
	json_decref(c);
	c = chain_of(2, 2);
	set_payload(json_array_get(c, 0), "issued_at", json_integer(1));
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), -1);
	assert_memory_equal(at, pk[1], 32);
	free(b64);
	json_decref(c);
}

static void
a_link_signed_by_one_key_only_is_refused(void **state)
{
	unsigned char at[32];
	int64_t	      v;
	char	      why[160];
	json_t	     *c = chain_of(2, 2), *l = json_array_get(c, 0);

	(void)state;
	/* No signature by the new key. */
	json_object_del(l, "sig_next");
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not signed by its own key"));
	assert_memory_equal(at, pk[1], 32);
	/* The old key's signature in both places. */
	json_object_set(l, "sig_next", json_object_get(l, "sig_prev"));
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), -1);
	/* Only the new key signed: whoever made it never held key 1. */
	resign(l, "sig_next", sk[2]);
	resign(l, "sig_prev", sk[2]);
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not signed by the key it follows"));
	assert_memory_equal(at, pk[1], 32);
	json_decref(c);
}

static void
a_replayed_old_chain_changes_nothing(void **state)
{
	json_t	     *old = chain_of(2, 3);
	unsigned char at[32];
	int64_t	      v;
	char	      why[160];

	(void)state;
	/* On key 4: the links to 2 and 3 are history, passed over. */
	assert_int_equal(walk_from(old, 4, at, &v, why, sizeof(why)), 0);
	assert_memory_equal(at, pk[4], 32);
	assert_int_equal(v, 4);
	/* On key 3: the link to 3 again moves nothing either. */
	assert_int_equal(walk_from(old, 3, at, &v, why, sizeof(why)), 0);
	assert_memory_equal(at, pk[3], 32);
	json_decref(old);
}

static void
a_rollback_to_an_older_version_is_refused(void **state)
{
	unsigned char at[32];
	int64_t	      v;
	char	      why[160];
	/* "Key 1 follows key 3", signed by both, at version 2. */
	char   *text = keylink_make(sk[3], sk[1], 2, 1700000100);
	json_t *c = json_array();

	(void)state;
	json_array_append_new(c, json_loads(text, 0, NULL));
	assert_int_equal(walk_from(c, 3, at, &v, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "rollback"));
	assert_memory_equal(at, pk[3], 32);
	assert_int_equal(v, 3);
	/* The same version as the pinned one is no step either. */
	free(text);
	text = keylink_make(sk[3], sk[5], 3, 1700000100);
	json_array_clear(c);
	json_array_append_new(c, json_loads(text, 0, NULL));
	assert_int_equal(walk_from(c, 3, at, &v, why, sizeof(why)), -1);
	assert_memory_equal(at, pk[3], 32);
	free(text);
	json_decref(c);
}

static void
malformed_chains_and_links_are_refused_or_passed_over(void **state)
{
	unsigned char at[32];
	int64_t	      v;
	char	      why[160];
	json_t	     *c = json_array(), *ok = chain_of(2, 2);

	(void)state;
	/* Not an array; too long. */
	{
		json_t *o = json_object();

		assert_int_equal(walk_from(o, 1, at, &v, why, sizeof(why)), -1);
		json_decref(o);
	}
	for (int i = 0; i <= KEYCHAIN_MAX; i++)
		json_array_append_new(c, json_integer(i));
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), -1);
	/* Junk around a good link: passed over, the good one taken. */
	json_array_clear(c);
	json_array_append_new(c, json_string("x"));
	json_array_append_new(c, json_pack("{s:s}", "payload", "!!"));
	json_array_append_new(c, json_pack("{s:s}", "payload", "e30="));
	json_array_append(c, json_array_get(ok, 0));
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), 1);
	assert_memory_equal(at, pk[2], 32);
	/* A key that follows itself is no link. */
	{
		char *text = keylink_make(sk[1], sk[1], 2, 1);

		json_array_clear(c);
		json_array_append_new(c, json_loads(text, 0, NULL));
		free(text);
	}
	assert_int_equal(walk_from(c, 1, at, &v, why, sizeof(why)), 0);
	assert_memory_equal(at, pk[1], 32);
	json_decref(c);
	json_decref(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_ids_are_hex_of_the_key_and_differ),
		cmocka_unit_test(a_link_carries_both_keys_and_both_signatures),
		cmocka_unit_test(an_agent_walks_every_link_from_where_it_is),
		cmocka_unit_test(a_forged_link_is_refused_and_the_key_kept),
		cmocka_unit_test(a_link_signed_by_one_key_only_is_refused),
		cmocka_unit_test(a_replayed_old_chain_changes_nothing),
		cmocka_unit_test(a_rollback_to_an_older_version_is_refused),
		cmocka_unit_test(
		    malformed_chains_and_links_are_refused_or_passed_over),
	};

	if (tl_sodium_setup(NULL) != 0)
		return 1;
	return cmocka_run_group_tests(tests, keys_setup, NULL);
}
