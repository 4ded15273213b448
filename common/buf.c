#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

int
buf_failed(const struct buf *b)
{
	return b->failed;
}

static int
buf_fail(struct buf *b)
{
	buf_free(b);
	b->failed = 1;
	return -1;
}

static int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	char  *np;

	if (b->failed)
		return -1;
	if (n > b->max || b->len > b->max - n)
		return buf_fail(b);
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((np = realloc(b->p, ncap)) == NULL)
		return buf_fail(b);
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	size_t	room;
	int	n;

	if (b->failed)
		return -1;
	/* Straight into the free space; formatted twice only if it is short. */
	room = b->p != NULL ? b->cap - b->len : 0;
	va_copy(cp, ap);
	n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, cp);
	va_end(cp);
	if (n < 0)
		return buf_fail(b);
	if ((size_t)n >= room) {
		if (buf_reserve(b, (size_t)n) == -1)
			return -1;
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int	rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int
buf_html(struct buf *b, const char *s)
{
	const char *run = s;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++) {
		const char *rep;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if (buf_add(b, run, (size_t)(s - run)) == -1 ||
		    buf_puts(b, rep) == -1)
			return -1;
		run = s + 1;
	}
	return buf_add(b, run, (size_t)(s - run));
}

int
buf_html_in(struct buf *b, const char *pre, const char *s, const char *post)
{
	if (buf_puts(b, pre) == -1 || buf_html(b, s) == -1)
		return -1;
	return buf_puts(b, post);
}

int
buf_json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char	 *run;

	if (s == NULL)
		return buf_puts(b, "null");
	if (buf_putc(b, '"') == -1)
		return -1;
	for (run = s; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char	      esc[6];
		size_t	      n = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		if (buf_add(b, run, (size_t)(s - run)) == -1 ||
		    buf_add(b, esc, n) == -1)
			return -1;
		run = s + 1;
	}
	if (buf_add(b, run, (size_t)(s - run)) == -1)
		return -1;
	return buf_putc(b, '"');
}

int
buf_json_field(struct buf *b, const char *key, const char *s)
{
	if (b->len > 0 && b->p != NULL && b->p[b->len - 1] != '{' &&
	    buf_putc(b, ',') == -1)
		return -1;
	if (buf_printf(b, "\"%s\":", key) == -1)
		return -1;
	return buf_json_str(b, s);
}

int
buf_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			if (buf_putc(b, (char)c) == -1)
				return -1;
		} else {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

			if (buf_add(b, esc, 3) == -1)
				return -1;
		}
	}
	return b->failed ? -1 : 0;
}

ssize_t
buf_read_capped(struct buf *b, int fd, size_t cap, int *truncated)
{
	char	chunk[4096];
	ssize_t n;
	size_t	keep;

	if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
		return n;
	keep = (size_t)n;
	if (b->len + keep > cap) {
		keep = b->len < cap ? cap - b->len : 0;
		if (truncated != NULL)
			*truncated = 1;
	}
	if (keep > 0)
		(void)buf_add(b, chunk, keep);
	return n;
}

char *
buf_take(struct buf *b, size_t *len)
{
	char *p;

	if (b->failed)
		return NULL;
	if (b->p == NULL) {
		if (buf_reserve(b, 0) == -1)
			return NULL;
		b->p[0] = '\0';
	}
	p = b->p;
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}
