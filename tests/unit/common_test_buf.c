/*
 * Unit tests of common/buf.c: the capped growable buffer and its escaping
 * writers (HTML, JSON string, URL query value).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"

/* Renders s through fn into a fresh buffer and compares with want. */
static void
expect_render(int (*fn)(struct buf *, const char *), const char *s,
    const char *want)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(fn(&b, s), 0);
	assert_false(buf_failed(&b));
	/* Appending nothing may leave the storage unallocated. */
	assert_true(b.p != NULL || *want == '\0');
	assert_string_equal(b.p != NULL ? b.p : "", want);
	assert_int_equal(b.len, strlen(want));
	buf_free(&b);
}

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
buf_add_appends_bytes_and_keeps_nul_terminator(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_add(&b, "abc", 3), 0);
	assert_int_equal(buf_puts(&b, "def"), 0);
	assert_int_equal(buf_putc(&b, 'g'), 0);
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.p, "abcdefg");
	assert_true(b.cap > b.len);
	assert_int_equal(b.p[b.len], '\0');
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
	struct buf	 b;
	size_t		 i;

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

static void
buf_append_up_to_exactly_max_succeeds(void **state)
{
	struct buf	 b;
	char		 data[10];

	(void)state;
	memset(data, 'x', sizeof(data));
	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, data, 6), 0);
	assert_int_equal(buf_add(&b, data, 4), 0);
	assert_int_equal(b.len, 10);
	assert_false(buf_failed(&b));
	assert_memory_equal(b.p, "xxxxxxxxxx", 11);
	buf_free(&b);
}

static void
buf_append_past_max_fails_frees_and_stays_failed(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "0123456789"), 0);
	assert_int_equal(buf_putc(&b, 'x'), -1);
	assert_true(buf_failed(&b));
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* Every later append fails at once, even an empty one. */
	assert_int_equal(buf_puts(&b, ""), -1);
	assert_int_equal(buf_add(&b, "a", 1), -1);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_int_equal(buf_html(&b, "<"), -1);
	assert_int_equal(buf_json_str(&b, "x"), -1);
	assert_int_equal(buf_urlenc(&b, "x"), -1);
	assert_true(buf_failed(&b));
	assert_null(b.p);
	assert_null(buf_take(&b, NULL));
	buf_free(&b);
}

static void
buf_single_append_larger_than_max_fails(void **state)
{
	struct buf	 b;
	char		 big[100];

	(void)state;
	memset(big, 'y', sizeof(big));
	buf_init(&b, 99);
	assert_int_equal(buf_add(&b, big, sizeof(big)), -1);
	assert_true(buf_failed(&b));
	assert_null(b.p);
	buf_free(&b);
}

static void
buf_huge_length_does_not_overflow_the_cap_check(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	/* len + n would wrap around: must fail, not write. */
	assert_int_equal(buf_add(&b, "x", SIZE_MAX - 1), -1);
	assert_true(buf_failed(&b));
	buf_free(&b);
}

static void
buf_max_zero_rejects_every_byte(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_string_equal(b.p, "");
	assert_int_equal(buf_putc(&b, 'a'), -1);
	assert_true(buf_failed(&b));
	buf_free(&b);
}

static void
buf_reset_clears_content_and_failure(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	assert_int_equal(buf_puts(&b, "0123456789"), -1);
	assert_true(buf_failed(&b));
	buf_reset(&b);
	assert_false(buf_failed(&b));
	assert_int_equal(buf_puts(&b, "ok"), 0);
	assert_string_equal(b.p, "ok");
	buf_free(&b);
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
	assert_int_equal(buf_printf(&b, "%d %s %05.1f %zu", -42, "str", 3.14159,
	    (size_t)7), 0);
	assert_string_equal(b.p, "n=-42 str 003.1 7");
	assert_int_equal(b.len, strlen("n=-42 str 003.1 7"));
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, strlen("n=-42 str 003.1 7"));
	buf_free(&b);
}

static void
buf_printf_grows_beyond_initial_capacity(void **state)
{
	struct buf	 b;
	char		 big[5000];

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

static void
buf_printf_past_max_fails_and_frees(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_printf(&b, "%s", "12345"), 0);
	assert_int_equal(buf_printf(&b, "%s", "678901"), -1);
	assert_true(buf_failed(&b));
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
buf_printf_exactly_to_max_succeeds(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_printf(&b, "%010d", 7), 0);
	assert_string_equal(b.p, "0000000007");
	assert_false(buf_failed(&b));
	buf_free(&b);
}

