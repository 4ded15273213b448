/*
 * keys: the command-signing Ed25519 keys. The file holds the base64 of the
 * root key's 32-byte seed and a newline (or, once the root is retired,
 * "seal:" and the base64 of the sealing key); it is created 0600 when
 * missing, and one that is corrupt or that group or others may read stops
 * the command center. The keys rotations make live in the store, each
 * sealed (XChaCha20-Poly1305, its key id as associated data) under a key
 * derived from the root seed; keys.h tells the rest.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "command.h"
#include "keychain.h"
#include "log.h"
#include "store.h"
#include "util.h"

int
keys_load(const char *name, const char *path, unsigned char sk[64],
    unsigned char pk[32], char *err, size_t errlen)
{
	unsigned char seed[crypto_sign_SEEDBYTES + 1];
	char	     *text = NULL, *b64 = NULL;
	struct stat   st;
	size_t	      len;
	int	      rc = -1;

	/* lstat: a key reached through a symlink is refused as not regular. */
	if (lstat(path, &st) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s: %s", name, path,
			    strerror(errno));
			goto out;
		}
		randombytes_buf(seed, crypto_sign_SEEDBYTES);
		if ((b64 = b64_encode(seed, crypto_sign_SEEDBYTES)) == NULL ||
		    (text = malloc(strlen(b64) + 2)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		snprintf(text, strlen(b64) + 2, "%s\n", b64);
		if (file_write_atomic(path, text, strlen(text), 0600) == -1) {
			snprintf(err, errlen, "%s: cannot create %s: %s", name,
			    path, strerror(errno));
			goto out;
		}
		crypto_sign_seed_keypair(pk, sk, seed);
		rc = 0;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
		    "%s: %s is not a regular file (%s): "
		    "name the key file itself",
		    name, path,
		    S_ISDIR(st.st_mode)	    ? "a directory" :
			S_ISLNK(st.st_mode) ? "a symbolic link" :
					      "a device, socket or pipe");
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s: %s must be readable only by its "
		    "owner (mode is %03o; chmod 600 it)",
		    name, path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if ((text = file_read(path, 256, &len)) == NULL) {
		snprintf(err, errlen, "%s: cannot read %s: %s", name, path,
		    strerror(errno));
		goto out;
	}
	str_rtrim(text);
	if (b64_decode(text, seed, sizeof(seed)) != crypto_sign_SEEDBYTES) {
		snprintf(err, errlen,
		    "%s: %s is corrupt (expected the base64 "
		    "of a 32-byte Ed25519 seed)",
		    name, path);
		goto out;
	}
	crypto_sign_seed_keypair(pk, sk, seed);
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	if (text != NULL)
		sodium_memzero(text, strlen(text));
	if (b64 != NULL)
		sodium_memzero(b64, strlen(b64));
	free(text);
	free(b64);
	return rc;
}

/* ---- the keys in use ------------------------------------------------- */

#define SEAL_DOMAIN "vaultmesh.keyseal.v1"
#define SEAL_PREFIX "seal:"
#define RELOAD_EVERY 10 /* seconds: retirements seen on replicas */

/* A key as kept here (public parts only). */
struct kent {
	int64_t version;
	char	id[KEY_ID_LEN + 1];
	char	pk_b64[48];
	char	state[12];
	int64_t created_at, retire_by, retired_at;
	int	emergency;
	char   *link;
};

/*
 * Everything below is read under lk (signing too) and replaced under it
 * as a whole by reload(); the rest of the fields are set at start.
 */
static struct {
	pthread_rwlock_t lk;
	struct store	*st;
	char		 path[4096];
	int64_t		 overlap;
	unsigned char	 seal[32];    /* seals the store's secret keys */
	int		 file_seeded; /* the file still holds the root seed */
	unsigned char	 root_sk[64]; /* while file_seeded */
	struct kent	*k;	      /* oldest first */
	size_t		 n;
	unsigned char	 sk[64]; /* the current key */
	int64_t		 version;
	char		 id[KEY_ID_LEN + 1];
	char		 pk_b64[48];
	int		 linked; /* a link leads to the current key */
	int64_t		 loaded_at;
} K = { .lk = PTHREAD_RWLOCK_INITIALIZER };

