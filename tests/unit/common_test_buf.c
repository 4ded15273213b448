/*
 * Unit tests of common/buf.c: the capped growable buffer and its escaping
 * writers (HTML, JSON string, URL query value).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "testlib.h"

static void
buf_init_starts_empty_and_not_failed(void **state)
{
	struct buf b;

	(void)state;
	memset(&b, 0xa5, sizeof(b));
	buf_init(&b, 100);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_false(buf_failed(&b));
	buf_free(&b);
}

static void
buf_add_keeps_embedded_nul_bytes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "a\0b", 4);
	buf_free(&b);
}

static void
buf_grows_across_many_appends(void **state)
{
	struct buf b;
	size_t	   i;

	(void)state;
	buf_init(&b, 1 << 20);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 100000);
	for (i = 0; i < 100000; i++)
		assert_int_equal(b.p[i], 'a' + i % 26);
	assert_int_equal(b.p[b.len], '\0');
	assert_true(b.cap <= b.max + 1);
	buf_free(&b);
}

/* ---- the cap: appends up to max succeed, past it the buffer fails ---- */

enum op {
	OP_END,
	OP_ADD,
	OP_PUTS,
	OP_PUTC,
	OP_PRINTF,
	OP_HTML,
	OP_JSON,
	OP_URL,
	OP_ADD_WRAPPING,
	OP_RESET,
};

/* One call on the buffer: rc is what it must return, want what it holds. */
struct step {
	enum op	    op;
	const char *in;
	int	    rc;
	const char *want; /* after a success; NULL: unchecked */
};

static int
apply(struct buf *b, const struct step *s)
{
	int rc = 0;

	switch (s->op) {
	case OP_ADD:
		rc = buf_add(b, s->in, strlen(s->in));
		break;
	case OP_PUTS:
		rc = buf_puts(b, s->in);
		break;
	case OP_PUTC:
		rc = buf_putc(b, s->in[0]);
		break;
	case OP_PRINTF:
		rc = buf_printf(b, "%s", s->in);
		break;
	case OP_HTML:
		rc = buf_html(b, s->in);
		break;
	case OP_JSON:
		rc = buf_json_str(b, s->in);
		break;
	case OP_URL:
		rc = buf_urlenc(b, s->in);
		break;
	case OP_ADD_WRAPPING:
		/* len + n would wrap around: must fail, not write. */
		rc = buf_add(b, s->in, SIZE_MAX - 1);
		break;
	case OP_RESET:
		buf_reset(b);
		break;
	case OP_END:
		break;
	}
	return rc;
}

#define Y10 "yyyyyyyyyy"

static const struct cap_case {
	const char *name;
	size_t	    max;
	struct step steps[10];
} cap_cases[] = {
#define OK(op, in, want)        \
	{                       \
		op, in, 0, want \
	}
#define FAILS(op, in)            \
	{                        \
		op, in, -1, NULL \
	}
	{ "appends of each kind keep the NUL terminator", 1024,
	    { OK(OP_ADD, "abc", "abc"), OK(OP_PUTS, "def", "abcdef"),
		OK(OP_PUTC, "g", "abcdefg"), OK(OP_ADD, "", "abcdefg") } },
	{ "appending up to exactly max succeeds", 10,
	    { OK(OP_ADD, "xxxxxx", "xxxxxx"),
		OK(OP_ADD, "xxxx", "xxxxxxxxxx") } },
	/* Every later append fails at once, even an empty one. */
	{ "past max the buffer is freed and stays failed", 10,
	    { OK(OP_PUTS, "0123456789", "0123456789"), FAILS(OP_PUTC, "x"),
		FAILS(OP_PUTS, ""), FAILS(OP_ADD, "a"), FAILS(OP_PRINTF, "1"),
		FAILS(OP_HTML, "<"), FAILS(OP_JSON, "x"),
		FAILS(OP_URL, "x") } },
	{ "one append larger than max fails", 99,
	    { FAILS(OP_ADD, Y10 Y10 Y10 Y10 Y10 Y10 Y10 Y10 Y10 Y10) } },
	{ "a huge length does not overflow the cap check", 1024,
	    { OK(OP_PUTS, "abc", "abc"), FAILS(OP_ADD_WRAPPING, "x") } },
	{ "max 0 takes nothing but nothing", 0,
	    { OK(OP_ADD, "", ""), FAILS(OP_PUTC, "a") } },
	{ "reset clears the content and the failure", 8,
	    { OK(OP_PUTS, "abc", "abc"), OK(OP_RESET, NULL, ""),
		FAILS(OP_PUTS, "0123456789"), OK(OP_RESET, NULL, NULL),
		OK(OP_PUTS, "ok", "ok") } },
	{ "printf past max fails", 10,
	    { OK(OP_PRINTF, "12345", "12345"), FAILS(OP_PRINTF, "678901") } },
	{ "html of NULL appends nothing", 64,
	    { OK(OP_PUTS, "x", "x"), OK(OP_HTML, NULL, "x") } },
	/* "a" + "&amp;" is 6 bytes; one more escape does not fit. */
	{ "html fails when an escape crosses max", 6,
	    { OK(OP_HTML, "a&", "a&amp;"), FAILS(OP_HTML, "<") } },
	/* "abc" quoted is 5 bytes. */
	{ "a json string of max bytes fits, one more does not", 5,
	    { OK(OP_JSON, "abc", "\"abc\""), OK(OP_RESET, NULL, ""),
		FAILS(OP_JSON, "abcd") } },
	{ "urlenc past max at once", 4, { FAILS(OP_URL, "a b") } },
	{ "urlenc up to max, then past it", 5,
	    { OK(OP_URL, "ab", "ab"), OK(OP_URL, " ", "ab%20"),
		FAILS(OP_URL, "x") } },
	{ "nothing is taken from a failed buffer", 2,
	    { FAILS(OP_PUTS, "abc") } },
#undef OK
#undef FAILS
};

