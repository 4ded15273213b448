/*
 * The key chain (issue 19) as an agent reads it from a heartbeat or poll
 * answer: keychain_walk() from a pinned key. The input is a JSON array;
 * an integer element k (0 to 3) stands for the honest link to key k + 2,
 * made at start, so inputs mix real links with forged, half-signed,
 * replayed and garbled ones. Whatever the input, a walk may only reach
 * keys the honest links lead to, at their versions, one version at a time,
 * and walking again from where it began gives the same end.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "command.h"
#include "fuzz.h"
#include "keychain.h"

#define NKEYS 5 /* keys 1..5; links to 2..5 */

static unsigned char pk[NKEYS + 1][32], sk[NKEYS + 1][64];
static json_t	    *honest[NKEYS + 1];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	for (int i = 1; i <= NKEYS; i++) {
		unsigned char seed[32];

		memset(seed, i, sizeof(seed)); /* the same keys every run */
		crypto_sign_seed_keypair(pk[i], sk[i], seed);
	}
	for (int v = 2; v <= NKEYS; v++) {
		char *text = keylink_make(sk[v - 1], sk[v], v, 1700000000);

		if (text == NULL ||
		    (honest[v] = json_loads(text, 0, NULL)) == NULL)
			abort();
		free(text);
	}
	return 0;
}

/* The key version v is, or -1 for a key no honest link reaches. */
static int
version_of(const unsigned char key[32])
{
	for (int i = 1; i <= NKEYS; i++)
		if (memcmp(pk[i], key, 32) == 0)
			return i;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	     *chain = fuzz_json_body(data, size), *e;
	unsigned char at[32], again[32];
	int64_t	      v, v2;
	char	      why[192], why2[192];
	size_t	      i;
	int	      n, n2, start;

	if (chain == NULL)
		return 0;
	if (json_is_array(chain))
		json_array_foreach(chain, i, e)
		{
			if (json_is_integer(e) && json_integer_value(e) >= 0 &&
			    json_integer_value(e) < NKEYS - 1)
				json_array_set(chain, i,
				    honest[json_integer_value(e) + 2]);
		}
	/* Start from key 1 or 3 (the input's length picks). */
	start = size % 2 ? 3 : 1;
	memcpy(at, pk[start], 32);
	v = start;
	why[0] = '\0';
	n = keychain_walk(chain, at, &v, why, sizeof(why));
	if (n < -1 || n > KEYCHAIN_MAX || (n == -1 && why[0] == '\0'))
		abort();
	/* Only keys the honest links lead to, at their own versions. */
	if (version_of(at) != v || v < start || (n >= 0 && v - start != n))
		abort();
	memcpy(again, pk[start], 32);
	v2 = start;
	n2 = keychain_walk(chain, again, &v2, why2, sizeof(why2));
	if (n2 != n || v2 != v || memcmp(again, at, 32) != 0)
		abort();
	json_decref(chain);
	return 0;
}