/* The sealed form of seed (base64 of nonce and ciphertext), or NULL. */
static char *
seal(const unsigned char seed[32], const char *id)
{
	unsigned char box[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 32 +
	    crypto_aead_xchacha20poly1305_ietf_ABYTES];
	unsigned long long clen;

	randombytes_buf(box, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, seed, 32,
	    (const unsigned char *)id, strlen(id), NULL, box, K.seal);
	return b64_encode(box, sizeof(box));
}

/* Opens a sealed seed: 0, or -1 (not sealed by this key file). */
static int
unseal(const char *text, const char *id, unsigned char seed[32])
{
	unsigned char box[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + 32 +
	    crypto_aead_xchacha20poly1305_ietf_ABYTES + 1];
	unsigned long long mlen;

	if (b64_decode(text, box, sizeof(box)) != (long)sizeof(box) - 1)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(seed, &mlen, NULL,
		   box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		   sizeof(box) - 1 -
		       crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		   (const unsigned char *)id, strlen(id), box, K.seal) == 0 &&
		mlen == 32 ?
	    0 :
	    -1;
}

/* The store's keys as read, before they replace what K holds. */
struct loaded {
	struct kent *k;
	size_t	     n, cap;
	char	    *sealed; /* the current key's */
	int	     bad;
};

static int
load_cb(const struct key_rec *r, void *arg)
{
	struct loaded *l = arg;
	struct kent   *e;

	if (l->n == l->cap) {
		size_t	     cap = l->cap ? l->cap * 2 : 8;
		struct kent *nk = realloc(l->k, cap * sizeof(*nk));

		if (nk == NULL)
			return -1;
		l->k = nk;
		l->cap = cap;
	}
	e = &l->k[l->n++];
	memset(e, 0, sizeof(*e));
	e->version = r->version;
	snprintf(e->id, sizeof(e->id), "%s", r->key_id);
	snprintf(e->pk_b64, sizeof(e->pk_b64), "%s", r->public_key);
	snprintf(e->state, sizeof(e->state), "%s", r->state);
	e->created_at = r->created_at;
	e->retire_by = r->retire_by;
	e->retired_at = r->retired_at;
	e->emergency = r->emergency;
	if (r->link != NULL && (e->link = strdup(r->link)) == NULL)
		return -1;
	if (strcmp(r->state, "current") == 0) {
		free(l->sealed);
		if (r->sealed == NULL ||
		    (l->sealed = strdup(r->sealed)) == NULL)
			l->bad = 1;
	}
	return 0;
}

static void
kents_free(struct kent *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].link);
	free(k);
}

/*
 * Reads the keys from the store into K: 0, or -1 with err (K unchanged).
 * At start (at_start) a store without keys gets the key file's root, and
 * a key file whose seed is not the store's root is refused; later reads
 * (any thread) leave the file's seed alone, which the main thread may be
 * taking out of the file.
 */
