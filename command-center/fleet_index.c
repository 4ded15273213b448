/*
 * fleet_index: the fleet's two hash indexes, node id -> node and token
 * hash -> node: open addressing, linear probing, each slot keeping 32 bits
 * of its key's hash beside the node's number, so a probe rarely touches a
 * node (a cache miss). Called with the fleet's mutex held.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fleet_int.h"

static uint64_t
hash_id(const struct fleet *f, const char *id)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t      v;

	crypto_shorthash(h, (const unsigned char *)id, strlen(id), f->hkey);
	memcpy(&v, h, sizeof(v));
	return v;
}

static uint64_t
hash_token(const unsigned char *th)
{
	uint64_t v;

	/* A BLAKE2b output: already uniform. */
	memcpy(&v, th, sizeof(v));
	return v;
}

/* Finds the node whose key matches; match(i) compares node i's key. */
static struct fnode *
index_find(const struct fleet *f, const struct index *ix, uint64_t h,
    int (*match)(const struct fnode *, const void *), const void *key)
{
	size_t mask = ix->cap - 1;

	if (ix->cap == 0)
		return NULL;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const struct slot *s = &ix->slot[i];

		if (s->num == SLOT_EMPTY)
			return NULL;
		if (s->num != SLOT_DEAD && s->h == (uint32_t)h &&
		    match(f->node[s->num - 1], key))
			return f->node[s->num - 1];
	}
}

static int
match_id(const struct fnode *n, const void *key)
{
	return strcmp(n->r.node_id, key) == 0;
}

static int
match_token(const struct fnode *n, const void *key)
{
	return n->r.has_token &&
	    memcmp(n->r.token_hash, key, TOKEN_HASH_LEN) == 0;
}

static uint64_t
node_key_hash(const struct fleet *f, const struct index *ix,
    const struct fnode *n)
{
	return ix == &f->by_id ? hash_id(f, n->r.node_id) :
				 hash_token(n->r.token_hash);
}

static void
index_put_raw(struct index *ix, uint32_t h, uint32_t num)
{
	size_t mask = ix->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask)
		if (ix->slot[i].num == SLOT_EMPTY ||
		    ix->slot[i].num == SLOT_DEAD) {
			if (ix->slot[i].num == SLOT_EMPTY)
				ix->used++;
			ix->slot[i].num = num;
			ix->slot[i].h = h;
			return;
		}
}

/* Adds node number num (index into f->node); rebuilds when 70% full. */
int
index_add(struct fleet *f, struct index *ix, uint32_t num)
{
	if ((ix->used + 1) * 10 >= ix->cap * 7) {
		size_t	     ncap = ix->cap ? ix->cap * 2 : 1024;
		struct slot *old = ix->slot;
		size_t	     ocap = ix->cap;

		if ((ix->slot = calloc(ncap, sizeof(*ix->slot))) == NULL) {
			ix->slot = old;
			return -1;
		}
		ix->cap = ncap;
		ix->used = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].num != SLOT_EMPTY && old[i].num != SLOT_DEAD)
				index_put_raw(ix, old[i].h, old[i].num);
		free(old);
	}
	index_put_raw(ix, (uint32_t)node_key_hash(f, ix, f->node[num - 1]),
	    num);
	return 0;
}

/* Removes node number num from the token index (call before its hash changes). */
void
token_index_del(struct fleet *f, uint32_t num)
{
	struct index *ix = &f->by_token;
	size_t	      mask = ix->cap - 1;
	uint64_t      h = hash_token(f->node[num - 1]->r.token_hash);

	if (ix->cap == 0)
		return;
	for (size_t i = h & mask; ix->slot[i].num != SLOT_EMPTY;
	     i = (i + 1) & mask)
		if (ix->slot[i].num == num) {
			ix->slot[i].num = SLOT_DEAD;
			return;
		}
}

struct fnode *
find(const struct fleet *f, const char *node_id)
{
	return index_find(f, &f->by_id, hash_id(f, node_id), match_id, node_id);
}

struct fnode *
find_token(const struct fleet *f, const unsigned char *th)
{
	return index_find(f, &f->by_token, hash_token(th), match_token, th);
}
