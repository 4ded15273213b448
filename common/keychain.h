/*
 * keychain: the chain of command-signing keys (issue 19), shared by both
 * daemons. A rotation makes key N+1 and a link "key N+1 follows key N":
 *
 *   {"payload": "<base64>", "sig_prev": "<base64>", "sig_next": "<base64>"}
 *
 * payload is JSON {"version": N+1, "prev_key": "<base64 pk>", "next_key":
 * "<base64 pk>", "issued_at": <unix seconds>}; both signatures are over
 * KEYLINK_DOMAIN, one NUL byte and the payload bytes (as commands are over
 * theirs), sig_prev by key N and sig_next by key N+1. An agent walks the
 * links from the key it pinned, one version at a time.
 */
#ifndef VM_KEYCHAIN_H
#define VM_KEYCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define KEYLINK_DOMAIN "vaultmesh.keylink.v1"
#define KEYLINK_PAYLOAD_MAX 512
#define KEYCHAIN_MAX 64 /* links an agent reads from one answer */
#define KEY_ID_LEN 32	/* hex characters */

/* A key's id: the hex of the 16-byte BLAKE2b of its public key. */
void key_id_of(const unsigned char pk[32], char out[KEY_ID_LEN + 1]);
/* 1 if s is a key id (32 lowercase hex characters). */
int key_id_valid(const char *s);

/*
 * The link from prev to next at version (both secret keys, 64 bytes as
 * libsodium keeps them): a malloc'd compact JSON object, or NULL (OOM).
 */
char *keylink_make(const unsigned char prev_sk[64],
    const unsigned char next_sk[64], int64_t version, int64_t issued_at);

/* A link as read (and, by keylink_verify, checked). */
struct keylink {
	int64_t	      version;
	unsigned char prev[32], next[32];
	int64_t	      issued_at;
};

/*
 * Reads one link (a JSON object) into out without checking signatures:
 * 0, or -1 with why.
 */
int keylink_read(json_t *link, struct keylink *out, char *why, size_t whylen);
/*
 * Reads one link and checks both signatures (sig_prev by out->prev,
 * sig_next by out->next): 0, or -1 with why.
 */
int keylink_verify(json_t *link, struct keylink *out, char *why, size_t whylen);

/*
 * Walks chain (a JSON array of links, in version order) from the key pk at
 * version: each link whose prev_key is the key reached so far must carry
 * both signatures and a higher version, and moves pk and version on; other
 * links (history from before pk) are passed over. Returns the number of
 * links taken, or -1 with why when a link from the key reached is forged,
 * half signed or goes back (pk and version then hold the last key reached
 * before it, which the caller may keep). More than KEYCHAIN_MAX links, or
 * a chain that is not an array: -1, nothing taken.
 */
int keychain_walk(json_t *chain, unsigned char pk[32], int64_t *version,
    char *why, size_t whylen);

#endif
