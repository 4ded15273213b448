/*
 * store_sqlite_heartbeats: the heartbeat log (heartbeat_chunks) of the
 * SQLite backend: appended by the writer a round at a time, replayed at a
 * start, folded into nodes; and a node's stored heartbeat document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_db.h"

/*
 * The heartbeat chunks. A row of heartbeat_chunks holds n heartbeats,
 * numbered seq - n + 1 .. seq (numbers only grow: AUTOINCREMENT keeps the
 * highest ever given), each encoded as
 *
 *	node_id, i64 at, i32 cloudflare, i32 services_down,
 *	hostname, agent_version, heartbeat JSON
 *
 * where each string is a u32 length and its bytes with their NUL, and
 * integers are little-endian. A chunk fills at most a page, less room for
 * SQLite's cell header, unless one heartbeat alone is larger.
 */
#define CHUNK_BUF_MAX ((size_t)256 << 20)

struct hb_rec {
	const char *node_id, *hostname, *agent_version, *json;
	size_t	    json_len;
	int64_t	    at;
	int	    cloudflare, services_down;
};

static size_t
chunk_rec_len(const struct hb_write *w)
{
	return 4 * 4 + 8 + 4 + 4 + strlen(w->node_id) + 1 +
	    strlen(w->hostname) + 1 + strlen(w->agent_version) + 1 +
	    strlen(w->json) + 1;
}

static int
put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4];

	for (int i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	return buf_add(b, x, sizeof(x));
}

static int
put_i64(struct buf *b, int64_t v)
{
	unsigned char x[8];
	uint64_t      u = (uint64_t)v;

	for (int i = 0; i < 8; i++)
		x[i] = (unsigned char)(u >> (8 * i));
	return buf_add(b, x, sizeof(x));
}

static int
put_str(struct buf *b, const char *str)
{
	size_t len = strlen(str) + 1;

	if (len > UINT32_MAX)
		return -1;
	return put_u32(b, (uint32_t)len) == -1 ? -1 : buf_add(b, str, len);
}

static int
chunk_put(struct buf *b, const struct hb_write *w)
{
	if (put_str(b, w->node_id) == -1 || put_i64(b, w->at) == -1 ||
	    put_u32(b, (uint32_t)w->cloudflare) == -1 ||
	    put_u32(b, (uint32_t)w->services_down) == -1 ||
	    put_str(b, w->hostname) == -1 ||
	    put_str(b, w->agent_version) == -1 || put_str(b, w->json) == -1)
		return -1;
	return 0;
}

/* Reads a chunk: each get_ moves p on, or fails (-1) past end. */
struct chunk_rd {
	const unsigned char *p, *end;
};

static int
get_u32(struct chunk_rd *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++)
		*v |= (uint32_t)r->p[i] << (8 * i);
	r->p += 4;
	return 0;
}

static int
get_i64(struct chunk_rd *r, int64_t *v)
{
	uint64_t u = 0;

	if (r->end - r->p < 8)
		return -1;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	*v = (int64_t)u;
	return 0;
}

/* A string with its NUL, none inside: *len is its strlen. */
static int
get_str(struct chunk_rd *r, const char **str, size_t *len)
{
	uint32_t n;

	if (get_u32(r, &n) == -1 || n == 0 || (size_t)(r->end - r->p) < n ||
	    r->p[n - 1] != '\0' || memchr(r->p, '\0', n - 1) != NULL)
		return -1;
	*str = (const char *)r->p;
	if (len != NULL)
		*len = n - 1;
	r->p += n;
	return 0;
}

/* Moves past one heartbeat by its lengths (the one wanted is checked). */
static int
skip_rec(struct chunk_rd *r)
{
	uint32_t n;

	for (int i = 0; i < 4; i++) {
		if (get_u32(r, &n) == -1 || (size_t)(r->end - r->p) < n)
			return -1;
		r->p += n;
		if (i == 0) { /* at, cloudflare, services_down */
			if (r->end - r->p < 16)
				return -1;
			r->p += 16;
		}
	}
	return 0;
}

static int
get_rec(struct chunk_rd *r, struct hb_rec *h)
{
	uint32_t cf, down;
	size_t	 idlen;

	if (get_str(r, &h->node_id, &idlen) == -1 || idlen > 36 ||
	    get_i64(r, &h->at) == -1 || get_u32(r, &cf) == -1 ||
	    get_u32(r, &down) == -1 || get_str(r, &h->hostname, NULL) == -1 ||
	    get_str(r, &h->agent_version, NULL) == -1 ||
	    get_str(r, &h->json, &h->json_len) == -1)
		return -1;
	h->cloudflare = (int)(int32_t)cf;
	h->services_down = (int)(int32_t)down;
	return 0;
}

/* The smallest heartbeat a chunk can hold: four lengths, four NULs, 16. */
#define CHUNK_REC_MIN 36

/*
 * The chunk in st's row (seq, n, data): its heartbeats first .. last and
 * a reader of its bytes; -1 (logged) when the row cannot be such a chunk.
 */
