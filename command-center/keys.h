/*
 * keys: the command-signing Ed25519 key (keys.c). The key lives here and
 * nowhere else: the rest of the command center can have commands signed
 * and read the public key, never touch the secret one.
 */
#ifndef VM_CC_KEYS_H
#define VM_CC_KEYS_H

#include <stddef.h>

/*
 * Loads (or creates, 0600) the key file at path into sk and pk; name is
 * what pointed at path ("VAULTMESH_CC_KEY_PATH", "--generate-key"), for
 * errors: 0, or -1 with one line in err.
 */
int keys_load(const char *name, const char *path, unsigned char sk[64],
    unsigned char pk[32], char *err, size_t errlen);
/* keys_load() into the command center's own key: 0, or -1 with err. */
int keys_init(const char *name, const char *path, char *err, size_t errlen);
/* The public key, base64 (the agents pin it). */
const char *keys_public_b64(void);
/*
 * Signs payload (len bytes) as a command: *payload_b64 and *sig_b64
 * malloc'd, 0; or -1.
 */
int
keys_sign(const char *payload, size_t len, char **payload_b64, char **sig_b64);
/* Wipes the secret key (at exit). */
void keys_wipe(void);

#endif