static int
reload(int at_start, char *err, size_t errlen)
{
	struct loaded l = { 0 };
	unsigned char seed[32], sk[64], pk[32];
	char	      id[KEY_ID_LEN + 1];
	size_t	      cur = SIZE_MAX;
	int	      rc = -1, tries = 0;

again:
	if (store_keys(K.st, load_cb, &l) == -1) {
		snprintf(err, errlen, "the store's keys could not be read");
		goto out;
	}
	if (l.n == 0 && at_start && tries++ == 0) {
		struct key_rec r;
		char	      *pk_b64 = NULL, *sealed = NULL;
		int	       added;

		if (!K.file_seeded) {
			snprintf(err, errlen,
			    "%s holds only a sealing key and the store has "
			    "no keys: give the store its keys back, or start "
			    "with a new key file and re-enroll",
			    K.path);
			goto out;
		}
		memset(&r, 0, sizeof(r));
		r.version = 1;
		key_id_of(K.root_sk + 32, r.key_id);
		pk_b64 = b64_encode(K.root_sk + 32, 32);
		sealed = seal(K.root_sk, r.key_id);
		if (pk_b64 == NULL || sealed == NULL) {
			free(pk_b64);
			free(sealed);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		snprintf(r.public_key, sizeof(r.public_key), "%s", pk_b64);
		r.state = "current";
		r.created_at = time(NULL);
		r.sealed = sealed;
		added = store_key_add(K.st, &r);
		free(pk_b64);
		free(sealed);
		if (added == -1) {
			snprintf(err, errlen,
			    "the root key could not be stored");
			goto out;
		}
		goto again; /* 0: another replica stored it first */
	}
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.k[i].state, "current") == 0)
			cur = i;
	if (cur == SIZE_MAX || l.bad) {
		snprintf(err, errlen, "the store has no current signing key");
		goto out;
	}
	if (at_start && K.file_seeded) {
		char root_id[KEY_ID_LEN + 1];

		key_id_of(K.root_sk + 32, root_id);
		if (l.k[0].version != 1 || strcmp(l.k[0].id, root_id) != 0) {
			snprintf(err, errlen,
			    "%s is not the key this store began with (the "
			    "file's key id is %s, the store's first is %s)",
			    K.path, root_id, l.k[0].id);
			goto out;
		}
	}
	if (unseal(l.sealed, l.k[cur].id, seed) == -1) {
		snprintf(err, errlen,
		    "the current key (%s) does not open with %s: the key "
		    "file is not the one this store's keys were sealed with",
		    l.k[cur].id, K.path);
		goto out;
	}
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	key_id_of(pk, id);
	if (strcmp(id, l.k[cur].id) != 0) {
		snprintf(err, errlen, "the current key's id does not match it");
		goto out;
	}
	pthread_rwlock_wrlock(&K.lk);
	kents_free(K.k, K.n);
	K.k = l.k;
	K.n = l.n;
	l.k = NULL;
	l.n = 0;
	memcpy(K.sk, sk, sizeof(sk));
	K.version = K.k[cur].version;
	memcpy(K.id, id, sizeof(id));
	snprintf(K.pk_b64, sizeof(K.pk_b64), "%s", K.k[cur].pk_b64);
	K.linked = K.k[cur].link != NULL;
	K.loaded_at = time(NULL);
	pthread_rwlock_unlock(&K.lk);
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	kents_free(l.k, l.n);
	free(l.sealed);
	return rc;
}

