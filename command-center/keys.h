/*
 * keys: the command-signing Ed25519 keys (keys.c). The keys live here and
 * nowhere else: the rest of the command center can have commands signed,
 * read the public keys and their chain, and start a rotation, never touch
 * a secret key.
 *
 * The key file (VAULTMESH_CC_KEY_PATH) holds the first key, the chain's
 * root; it also seals the keys that rotations make (each stored in the
 * store, encrypted under a key derived from the root's seed, so a copy of
 * the database alone signs nothing). Once the root key is retired the file
 * is rewritten to hold the sealing key alone. Every replica reads the
 * same keys from the shared store.
 */
#ifndef VM_CC_KEYS_H
#define VM_CC_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct store;
struct cmd_wire;

/*
 * Loads (or creates, 0600) the key file at path into sk and pk; name is
 * what pointed at path ("VAULTMESH_CC_KEY_PATH", "--generate-key"), for
 * errors: 0, or -1 with one line in err.
 */
int keys_load(const char *name, const char *path, unsigned char sk[64],
    unsigned char pk[32], char *err, size_t errlen);
/*
 * Reads the command center's key file (created when missing), then the
 * keys in st (the root added on a first start; a file that is not the
 * store's root refused), overlap_secs the time a replaced key is kept: 0,
 * or -1 with err.
 */
int keys_init(const char *name, const char *path, struct store *st,
    int64_t overlap_secs, char *err, size_t errlen);
/* The current key: its base64 public key, id and version (any NULL). */
void keys_current(char pk_b64[48], char id[33], int64_t *version);
/*
 * Signs payload (len bytes) as a command with the current key:
 * *payload_b64 and *sig_b64 malloc'd, 0; or -1.
 */
int
keys_sign(const char *payload, size_t len, char **payload_b64, char **sig_b64);
/*
 * Before commands go to an agent: makes sure the current key is the
 * store's newest (replicas: another may have rotated), then signs again
 * with it every command signed with an older key. 0, or -1 (the commands
 * are as they were).
 */
int keys_for_delivery(struct cmd_wire *c, size_t n);
/*
 * Appends ,"key_chain":[...] (the links an agent walks to the current
 * key) to b, unless the agent's key (pinned_id, NULL: unknown) is the
 * current one or there are no links: 1 appended, 0 not, -1 OOM.
 */
int keys_chain_field(struct buf *b, const char *pinned_id);
/* 1 when keys_chain_field() would append (a cheap test first). */
int keys_chain_wanted(const char *pinned_id);
/*
 * Starts a rotation (emergency: no link from the old key, which is
 * retired at once): 1 with the new key's id in id, 0 when another
 * rotation came first (the keys are read again), -1 with err.
 */
int keys_rotate(int emergency, char id[33], char *err, size_t errlen);
/* GET /keys: {"current", "keys": [...]} into b. */
void keys_json(struct buf *b);
/* One row of the keys as shown (keys_each). Strings borrowed. */
struct key_view {
	int64_t	    version;
	const char *key_id;
	const char *public_key;
	const char *state;
	int64_t	    created_at;
	int64_t	    retire_by;
	int64_t	    retired_at;
	int	    emergency;
};
/* Calls fn for each key, newest first (a snapshot). */
void keys_each(void (*fn)(const struct key_view *k, void *arg), void *arg);
/* 1 while a replaced key waits to be retired. */
int keys_retiring(void);
/*
 * Once a second: reads the keys again when the store has newer ones
 * (replicas); the leader (leads) retires replaced keys once unmoved
 * (approved nodes not yet on the current key) is 0 or their overlap has
 * ended; a retired root takes its seed out of the key file.
 */
void keys_tick(int64_t now, int leads, long unmoved);
/*
 * --seal-key: rewrites the key file at path to its sealing form (the root
 * seed gone, the key that opens the store's keys kept), for when the
 * daemon cannot (systemd gives it a read-only copy). 0 (also when it is
 * sealed already), or -1 with err.
 */
int
keys_seal_file(const char *name, const char *path, char *err, size_t errlen);
/* Wipes the secret keys (at exit). */
void keys_wipe(void);

#endif
