/*
 * Unit tests of common/log.c: whatever a value holds, one log call writes
 * exactly one line, with control bytes escaped (a value cannot forge a
 * line of its own). The lines are captured through log_set_fd() and a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#define LINE_MAX_BYTES 2048 /* log.c's line, newline included */

struct capture {
	int    fd[2];
	char   got[64 * 1024];
	size_t len;
};

static int
pipe_setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (c == NULL || pipe(c->fd) == -1)
		return -1;
	/* Read what is there and stop: a missing line must not hang. */
	if (fcntl(c->fd[0], F_SETFL, O_NONBLOCK) == -1)
		return -1;
	log_set_fd(c->fd[1]);
	*state = c;
	return 0;
}

static int
pipe_teardown(void **state)
{
	struct capture *c = *state;

	log_set_fd(2);
	close(c->fd[0]);
	close(c->fd[1]);
	free(c);
	return 0;
}

/* Everything written to the pipe so far, NUL-terminated. */
static const char *
captured(struct capture *c)
{
	ssize_t n;

	while ((n = read(c->fd[0], c->got + c->len,
		    sizeof(c->got) - 1 - c->len)) > 0)
		c->len += (size_t)n;
	assert_true(n == 0 || errno == EAGAIN);
	c->got[c->len] = '\0';
	return c->got;
}

static size_t
newlines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Exactly one line: one newline, at the end, and no other control byte. */
static void
assert_one_line(const char *s)
{
	size_t len = strlen(s);

	assert_true(len > 0 && len <= LINE_MAX_BYTES);
	assert_int_equal(newlines(s), 1);
	assert_int_equal(s[len - 1], '\n');
	for (size_t i = 0; i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		assert_true(c >= 0x20 && c != 0x7f);
	}
}

/* What was logged, checked to be exactly one line. */
static const char *
one_line(struct capture *c)
{
	const char *s = captured(c);

	assert_one_line(s);
	return s;
}

/* Expects one line logged, holding want. */
static void
expect_line(struct capture *c, const char *want)
{
	const char *s = one_line(c);

	if (strstr(s, want) == NULL)
		fail_msg("\"%s\" not in %s", want, s);
}

static void
newline_in_a_value_stays_in_one_line_escaped(void **state)
{
	struct capture *c = *state;
	const char     *s;

	log_info("http", "method=POST path=%s status=400",
	    "/nodes/x\nts=2026-01-01T00:00:00Z level=error event=store_corrupt");
	s = one_line(c);
	assert_non_null(strstr(s,
	    " level=info event=http method=POST "
	    "path=/nodes/x\\nts=2026-01-01T00:00:00Z level=error "
	    "event=store_corrupt status=400\n"));
	assert_int_equal(strncmp(s, "ts=", 3), 0);
	assert_null(strstr(s, "\nts=2026-01-01"));
}

static void
every_control_byte_and_del_is_escaped(void **state)
{
	struct capture *c = *state;
	char		v[64];
	size_t		n = 0;

	for (int b = 1; b < 0x20; b++)
		v[n++] = (char)b;
	v[n++] = 0x7f;
	v[n] = '\0';
	log_warn("ctl", "v=[%s]", v);
	expect_line(c,
	    "v=[\\x01\\x02\\x03\\x04\\x05\\x06\\x07"
	    "\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15"
	    "\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f\\x7f]\n");
}

static void
carriage_return_cannot_overwrite_the_line_head(void **state)
{
	struct capture *c = *state;

	log_err("x", "k=%s", "a\rts=2026-01-01T00:00:00Z level=info");
	expect_line(c, "k=a\\rts=2026-01-01T00:00:00Z");
}

static void
event_name_is_escaped_too(void **state)
{
	struct capture *c = *state;

	log_info("a\nlevel=error", "k=v");
	expect_line(c, "event=a\\nlevel=error k=v\n");
}

static void
printable_text_and_utf8_pass_unchanged(void **state)
{
	struct capture *c = *state;

	log_info("t", "msg=\"h\xc3\xa9llo \xe2\x9c\x93\" a=b c=\\d");
	expect_line(c,
	    " level=info event=t msg=\"h\xc3\xa9llo "
	    "\xe2\x9c\x93\" a=b c=\\d\n");
}

/* Each call is its own line, in order: two calls, two lines. */
static void
two_calls_write_two_lines(void **state)
{
	struct capture *c = *state;
	const char     *s;

	log_info("one", "v=%s", "x\ny");
	log_info("two", "v=%s", "z");
	s = captured(c);
	assert_int_equal(newlines(s), 2);
	assert_non_null(strstr(s, "event=one v=x\\ny\nts="));
	assert_non_null(strstr(s, "event=two v=z\n"));
}

/*
 * A line of escapes longer than the limit is cut before an escape, never
 * inside one, and still ends with its one newline.
 */
static void
long_line_is_cut_between_escapes(void **state)
{
	static const char *const esc[2] = { "\\n", "\\x01" };
	struct capture		*c = *state;
	char			*v = malloc(3000);

	assert_non_null(v);
	for (int k = 0; k < 2; k++) {
		const char *s, *p;
		size_t	    len, step = strlen(esc[k]);

		memset(v, k == 0 ? '\n' : '\x01', 2999);
		v[2999] = '\0';
		c->len = 0;
		log_info("long", "v=%s", v);
		s = captured(c);
		assert_one_line(s);
		len = strlen(s);
		p = strstr(s, "v=");
		assert_non_null(p);
		p += 2;
		/* Whole escapes up to the newline, and the line is about full. */
		assert_int_equal((size_t)(s + len - 1 - p) % step, 0);
		for (; p < s + len - 1; p += step)
			assert_memory_equal(p, esc[k], step);
		assert_true(len > LINE_MAX_BYTES - step - 1);
	}
	free(v);
}

static void
below_the_level_nothing_is_written(void **state)
{
	struct capture *c = *state;

	log_debug("quiet", "v=%s", "a\nb");
	assert_string_equal(captured(c), "");
}

static void
log_quote_still_quotes_and_replaces_control_bytes(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(log_quote(out, sizeof(out), "a b\nc"), "\"a b?c\"");
	assert_string_equal(log_quote(out, sizeof(out), "plain"), "plain");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    newline_in_a_value_stays_in_one_line_escaped, pipe_setup,
		    pipe_teardown),
		cmocka_unit_test_setup_teardown(
		    every_control_byte_and_del_is_escaped, pipe_setup,
		    pipe_teardown),
		cmocka_unit_test_setup_teardown(
		    carriage_return_cannot_overwrite_the_line_head, pipe_setup,
		    pipe_teardown),
		cmocka_unit_test_setup_teardown(event_name_is_escaped_too,
		    pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(
		    printable_text_and_utf8_pass_unchanged, pipe_setup,
		    pipe_teardown),
		cmocka_unit_test_setup_teardown(two_calls_write_two_lines,
		    pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(
		    long_line_is_cut_between_escapes, pipe_setup,
		    pipe_teardown),
		cmocka_unit_test_setup_teardown(
		    below_the_level_nothing_is_written, pipe_setup,
		    pipe_teardown),
		cmocka_unit_test(
		    log_quote_still_quotes_and_replaces_control_bytes),
	};

	/* Plain "ts=" lines: the journal's "<N>" head is not under test. */
	unsetenv("JOURNAL_STREAM");
	log_set_level("info");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