static int
chunk_open(sqlite3_stmt *st, int64_t *first, int64_t *last, struct chunk_rd *r)
{
	int64_t n = sqlite3_column_int64(st, 1);
	int	len = sqlite3_column_bytes(st, 2);

	*last = sqlite3_column_int64(st, 0);
	r->p = sqlite3_column_blob(st, 2);
	if (r->p == NULL || len <= 0 || n < 1 || n > len / CHUNK_REC_MIN ||
	    *last < n) {
		log_err("heartbeat_chunk_bad", "seq=%lld n=%lld bytes=%d",
		    (long long)*last, (long long)n, len);
		return -1;
	}
	r->end = r->p + len;
	*first = *last - n + 1;
	return 0;
}

/*
 * Heartbeat want of the chunk in st's row into *h (strings pointing into
 * the row): 0, 1 when the row does not hold it, -1 when the chunk is
 * damaged (logged).
 */
static int
chunk_find(sqlite3_stmt *st, int64_t want, struct hb_rec *h)
{
	struct chunk_rd r;
	int64_t		first, last;

	if (chunk_open(st, &first, &last, &r) == -1)
		return -1;
	if (want < first || want > last)
		return 1;
	for (int64_t k = first; k < want; k++)
		if (skip_rec(&r) == -1)
			goto bad;
	if (get_rec(&r, h) == 0)
		return 0;
bad:
	log_err("heartbeat_chunk_bad", "seq=%lld want=%lld", (long long)last,
	    (long long)want);
	return -1;
}