static void
buf_appends_within_max_succeed_and_past_it_fail(void **state)
{
	const struct cap_case *c;

	(void)state;
	TL_FOREACH(c, cap_cases)
	{
		struct buf b;

		buf_init(&b, c->max);
		for (const struct step *s = c->steps; s->op != OP_END; s++) {
			size_t step = (size_t)(s - c->steps) + 1;

			if (apply(&b, s) != s->rc)
				fail_msg("%s: step %zu did not return %d",
				    c->name, step, s->rc);
			if (s->rc == 0 &&
			    (buf_failed(&b) ||
				(s->want != NULL &&
				    (b.p == NULL || strcmp(b.p, s->want) != 0 ||
					b.len != strlen(s->want) ||
					b.cap <= b.len))))
				fail_msg("%s: step %zu: \"%s\", want \"%s\"",
				    c->name, step, b.p ? b.p : "(null)",
				    s->want ? s->want : "");
			if (s->rc == -1 &&
			    (!buf_failed(&b) || b.p != NULL || b.len != 0 ||
				b.cap != 0 || buf_take(&b, NULL) != NULL))
				fail_msg("%s: step %zu: not failed and freed",
				    c->name, step);
		}
		buf_free(&b);
	}
}

static void
buf_free_accepts_null_and_twice(void **state)
{
	struct buf b;

	(void)state;
	buf_free(NULL);
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "x"), 0);
	buf_free(&b);
	buf_free(&b);
	assert_null(b.p);
}

static void
buf_printf_formats_and_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_puts(&b, "n="), 0);
	assert_int_equal(
	    buf_printf(&b, "%d %s %05.1f %zu", -42, "str", 3.14159, (size_t)7),
	    0);
	assert_string_equal(b.p, "n=-42 str 003.1 7");
	assert_int_equal(b.len, strlen("n=-42 str 003.1 7"));
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, strlen("n=-42 str 003.1 7"));
	buf_free(&b);
	/* Formatted up to exactly max: fits. */
	buf_init(&b, 10);
	assert_int_equal(buf_printf(&b, "%010d", 7), 0);
	assert_string_equal(b.p, "0000000007");
	assert_false(buf_failed(&b));
	buf_free(&b);
}

static void
buf_printf_grows_beyond_initial_capacity(void **state)
{
	struct buf b;
	char	   big[5000];

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 10000);
	assert_int_equal(buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 5001);
	assert_int_equal(b.p[0], '[');
	assert_int_equal(b.p[5000], ']');
	assert_int_equal(b.p[5001], '\0');
	buf_free(&b);
}

/* ---- the escaping writers ---------------------------------------------- */