static void
buf_html_escapes_the_five_special_characters(void **state)
{
	(void)state;
	expect_render(buf_html, "&", "&amp;");
	expect_render(buf_html, "<", "&lt;");
	expect_render(buf_html, ">", "&gt;");
	expect_render(buf_html, "\"", "&quot;");
	expect_render(buf_html, "'", "&#39;");
	expect_render(buf_html, "<script>alert('x&y')</script>",
	    "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;");
	expect_render(buf_html, "a\"b\"c", "a&quot;b&quot;c");
	expect_render(buf_html, "&amp;", "&amp;amp;");
}

static void
buf_html_passes_plain_text_and_utf8_through(void **state)
{
	(void)state;
	expect_render(buf_html, "", "");
	expect_render(buf_html, "plain text 123", "plain text 123");
	expect_render(buf_html, "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 "
	    "\xf0\x9f\x94\x92", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 "
	    "\xf0\x9f\x94\x92");
	expect_render(buf_html, "\xc3\xa9<\xc3\xa9", "\xc3\xa9&lt;\xc3\xa9");
}

static void
buf_html_null_appends_nothing(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "x"), 0);
	assert_int_equal(buf_html(&b, NULL), 0);
	assert_string_equal(b.p, "x");
	buf_free(&b);
}

static void
buf_html_fails_when_escape_crosses_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 6);
	/* "a" + "&amp;" is 6 bytes; one more escape does not fit. */
	assert_int_equal(buf_html(&b, "a&"), 0);
	assert_string_equal(b.p, "a&amp;");
	assert_int_equal(buf_html(&b, "<"), -1);
	assert_true(buf_failed(&b));
	assert_null(b.p);
	buf_free(&b);
}

static void
buf_json_str_quotes_and_escapes(void **state)
{
	(void)state;
	expect_render(buf_json_str, "", "\"\"");
	expect_render(buf_json_str, "abc", "\"abc\"");
	expect_render(buf_json_str, "say \"hi\"", "\"say \\\"hi\\\"\"");
	expect_render(buf_json_str, "a\\b", "\"a\\\\b\"");
	expect_render(buf_json_str, "l1\nl2\r\tx", "\"l1\\nl2\\r\\tx\"");
	expect_render(buf_json_str, "</script>", "\"</script>\"");
}

static void
buf_json_str_escapes_control_chars_as_u00xx(void **state)
{
	(void)state;
	expect_render(buf_json_str, "\x01", "\"\\u0001\"");
	expect_render(buf_json_str, "\x08\x0c", "\"\\u0008\\u000c\"");
	expect_render(buf_json_str, "a\x1f" "b", "\"a\\u001fb\"");
	expect_render(buf_json_str, "\x1b[31m", "\"\\u001b[31m\"");
	expect_render(buf_json_str, "\x7f", "\"\\u007f\"");
}

static void
buf_json_str_passes_utf8_through(void **state)
{
	(void)state;
	expect_render(buf_json_str, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

static void
buf_json_str_null_is_json_null(void **state)
{
	(void)state;
	expect_render(buf_json_str, NULL, "null");
}

static void
buf_json_str_every_ascii_byte_round_trips_through_jansson(void **state)
{
	char		 s[128];
	struct buf	 b;
	json_t		*v;
	json_error_t	 jerr;

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
buf_json_str_fails_cleanly_past_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(buf_json_str(&b, "abc"), 0);	/* "abc" = 5 bytes */
	buf_reset(&b);
	assert_int_equal(buf_json_str(&b, "abcd"), -1);
	assert_true(buf_failed(&b));
	assert_null(b.p);
	buf_free(&b);
}

static void
buf_urlenc_keeps_unreserved_and_encodes_the_rest(void **state)
{
	(void)state;
	expect_render(buf_urlenc, "", "");
	expect_render(buf_urlenc, "AZaz09-_.~", "AZaz09-_.~");
	expect_render(buf_urlenc, "a b", "a%20b");
	expect_render(buf_urlenc, "&=?/#+%", "%26%3D%3F%2F%23%2B%25");
	expect_render(buf_urlenc, "<\"'>", "%3C%22%27%3E");
	expect_render(buf_urlenc, "\n\x01\x7f", "%0A%01%7F");
	expect_render(buf_urlenc, "\xc3\xa9", "%C3%A9");
	expect_render(buf_urlenc, "\xff", "%FF");
}

static void
buf_urlenc_fails_past_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_urlenc(&b, "a b"), -1);	/* 5 bytes */
	assert_true(buf_failed(&b));
	buf_free(&b);
	buf_init(&b, 5);
	assert_int_equal(buf_urlenc(&b, "ab"), 0);
	assert_int_equal(buf_urlenc(&b, " "), 0);
	assert_string_equal(b.p, "ab%20");
	assert_int_equal(buf_urlenc(&b, "x"), -1);
	assert_true(buf_failed(&b));
	buf_free(&b);
}

