/*
 * fleet_int: what the fleet's files (fleet.c, fleet_index.c, enroll.c,
 * writer.c) share and nothing else may see: the nodes in memory and the
 * helpers that keep them. Every function here is called with f->mu held
 * unless it says otherwise.
 */
#ifndef VM_CC_FLEET_INT_H
#define VM_CC_FLEET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "model.h"
#include "store_rec.h"

struct store;

#define FLUSH_MS 200
#define SETTLING_MAX 64 /* node rows committing at once (MHD threads: fewer) */
#define LOG_ROWS_MIN 4096  /* heartbeats always kept in the log */
#define LOG_FOLD_MAX 16384 /* heartbeats folded per transaction */
#define SLOT_EMPTY 0u
#define SLOT_DEAD UINT32_MAX

/*
 * A node in memory. Its latest heartbeat JSON is held only until the store
 * has it: r.heartbeat while it waits for the writer, hb_inflight while the
 * writer writes it; when both are NULL the store's copy is the latest:
 * heartbeat hb_seq of the log, or the one folded into nodes when hb_seq
 * is 0.
 */
struct fnode {
	struct node_rec r;
	char	       *hb_inflight; /* taken by the writer, not committed */
	int64_t		hb_seq;	     /* its latest heartbeat in the log, or 0 */
	double		load1, mem_used_pct; /* latest since start, or NAN */
	enum cf_state	cloudflare;
	int		services_down;
	int		dirty;
	int		pending; /* commands queued, not yet delivered */
	uint32_t	num;	 /* index in fleet->node, plus one */
	uint64_t	gen;	 /* fleet->gen at its last status or token */
	/* Attention, kept up to date by fleet.c as the node changes. */
	unsigned   reasons;
	enum level level;
	int64_t	   due; /* when time alone changes the reasons */
};

/*
 * An open-addressing index of node numbers (+1), linear probing. Each slot
 * keeps 32 bits of its key's hash beside the number: a probe compares them
 * before it touches the node (a cache miss), and a rebuild needs no hash.
 */
struct slot {
	uint32_t num; /* node number + 1, SLOT_EMPTY or SLOT_DEAD */
	uint32_t h;   /* the key's hash, low 32 bits */
};

struct index {
	struct slot *slot;
	size_t	     cap;  /* power of two */
	size_t	     used; /* live + dead */
};

struct fleet {
	pthread_mutex_t	  mu;
	pthread_mutex_t	  flush_mu; /* held by one fleet_flush */
	struct fnode	**node;
	size_t		  n, cap;
	struct index	  by_id;
	struct index	  by_token;
	uint32_t	 *dirty;
	size_t		  ndirty, dirty_cap;
	int64_t		  log_first, log_last; /* the log; 0: empty */
	unsigned char	  hkey[crypto_shorthash_KEYBYTES];
	struct store	 *store;
	struct thresholds thr;
	/*
	 * The dashboard's order (red first, then by hostname and node id)
	 * and the nodes per level, kept as nodes change, so a page of the
	 * table costs the page and not the fleet. When dirty, the order is
	 * rebuilt before it is read.
	 */
	struct fnode **order; /* f->n entries unless dirty */
	int	       order_dirty;
	size_t	       by_level[3];	 /* nodes shown, per level */
	size_t	       nrevoked;	 /* after the levels in the order */
	size_t	       nhidden;		 /* deleted: last in the order */
	size_t	       npending;	 /* status pending */
	size_t	       pending_inflight; /* admitted, committing */
	/* New pending nodes: at most max_pending, a token bucket for the rate. */
	size_t	       max_pending;
	double	       pending_tokens, pending_rate; /* per second */
	double	       pending_burst;
	int64_t	       pending_refill_ms;
	int64_t	       next_due; /* no node's due is earlier */
	uint64_t       gen;	 /* counts status and token changes made here */
	pthread_t      writer;
	pthread_cond_t cv;
	/*
	 * Nodes whose row is being committed (a new node, a status or a
	 * token): with the mutex released, since a synchronous commit must
	 * not stall every heartbeat. Whatever else would decide on the same
	 * id (enroll, approve, revoke) waits on settled_cv until it is done.
	 */
	char		 settling[SETTLING_MAX][37];
	size_t		 nsettling;
	pthread_cond_t	 settled_cv;
	int		 stop;
	int		 writer_started;
	_Atomic uint64_t writer_rounds; /* liveness, for the watchdog */
};

/* fleet_index.c: the node with that id (deleted ones too), or NULL. */
struct fnode *find(const struct fleet *f, const char *node_id);
/* The node whose live token hashes to th, or NULL. */
struct fnode *find_token(const struct fleet *f, const unsigned char *th);
/* Takes node number num out of the token index (before its hash changes). */
void token_index_del(struct fleet *f, uint32_t num);
/* Appends a copy of rec; 0 or -1 (the caller holds the lock or is alone). */
int fleet_add(struct fleet *f, const struct node_rec *rec);
/* Makes room in the dirty list for every node. */
int dirty_reserve(struct fleet *f);
/* Adds node number num to an index (fleet_index.c); 0 or -1. */
int index_add(struct fleet *f, struct index *ix, uint32_t num);
/* The hash a token is kept as. */
void token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN]);
/*
 * Waits until node_id's row is not being committed, then takes a slot for
 * it (the mutex released meanwhile); settle_end() gives it back.
 */
void settle_begin(struct fleet *f, const char *node_id);
void settle_end(struct fleet *f, const char *node_id);
/* n's status becomes st (committed already): its token, counts and place. */
void status_move(struct fleet *f, struct fnode *n, enum node_status st);
/* writer.c: heartbeat seq is in the log now. */
void log_noted(struct fleet *f, int64_t seq);

#endif
