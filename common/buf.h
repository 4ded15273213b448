/*
 * buf: a growable byte buffer with a hard size cap (after curl's dynbuf).
 *
 * Every append either succeeds completely or fails, frees the storage and
 * marks the buffer failed; later appends to a failed buffer fail at once, so
 * a renderer can append freely and check buf_failed() once at the end.
 * The bytes are always NUL-terminated (not counted in len).
 */
#ifndef VM_BUF_H
#define VM_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct buf {
	char  *p;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len */
	int    failed;
};

/* A read-only byte range. */
struct bytes {
	const char *p;
	size_t	    len;
};

void buf_init(struct buf *b, size_t max);
/* 0 on success, -1 (buffer freed and marked failed) when over max or OOM. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s with &, <, >, ", ' escaped for HTML text and attributes. */
int buf_html(struct buf *b, const char *s);
/* Appends pre (markup, as it is), s escaped as buf_html, then post. */
int
buf_html_in(struct buf *b, const char *pre, const char *s, const char *post);
/* Appends s as a quoted JSON string (NULL appends null). */
int buf_json_str(struct buf *b, const char *s);
/*
 * Appends the member "key": s of a JSON object (s as buf_json_str), after
 * a comma unless the object has just begun ('{'); key is a name that needs
 * no escaping.
 */
int buf_json_field(struct buf *b, const char *key, const char *s);
/* Appends s percent-encoded for a URL query value. */
int buf_urlenc(struct buf *b, const char *s);
/*
 * Reads once from fd into b, keeping no more than cap bytes in b (the
 * rest is read and dropped, so a writer on a pipe never blocks; *truncated,
 * when not NULL, is set to 1 then). read()'s count: 0 at the end, -1 with
 * errno.
 */
ssize_t buf_read_capped(struct buf *b, int fd, size_t cap, int *truncated);
/* Hands the bytes to the caller (free() them); the buffer is left empty. */
char *buf_take(struct buf *b, size_t *len);
void  buf_reset(struct buf *b);
void  buf_free(struct buf *b);
int   buf_failed(const struct buf *b);

#endif