static const struct render_case {
	const char *writer;
	int (*fn)(struct buf *, const char *);
	const char *in, *want;
} render_cases[] = {
#define HTML(in, want)                         \
	{                                      \
		"buf_html", buf_html, in, want \
	}
#define JSON(in, want)                                 \
	{                                              \
		"buf_json_str", buf_json_str, in, want \
	}
#define URL(in, want)                              \
	{                                          \
		"buf_urlenc", buf_urlenc, in, want \
	}
	/* The five special characters. */
	HTML("&", "&amp;"),
	HTML("<", "&lt;"),
	HTML(">", "&gt;"),
	HTML("\"", "&quot;"),
	HTML("'", "&#39;"),
	HTML("<script>alert('x&y')</script>",
	    "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;"),
	HTML("a\"b\"c", "a&quot;b&quot;c"),
	HTML("&amp;", "&amp;amp;"),
	/* Plain text and UTF-8 pass through. */
	HTML("", ""),
	HTML("plain text 123", "plain text 123"),
	HTML("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x94\x92",
	    "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x94\x92"),
	HTML("\xc3\xa9<\xc3\xa9", "\xc3\xa9&lt;\xc3\xa9"),
	/* JSON strings: quoted, escaped, control bytes as \u00XX. */
	JSON("", "\"\""),
	JSON("abc", "\"abc\""),
	JSON("say \"hi\"", "\"say \\\"hi\\\"\""),
	JSON("a\\b", "\"a\\\\b\""),
	JSON("l1\nl2\r\tx", "\"l1\\nl2\\r\\tx\""),
	JSON("</script>", "\"</script>\""),
	JSON("\x01", "\"\\u0001\""),
	JSON("\x08\x0c", "\"\\u0008\\u000c\""),
	JSON("a\x1f"
	     "b",
	    "\"a\\u001fb\""),
	JSON("\x1b[31m", "\"\\u001b[31m\""),
	JSON("\x7f", "\"\\u007f\""),
	JSON("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
	JSON(NULL, "null"),
	/* URL query values: unreserved kept, the rest encoded. */
	URL("", ""),
	URL("AZaz09-_.~", "AZaz09-_.~"),
	URL("a b", "a%20b"),
	URL("&=?/#+%", "%26%3D%3F%2F%23%2B%25"),
	URL("<\"'>", "%3C%22%27%3E"),
	URL("\n\x01\x7f", "%0A%01%7F"),
	URL("\xc3\xa9", "%C3%A9"),
	URL("\xff", "%FF"),
#undef HTML
#undef JSON
#undef URL
};

static void
buf_writers_escape_as_their_format_requires(void **state)
{
	const struct render_case *c;

	(void)state;
	TL_FOREACH(c, render_cases)
	{
		struct buf b;

		buf_init(&b, 4096);
		assert_int_equal(c->fn(&b, c->in), 0);
		assert_false(buf_failed(&b));
		/* Appending nothing may leave the storage unallocated. */
		if ((b.p == NULL && *c->want != '\0') ||
		    strcmp(b.p != NULL ? b.p : "", c->want) != 0 ||
		    b.len != strlen(c->want))
			fail_msg("%s(\"%s\") gave \"%s\", want \"%s\"",
			    c->writer, c->in ? c->in : "(null)",
			    b.p ? b.p : "(null)", c->want);
		buf_free(&b);
	}
}

static void
buf_json_str_every_ascii_byte_round_trips_through_jansson(void **state)
{
	char	     s[128];
	struct buf   b;
	json_t	    *v;
	json_error_t jerr;

	(void)state;
	for (int i = 1; i < 128; i++)
		s[i - 1] = (char)i;
	s[127] = '\0';
	buf_init(&b, 4096);
	assert_int_equal(buf_json_str(&b, s), 0);
	v = json_loadb(b.p, b.len, JSON_DECODE_ANY, &jerr);
	assert_non_null(v);
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), s);
	/* No raw control byte may appear in the output. */
	for (size_t i = 0; i < b.len; i++)
		assert_true((unsigned char)b.p[i] >= 0x20 &&
		    (unsigned char)b.p[i] != 0x7f);
	json_decref(v);
	buf_free(&b);
}

static void
buf_take_hands_over_ownership_and_empties_buffer(void **state)
{
	struct buf b;
	char	  *p;
	size_t	   len = 0;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	p = buf_take(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "hello");
	assert_int_equal(len, 5);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_false(buf_failed(&b));
	/* The buffer is usable again and does not share storage with p. */
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_ptr_not_equal(b.p, p);
	assert_string_equal(p, "hello");
	assert_string_equal(b.p, "again");
	free(p);
	buf_free(&b);
}

/*
 * buf.h promises the bytes are always NUL-terminated; taking from a buffer
 * that never had an append must give "" (not uninitialised memory), also
 * when max is 0.
 */