/* The file in its sealing form: "seal:" and the base64 of the key. */
static int
read_seal_file(const char *name, const char *path, int *found, char *err,
    size_t errlen)
{
	struct stat st;
	char	   *text;
	size_t	    len;
	int	    rc = -1;

	*found = 0;
	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0)
		return 0; /* keys_load() says what is wrong */
	if ((text = file_read(path, 256, &len)) == NULL) {
		snprintf(err, errlen, "%s: cannot read %s: %s", name, path,
		    strerror(errno));
		return -1;
	}
	str_rtrim(text);
	if (strncmp(text, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0) {
		rc = 0;
		goto out;
	}
	*found = 1;
	if (b64_decode(text + strlen(SEAL_PREFIX), K.seal, sizeof(K.seal)) !=
	    (long)sizeof(K.seal)) {
		snprintf(err, errlen,
		    "%s: %s is corrupt (expected \"seal:\" and the base64 of "
		    "a 32-byte key)",
		    name, path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

int
keys_init(const char *name, const char *path, struct store *st,
    int64_t overlap_secs, char *err, size_t errlen)
{
	unsigned char pk[32];
	int	      sealed;

	K.st = st;
	K.overlap = overlap_secs;
	K.file_seeded = 0;
	snprintf(K.path, sizeof(K.path), "%s", path);
	if (read_seal_file(name, path, &sealed, err, errlen) == -1)
		return -1;
	if (!sealed) {
		if (keys_load(name, path, K.root_sk, pk, err, errlen) == -1)
			return -1;
		K.file_seeded = 1;
		crypto_generichash(K.seal, sizeof(K.seal),
		    (const unsigned char *)SEAL_DOMAIN, strlen(SEAL_DOMAIN),
		    K.root_sk, 32);
	}
	if (reload(1, err, errlen) == -1) {
		char what[4200];

		snprintf(what, sizeof(what), "%s: %s", name, err);
		snprintf(err, errlen, "%s", what);
		return -1;
	}
	return 0;
}

void
keys_current(char pk_b64[48], char id[33], int64_t *version)
{
	pthread_rwlock_rdlock(&K.lk);
	if (pk_b64 != NULL)
		memcpy(pk_b64, K.pk_b64, 48);
	if (id != NULL)
		memcpy(id, K.id, 33);
	if (version != NULL)
		*version = K.version;
	pthread_rwlock_unlock(&K.lk);
}

int
keys_sign(const char *payload, size_t len, char **payload_b64, char **sig_b64)
{
	int rc;

	pthread_rwlock_rdlock(&K.lk);
	rc = cmd_sign(K.sk, payload, len, payload_b64, sig_b64);
	pthread_rwlock_unlock(&K.lk);
	return rc;
}

int
keys_for_delivery(struct cmd_wire *c, size_t n)
{
	unsigned char pk[32], *bin = NULL;
	char	      why[160], err[256];
	int64_t	      v;
	int	      rc = 0, rotated;

	if (n == 0)
		return 0;
	/* Replicas: a rotation on another one is seen before anything goes. */
	if (store_shared(K.st)) {
		pthread_rwlock_rdlock(&K.lk);
		v = K.version;
		pthread_rwlock_unlock(&K.lk);
		if (store_key_version(K.st) > v &&
		    reload(0, err, sizeof(err)) == -1)
			log_err("keys_reload_failed", "error=\"%s\"", err);
	}
	pthread_rwlock_rdlock(&K.lk);
	rotated = K.n > 1;
	memcpy(pk, K.sk + 32, 32);
	if (!rotated) /* one key ever: every command is signed with it */
		goto out;
	if ((bin = malloc(CMD_PAYLOAD_MAX + 1)) == NULL) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char  *plain = NULL, *p64 = NULL, *s64 = NULL;
		size_t plen;
		long   len;

		if (cmd_verify(pk, c[i].payload, c[i].signature, &plain, &plen,
			why, sizeof(why)) == 0) {
			free(plain);
			continue;
		}
		if ((len = b64_decode(c[i].payload, bin, CMD_PAYLOAD_MAX)) < 0)
			continue; /* not ours to mend: the agent refuses it */
		if (cmd_sign(K.sk, (const char *)bin, (size_t)len, &p64,
			&s64) == -1) {
			rc = -1;
			break;
		}
		free(p64);
		free(c[i].signature);
		c[i].signature = s64;
		log_info("command_signed_again", "command_id=%s key_id=%s",
		    c[i].command_id, K.id);
	}
out:
	pthread_rwlock_unlock(&K.lk);
	free(bin);
	return rc;
}

int
keys_chain_wanted(const char *pinned_id)
{
	int wanted;

	pthread_rwlock_rdlock(&K.lk);
	wanted =
	    K.linked && (pinned_id == NULL || strcmp(pinned_id, K.id) != 0);
	pthread_rwlock_unlock(&K.lk);
	return wanted;
}

int
keys_chain_field(struct buf *b, const char *pinned_id)
{
	int64_t from = 0;
	size_t	links = 0;
	int	rc = 0;

	pthread_rwlock_rdlock(&K.lk);
	if (!K.linked || (pinned_id != NULL && strcmp(pinned_id, K.id) == 0))
		goto out;
	/*
	 * The links after the newest emergency key, and of those the ones
	 * after the key the node confirmed: at most KEYCHAIN_MAX, so a node
	 * behind by more walks them over several answers.
	 */
	for (size_t i = 0; i < K.n; i++)
		if (K.k[i].emergency ||
		    (pinned_id != NULL && strcmp(K.k[i].id, pinned_id) == 0))
			from = K.k[i].version > from ? K.k[i].version : from;
	buf_puts(b, ",\"key_chain\":[");
	for (size_t i = 0; i < K.n && links < KEYCHAIN_MAX; i++) {
		if (K.k[i].version <= from || K.k[i].link == NULL)
			continue;
		if (links++ > 0)
			buf_putc(b, ',');
		buf_puts(b, K.k[i].link);
	}
	buf_putc(b, ']');
	rc = buf_failed(b) ? -1 : 1;
out:
	pthread_rwlock_unlock(&K.lk);
	return rc;
}

int
keys_rotate(int emergency, char id[33], char *err, size_t errlen)
{
	unsigned char  seed[32], sk[64], pk[32], cur[64];
	struct key_rec r;
	char	      *pk_b64 = NULL, *sealed = NULL, *link = NULL;
	int64_t	       now = time(NULL);
	int	       rc = -1, added;

	pthread_rwlock_rdlock(&K.lk);
	memcpy(cur, K.sk, sizeof(cur));
	memset(&r, 0, sizeof(r));
	r.version = K.version + 1;
	pthread_rwlock_unlock(&K.lk);
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	key_id_of(pk, r.key_id);
	if ((pk_b64 = b64_encode(pk, 32)) == NULL ||
	    (sealed = seal(seed, r.key_id)) == NULL ||
	    (!emergency &&
		(link = keylink_make(cur, sk, r.version, now)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(r.public_key, sizeof(r.public_key), "%s", pk_b64);
	r.state = "current";
	r.created_at = now;
	r.retire_by = now + K.overlap;
	r.emergency = emergency;
	r.link = link;
	r.sealed = sealed;
	if ((added = store_key_add(K.st, &r)) == -1) {
		snprintf(err, errlen, "the new key could not be stored");
		goto out;
	}
	if (reload(0, err, errlen) == -1) {
		log_err("keys_reload_failed", "error=\"%s\"", err);
		goto out;
	}
	if (added == 1) {
		memcpy(id, r.key_id, sizeof(r.key_id));
		log_info("key_rotated",
		    "version=%" PRId64 " key_id=%s emergency=%d", r.version,
		    r.key_id, emergency);
	}
	rc = added;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(cur, sizeof(cur));
	free(pk_b64);
	free(sealed);
	free(link);
	return rc;
}

void
keys_each(void (*fn)(const struct key_view *k, void *arg), void *arg)
{
	struct kent *copy;
	size_t	     n;

	pthread_rwlock_rdlock(&K.lk);
	n = K.n;
	if ((copy = calloc(n ? n : 1, sizeof(*copy))) != NULL)
		memcpy(copy, K.k, n * sizeof(*copy));
	pthread_rwlock_unlock(&K.lk);
	if (copy == NULL)
		return;
	for (size_t i = n; i-- > 0;) {
		struct key_view v = { copy[i].version, copy[i].id,
			copy[i].pk_b64, copy[i].state, copy[i].created_at,
			copy[i].retire_by, copy[i].retired_at,
			copy[i].emergency };

		fn(&v, arg);
	}
	free(copy); /* the links are K's: not freed here, not read */
}

static void
json_key(const struct key_view *k, void *arg)
{
	struct buf *b = arg;

	if (b->len > 0 && b->p[b->len - 1] != '[')
		buf_putc(b, ',');
	buf_putc(b, '{');
	buf_json_field(b, "key_id", k->key_id);
	buf_json_field(b, "public_key", k->public_key);
	buf_json_field(b, "state", k->state);
	buf_printf(b,
	    ",\"created_at\":%" PRId64 ",\"version\":%" PRId64
	    ",\"emergency\":%s",
	    k->created_at, k->version, k->emergency ? "true" : "false");
	if (strcmp(k->state, "retiring") == 0)
		buf_printf(b, ",\"retire_by\":%" PRId64, k->retire_by);
	if (k->retired_at > 0)
		buf_printf(b, ",\"retired_at\":%" PRId64, k->retired_at);
	buf_putc(b, '}');
}

void
keys_json(struct buf *b)
{
	char id[KEY_ID_LEN + 1];

	keys_current(NULL, id, NULL);
	buf_putc(b, '{');
	buf_json_field(b, "current", id);
	buf_puts(b, ",\"keys\":[");
	keys_each(json_key, b);
	buf_puts(b, "]}");
}

int
keys_retiring(void)
{
	int found = 0;

	pthread_rwlock_rdlock(&K.lk);
	for (size_t i = 0; i < K.n && !found; i++)
		found = strcmp(K.k[i].state, "retiring") == 0;
	pthread_rwlock_unlock(&K.lk);
	return found;
}

/* Writes "seal:<base64 of seal>" to path (atomically, 0600): 0, or -1. */
static int
write_seal(const char *path, const unsigned char seal_key[32])
{
	char *b64, line[80];
	int   rc;

	if ((b64 = b64_encode(seal_key, 32)) == NULL)
		return -1;
	snprintf(line, sizeof(line), "%s%s\n", SEAL_PREFIX, b64);
	sodium_memzero(b64, strlen(b64));
	free(b64);
	rc = file_write_atomic(path, line, strlen(line), 0600);
	sodium_memzero(line, sizeof(line));
	return rc;
}

int
keys_seal_file(const char *name, const char *path, char *err, size_t errlen)
{
	unsigned char sk[64], pk[32], seal_key[32];
	struct stat   st;
	int	      sealed, rc = -1;

	if (lstat(path, &st) == -1) { /* never made here */
		snprintf(err, errlen, "%s: %s: %s", name, path,
		    strerror(errno));
		return -1;
	}
	if (read_seal_file(name, path, &sealed, err, errlen) == -1)
		return -1;
	if (sealed)
		return 0;
	if (keys_load(name, path, sk, pk, err, errlen) == -1)
		return -1;
	crypto_generichash(seal_key, sizeof(seal_key),
	    (const unsigned char *)SEAL_DOMAIN, strlen(SEAL_DOMAIN), sk, 32);
	if (write_seal(path, seal_key) == -1)
		snprintf(err, errlen, "%s: cannot rewrite %s: %s", name, path,
		    strerror(errno));
	else
		rc = 0;
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seal_key, sizeof(seal_key));
	return rc;
}

/* The root is retired: the file keeps the sealing key alone. */
static void
unseed_file(void)
{
	static int told; /* a read-only file is said once */
	int	   retired;

	pthread_rwlock_rdlock(&K.lk);
	retired = K.n > 0 && K.k[0].version == 1 &&
	    strcmp(K.k[0].state, "retired") == 0;
	pthread_rwlock_unlock(&K.lk);
	if (!K.file_seeded || !retired || told)
		return;
	if (write_seal(K.path, K.seal) == -1) {
		told = 1;
		log_err("key_file_unchanged",
		    "path=%s error=\"%s\" msg=\"the retired root key's seed "
		    "is still in the file: run vaultmesh-command-center "
		    "--seal-key on the key file itself\"",
		    K.path, strerror(errno));
		return;
	}
	sodium_memzero(K.root_sk, sizeof(K.root_sk));
	K.file_seeded = 0;
	log_info("key_file_sealed",
	    "path=%s msg=\"the root key is retired: the file now holds only "
	    "the key that seals the store's signing keys\"",
	    K.path);
}

void
keys_tick(int64_t now, int leads, long unmoved)
{
	char	err[256];
	int64_t v, loaded_at;
	int	retired = 0;

	pthread_rwlock_rdlock(&K.lk);
	v = K.version;
	loaded_at = K.loaded_at;
	pthread_rwlock_unlock(&K.lk);
	if (store_shared(K.st) &&
	    (now - loaded_at >= RELOAD_EVERY || store_key_version(K.st) > v) &&
	    reload(0, err, sizeof(err)) == -1)
		log_err("keys_reload_failed", "error=\"%s\"", err);
	if (leads) {
		struct {
			int64_t version;
			char	id[KEY_ID_LEN + 1];
			int	overlap_over;
		} due[8];
		size_t nd = 0;

		pthread_rwlock_rdlock(&K.lk);
		for (size_t i = 0; i < K.n && nd < 8; i++)
			if (strcmp(K.k[i].state, "retiring") == 0 &&
			    (unmoved == 0 || now >= K.k[i].retire_by)) {
				due[nd].version = K.k[i].version;
				memcpy(due[nd].id, K.k[i].id,
				    sizeof(due[nd].id));
				due[nd++].overlap_over =
				    now >= K.k[i].retire_by;
			}
		pthread_rwlock_unlock(&K.lk);
		for (size_t i = 0; i < nd; i++) {
			if (store_key_retire(K.st, due[i].version, now) == -1)
				continue;
			retired++;
			log_info("key_retired",
			    "version=%" PRId64 " key_id=%s reason=%s "
			    "msg=\"its secret key is destroyed\"",
			    due[i].version, due[i].id,
			    due[i].overlap_over ? "overlap_ended" :
						  "every_node_moved");
		}
		if (retired > 0 && reload(0, err, sizeof(err)) == -1)
			log_err("keys_reload_failed", "error=\"%s\"", err);
	}
	unseed_file();
}

void
keys_wipe(void)
{
	pthread_rwlock_wrlock(&K.lk);
	sodium_memzero(K.sk, sizeof(K.sk));
	sodium_memzero(K.root_sk, sizeof(K.root_sk));
	sodium_memzero(K.seal, sizeof(K.seal));
	kents_free(K.k, K.n);
	K.k = NULL;
	K.n = 0;
	K.linked = 0;
	pthread_rwlock_unlock(&K.lk);
}