/* The last heartbeat number given: the larger of what either keeps. */
static int
hb_last_read(struct sq *s, int64_t *last)
{
	sqlite3_stmt *st = s->st[S_LOG_LAST];

	if (sqlite3_step(st) != SQLITE_ROW) {
		log_err("store_error", "op=heartbeat_last error=\"%s\"",
		    sqlite3_errmsg(s->db));
		sqlite3_reset(st);
		return -1;
	}
	*last = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* After the statements: the chunk size (from the page size), numbers. */
int
sq_chunks_open(struct sq *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int	      page = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		page = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (page < 512) {
		snprintf(err, errlen, "reading the page size: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	s->chunk_max = (size_t)page - 64;
	buf_init(&s->chunk, CHUNK_BUF_MAX);
	if (hb_last_read(s, &s->hb_last) == -1) {
		snprintf(err, errlen, "reading the last heartbeat number: %s",
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static int
sq_node_heartbeat(struct store *base, const char *node_id, int64_t seq,
    char **json)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[seq > 0 ? S_LOG_HB_GET : S_NODE_HB_GET];
	struct hb_rec h;
	int	      rc = 0, r;

	*json = NULL;
	pthread_mutex_lock(&s->rmu);
	if (seq > 0)
		sqlite3_bind_int64(st, 1, seq);
	else
		sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && seq > 0) {
		/* Its chunk: the first that ends at or after it. */
		if ((rc = chunk_find(st, seq, &h)) == 0 &&
		    strcmp(h.node_id, node_id) != 0)
			rc = 1;
		if (rc == 0 && (*json = malloc(h.json_len + 1)) == NULL)
			rc = -1;
		else if (rc == 0)
			memcpy(*json, h.json, h.json_len + 1);
	} else if (r == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (*json = sq_col_strdup(st, 0)) == NULL)
		rc = -1;
	else if (r == SQLITE_DONE && seq > 0)
		rc = 1; /* folded meanwhile */
	else if (r != SQLITE_ROW && r != SQLITE_DONE) {
		log_err("store_error", "op=node_heartbeat rc=%d error=\"%s\"",
		    r, sqlite3_errmsg(s->rdb));
		rc = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->rmu);
	return rc;
}

/* Writes the chunk being filled: heartbeats last - n + 1 .. last. */
static int
chunk_flush(struct sq *s, int64_t last, int64_t n)
{
	sqlite3_stmt *st = s->st[S_NODE_HB];

	sqlite3_bind_int64(st, 1, last);
	sqlite3_bind_int64(st, 2, n);
	sqlite3_bind_blob(st, 3, s->chunk.p, (int)s->chunk.len, SQLITE_STATIC);
	if (sq_step_done(s, st, "heartbeat_chunk") == -1)
		return -1;
	buf_reset(&s->chunk);
	return 0;
}

static int
sq_heartbeats(struct store *base, struct hb_write *w, size_t n)
{
	struct sq *s = sq_of(base);
	int64_t	   last, count = 0;
	int	   rc = -1;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	last = s->hb_last;
	buf_reset(&s->chunk);
	if (last > INT64_MAX - (int64_t)n) {
		log_err("store_error",
		    "op=heartbeat_chunk error=\"heartbeat numbers exhausted\"");
		goto out;
	}
	if (sq_begin(s) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (count > 0 &&
		    s->chunk.len + chunk_rec_len(&w[i]) > s->chunk_max) {
			if (chunk_flush(s, last, count) == -1)
				goto fail;
			count = 0;
		}
		if (chunk_put(&s->chunk, &w[i]) == -1) {
			log_err("store_error",
			    "op=heartbeat_chunk error=\"out of memory\"");
			goto fail;
		}
		w[i].seq = ++last;
		count++;
	}
	if (chunk_flush(s, last, count) == -1 || sq_commit(s) == -1)
		goto fail;
	s->hb_last = last;
	rc = 0;
	goto out;
fail:
	sq_rollback(s);
	/* Numbers taken meanwhile (another writer, a restored file)? */
	if (hb_last_read(s, &last) == 0 && last > s->hb_last)
		s->hb_last = last;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sq_heartbeat_log(struct store *base, store_hb_logged_fn fn, void *arg)
{
	struct sq	*s = sq_of(base);
	sqlite3_stmt	*st = s->st[S_LOG_ALL];
	struct hb_logged l;
	struct hb_rec	 h;
	int64_t		 prev = 0;
	int		 r, ret = 0;

	pthread_mutex_lock(&s->mu);
	while (ret == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t		first, last;
		struct chunk_rd rd;

		/* A damaged chunk is skipped: what nodes holds stays. */
		if (chunk_open(st, &first, &last, &rd) == -1)
			continue;
		if (first <= prev) {
			log_err("heartbeat_chunk_bad", "seq=%lld overlaps=%lld",
			    (long long)last, (long long)prev);
			continue;
		}
		prev = last;
		for (int64_t seq = first; ret == 0 && seq <= last; seq++) {
			if (get_rec(&rd, &h) == -1) {
				log_err("heartbeat_chunk_bad",
				    "seq=%lld at=%lld", (long long)last,
				    (long long)seq);
				break;
			}
			memset(&l, 0, sizeof(l));
			l.seq = seq;
			memcpy(l.node_id, h.node_id, strlen(h.node_id) + 1);
			l.at = h.at;
			l.hostname = h.hostname;
			l.agent_version = h.agent_version;
			l.cloudflare = h.cloudflare;
			l.services_down = h.services_down;
			if (fn(&l, arg) == -1)
				ret = -1;
		}
	}
	if (ret == 0 && r != SQLITE_DONE) {
		log_err("store_error", "op=heartbeat_log rc=%d error=\"%s\"", r,
		    sqlite3_errmsg(s->db));
		ret = -1;
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

/* Copies heartbeat f (in the log) into its node's row: 0 or -1. */
static int
fold_one(struct sq *s, const struct hb_fold *f)
{
	sqlite3_stmt *get = s->st[S_LOG_CHUNK], *st = s->st[S_LOG_FOLD];
	struct hb_rec h;
	int	      r, rc = 0;

	sqlite3_bind_int64(get, 1, f->seq);
	if ((r = sqlite3_step(get)) == SQLITE_ROW) {
		/*
		 * Not there any more, another node's, or damaged (logged):
		 * nothing to copy; nodes keeps the heartbeat it had.
		 */
		if (chunk_find(get, f->seq, &h) != 0 ||
		    strcmp(h.node_id, f->node_id) != 0)
			goto out;
		sqlite3_bind_text(st, 1, f->node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, h.at);
		sqlite3_bind_text(st, 3, h.json, (int)h.json_len,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 4, h.hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, h.agent_version, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, h.cloudflare);
		sqlite3_bind_int(st, 7, h.services_down);
		rc = sq_step_done(s, st, "fold");
	} else if (r != SQLITE_DONE) {
		log_err("store_error", "op=fold_chunk rc=%d error=\"%s\"", r,
		    sqlite3_errmsg(s->db));
		rc = -1;
	}
out:
	sqlite3_reset(get);
	sqlite3_clear_bindings(get);
	return rc;
}

static int
sq_fold(struct store *base, const struct hb_fold *fold, size_t n, int64_t upto,
    int64_t *cut)
{
	struct sq    *s = sq_of(base);
	sqlite3_stmt *st = s->st[S_LOG_CUT], *drop = s->st[S_LOG_DROP];
	int	      rc = -1;

	*cut = 0;
	pthread_mutex_lock(&s->mu);
	if (sq_begin(s) == -1)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (fold_one(s, &fold[i]) == -1)
			goto fail;
	/* The chunks that end by upto go; one that straddles it stays. */
	sqlite3_bind_int64(st, 1, upto);
	if (sqlite3_step(st) != SQLITE_ROW) {
		log_err("store_error", "op=fold_cut error=\"%s\"",
		    sqlite3_errmsg(s->db));
		sqlite3_reset(st);
		goto fail;
	}
	*cut = sqlite3_column_int64(st, 0); /* NULL: 0, none */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int64(drop, 1, *cut);
	if (sq_step_done(s, drop, "fold_drop") == -1 || sq_commit(s) == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	*cut = 0;
	sq_rollback(s);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* In store_backend.h\'s order. */
const struct store_heartbeat_ops sq_heartbeat_ops = { sq_heartbeats,
	sq_heartbeat_log, sq_fold, sq_node_heartbeat };