static void
buf_take_of_empty_buffer_gives_empty_string(void **state)
{
	static const size_t maxes[] = { 100, 0 };
	struct buf	    b;
	char		   *p;
	size_t		    len;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(maxes); i++) {
		len = 7;
		buf_init(&b, maxes[i]);
		p = buf_take(&b, &len);
		assert_non_null(p);
		assert_int_equal(len, 0);
		/* Checked bytewise: a string compare could overrun it. */
		if (p[0] != '\0') {
			free(p);
			fail_msg("buf_take of an empty buffer (max %zu) is not "
				 "NUL-terminated",
			    maxes[i]);
		}
		free(p);
		p = buf_take(&b, NULL);
		assert_non_null(p);
		free(p);
		buf_free(&b);
	}
}

/* An object's members after the first get their comma; NULL is null. */
static void
buf_json_field_and_html_in_write_what_they_promise(void **state)
{
	struct buf b;
	json_t	  *o;

	(void)state;
	buf_init(&b, 1024);
	buf_putc(&b, '{');
	assert_int_equal(buf_json_field(&b, "a", "x\"y"), 0);
	assert_int_equal(buf_json_field(&b, "b", NULL), 0);
	assert_int_equal(buf_json_field(&b, "c", "<\n>"), 0);
	buf_putc(&b, '}');
	assert_non_null(b.p);
	assert_memory_equal(b.p,
	    "{\"a\":\"x\\\"y\",\"b\":null,\"c\":\"<\\n>\"}", b.len);
	assert_non_null(o = json_loadb(b.p, b.len, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(o, "c")), "<\n>");
	json_decref(o);
	buf_free(&b);
	buf_init(&b, 1024);
	assert_int_equal(buf_html_in(&b, "<b>", "a<&>'\"", "</b>"), 0);
	assert_memory_equal(b.p, "<b>a&lt;&amp;&gt;&#39;&quot;</b>", b.len);
	buf_free(&b);
	/* Past the cap: failed, like every writer. */
	buf_init(&b, 8);
	assert_int_equal(buf_html_in(&b, "<b>", "abcdef", "</b>"), -1);
	assert_true(buf_failed(&b));
	buf_free(&b);
}

/* A pipe read in turns: the first cap bytes kept, the rest drained. */
static void
buf_read_capped_keeps_the_first_cap_bytes_and_drains_the_rest(void **state)
{
	struct buf b;
	int	   fds[2], truncated = 0;
	ssize_t	   n, total = 0;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "0123456789", 10), 10);
	close(fds[1]);
	buf_init(&b, 1024);
	assert_int_equal(buf_read_capped(&b, fds[0], 4, NULL), 10);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.p, "0123", 4);
	assert_int_equal(buf_read_capped(&b, fds[0], 4, &truncated), 0);
	close(fds[0]);
	buf_free(&b);

	/* Over several reads, and with room for all: nothing truncated. */
	assert_int_equal(pipe(fds), 0);
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 3; i++) {
		char chunk[5000];

		memset(chunk, 'a' + i, sizeof(chunk));
		assert_int_equal(write(fds[1], chunk, sizeof(chunk)),
		    (ssize_t)sizeof(chunk));
	}
	close(fds[1]);
	while ((n = buf_read_capped(&b, fds[0], 6000, &truncated)) > 0)
		total += n;
	assert_int_equal(n, 0);
	assert_int_equal(total, 15000);
	assert_int_equal(b.len, 6000);
	assert_int_equal(truncated, 1);
	assert_int_equal(b.p[4999], 'a');
	assert_int_equal(b.p[5000], 'b');
	close(fds[0]);
	buf_free(&b);
	/* A closed descriptor: -1, errno from read(). */
	buf_init(&b, 16);
	errno = 0;
	assert_int_equal(buf_read_capped(&b, fds[0], 16, NULL), -1);
	assert_int_equal(errno, EBADF);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_init_starts_empty_and_not_failed),
		cmocka_unit_test(buf_add_keeps_embedded_nul_bytes),
		cmocka_unit_test(buf_grows_across_many_appends),
		cmocka_unit_test(
		    buf_appends_within_max_succeed_and_past_it_fail),
		cmocka_unit_test(buf_free_accepts_null_and_twice),
		cmocka_unit_test(buf_printf_formats_and_appends),
		cmocka_unit_test(buf_printf_grows_beyond_initial_capacity),
		cmocka_unit_test(buf_writers_escape_as_their_format_requires),
		cmocka_unit_test(
		    buf_json_str_every_ascii_byte_round_trips_through_jansson),
		cmocka_unit_test(
		    buf_take_hands_over_ownership_and_empties_buffer),
		cmocka_unit_test(buf_take_of_empty_buffer_gives_empty_string),
		cmocka_unit_test(
		    buf_json_field_and_html_in_write_what_they_promise),
		cmocka_unit_test(
		    buf_read_capped_keeps_the_first_cap_bytes_and_drains_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