static void
buf_take_hands_over_ownership_and_empties_buffer(void **state)
{
	struct buf	 b;
	char		*p;
	size_t		 len = 0;

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
 * that never had an append must give "" (not uninitialised memory).
 */
static void
buf_take_of_empty_buffer_gives_empty_string(void **state)
{
	struct buf	 b;
	char		*p;
	size_t		 len = 7;

	(void)state;
	buf_init(&b, 100);
	p = buf_take(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	/* Checked bytewise: a string compare would overrun the buffer. */
	if (p[0] != '\0') {
		free(p);
		fail_msg("buf_take of an empty buffer is not NUL-terminated");
	}
	free(p);
	p = buf_take(&b, NULL);
	assert_non_null(p);
	free(p);
	buf_free(&b);
}

static void
buf_take_of_empty_buffer_with_max_zero_gives_empty_string(void **state)
{
	struct buf	 b;
	char		*p;
	size_t		 len = 7;

	(void)state;
	buf_init(&b, 0);
	p = buf_take(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	if (p[0] != '\0') {
		free(p);
		fail_msg("buf_take of an empty buffer is not NUL-terminated");
	}
	free(p);
	buf_free(&b);
}

static void
buf_take_of_failed_buffer_is_null(void **state)
{
	struct buf	 b;
	size_t		 len = 7;

	(void)state;
	buf_init(&b, 2);
	assert_int_equal(buf_puts(&b, "abc"), -1);
	assert_null(buf_take(&b, &len));
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_init_starts_empty_and_not_failed),
		cmocka_unit_test(buf_add_appends_bytes_and_keeps_nul_terminator),
		cmocka_unit_test(buf_add_keeps_embedded_nul_bytes),
		cmocka_unit_test(buf_grows_across_many_appends),
		cmocka_unit_test(buf_append_up_to_exactly_max_succeeds),
		cmocka_unit_test(buf_append_past_max_fails_frees_and_stays_failed),
		cmocka_unit_test(buf_single_append_larger_than_max_fails),
		cmocka_unit_test(buf_huge_length_does_not_overflow_the_cap_check),
		cmocka_unit_test(buf_max_zero_rejects_every_byte),
		cmocka_unit_test(buf_reset_clears_content_and_failure),
		cmocka_unit_test(buf_free_accepts_null_and_twice),
		cmocka_unit_test(buf_printf_formats_and_appends),
		cmocka_unit_test(buf_printf_grows_beyond_initial_capacity),
		cmocka_unit_test(buf_printf_past_max_fails_and_frees),
		cmocka_unit_test(buf_printf_exactly_to_max_succeeds),
		cmocka_unit_test(buf_html_escapes_the_five_special_characters),
		cmocka_unit_test(buf_html_passes_plain_text_and_utf8_through),
		cmocka_unit_test(buf_html_null_appends_nothing),
		cmocka_unit_test(buf_html_fails_when_escape_crosses_max),
		cmocka_unit_test(buf_json_str_quotes_and_escapes),
		cmocka_unit_test(buf_json_str_escapes_control_chars_as_u00xx),
		cmocka_unit_test(buf_json_str_passes_utf8_through),
		cmocka_unit_test(buf_json_str_null_is_json_null),
		cmocka_unit_test(buf_json_str_every_ascii_byte_round_trips_through_jansson),
		cmocka_unit_test(buf_json_str_fails_cleanly_past_max),
		cmocka_unit_test(buf_urlenc_keeps_unreserved_and_encodes_the_rest),
		cmocka_unit_test(buf_urlenc_fails_past_max),
		cmocka_unit_test(buf_take_hands_over_ownership_and_empties_buffer),
		cmocka_unit_test(buf_take_of_empty_buffer_gives_empty_string),
		cmocka_unit_test(buf_take_of_empty_buffer_with_max_zero_gives_empty_string),
		cmocka_unit_test(buf_take_of_failed_buffer_is_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
