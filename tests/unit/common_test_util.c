/*
 * Unit tests of common/util.c: UUIDs, RFC 3339 times, configuration from
 * the environment, atomic file writes and reads, printable strings.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
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
#include <sodium.h>

#include "testlib.h"
#include "util.h"

#define GOOD_UUID "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"

/* ---- uuid ------------------------------------------------------------ */

static const char *const uuid_good[] = {
	GOOD_UUID,
	"00000000-0000-4000-8000-000000000000",
	"ffffffff-ffff-4fff-bfff-ffffffffffff",
};
static const char *const uuid_bad[] = {
	/* Uppercase. */
	"0B5E3C1A-7D2F-4C3E-9A1B-2C3D4E5F6A7B",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7B",
	"0b5e3c1a-7d2f-4c3e-Aa1b-2c3d4e5f6a7b",
	/* The wrong length. */
	"",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7bc",
	GOOD_UUID "\n",
	"0b5e3c1a7d2f4c3e9a1b2c3d4e5f6a7b",
	"{0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b}",
	NULL,
	/* Misplaced hyphens. */
	"0b5e3c1a7-d2f-4c3e-9a1b-2c3d4e5f6a7b",
	"0b5e3c1a-7d2f4-c3e-9a1b-2c3d4e5f6a7b",
	"0b5e3c1a-7d2f-4c3e9-a1b-2c3d4e5f6a7b",
	"0b5e3c1a-7d2f-4c3e-9a1b2-c3d4e5f6a7b",
	"0b5e3c1a_7d2f_4c3e_9a1b_2c3d4e5f6a7b",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a-b",
	/* Not hex. */
	"0b5e3c1g-7d2f-4c3e-9a1b-2c3d4e5f6a7b",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7z",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7 ",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a\xc3\xa9",
	"0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a/b",
};

static void
uuid_valid_takes_lowercase_hex_in_the_8_4_4_4_12_form(void **state)
{
	(void)state;
	TL_EXPECT_SPLIT(uuid_valid, uuid_good, uuid_bad);
}

/* GOOD_UUID with the digit at pos (version 14, variant 19) each of digits. */
static const struct uuid_digits {
	const char *name;
	size_t	    pos;
	const char *digits;
	int	    want;
} uuid_digits[] = {
	{ "versions 1 to 5", 14, "12345", 1 },
	{ "variants 8 to b", 19, "89ab", 1 },
	{ "versions 0 and 6 to f", 14, "06789abcdef", 0 },
	{ "variants other than RFC 4122's", 19, "01234567cdef", 0 },
};

static void
uuid_valid_takes_versions_1_to_5_and_variants_8_to_b_only(void **state)
{
	const struct uuid_digits *c;

	(void)state;
	TL_FOREACH(c, uuid_digits)
	{
		char s[] = GOOD_UUID;

		for (const char *p = c->digits; *p != '\0'; p++) {
			s[c->pos] = *p;
			if (!uuid_valid(s) != !c->want)
				fail_msg("%s: %s %s", c->name, s,
				    c->want ? "rejected" : "accepted");
		}
	}
}

static void
uuid_generate_produces_valid_distinct_v4_ids(void **state)
{
	enum { N = 1000 };
	typedef char uuid_buf[UUID_STRLEN + 1];
	uuid_buf    *ids;

	(void)state;
	ids = calloc(N, sizeof(*ids));
	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		uuid_generate(ids[i]);
		assert_int_equal(strlen(ids[i]), UUID_STRLEN);
		assert_true(uuid_valid(ids[i]));
		assert_int_equal(ids[i][14], '4');
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			assert_string_not_equal(ids[i], ids[j]);
	free(ids);
}

/* ---- time -------------------------------------------------------------- */

static void
time_rfc3339_formats_utc_with_z(void **state)
{
	/* The last is a leap day. */
	static const struct {
		time_t	    t;
		const char *want;
	} cases[] = { { 0, "1970-01-01T00:00:00Z" },
		{ 1795773600, "2026-11-27T10:00:00Z" },
		{ 951782400, "2000-02-29T00:00:00Z" } };
	char out[32];

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(cases); i++) {
		time_rfc3339(cases[i].t, out);
		assert_string_equal(out, cases[i].want);
		assert_int_equal(strlen(out), 20);
	}
}

static void
time_rfc3339_and_parse_round_trip(void **state)
{
	static const time_t ts[] = {
		0,
		1,
		59,
		86399,
		86400,
		951782400,
		1000000000,
		1700000000,
		1795773600,
		2147483647,
		2147483648LL,
		4102444800LL,
		253402300799LL,
	};
	char   out[32];
	time_t back;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(ts); i++) {
		time_rfc3339(ts[i], out);
		back = -1;
		assert_int_equal(time_parse_rfc3339(out, &back), 0);
		assert_int_equal(back, ts[i]);
	}
}

static const struct time_case {
	const char *text;
	time_t	    want;
} good_times[] = {
	/* Offsets, one crossing midnight and the year. */
	{ "2026-11-27T12:00:00+02:00", 1795773600 },
	{ "2026-11-27T04:30:00-05:30", 1795773600 },
	{ "2026-11-27T10:00:00+00:00", 1795773600 },
	{ "2026-11-27T10:00:00-00:00", 1795773600 },
	{ "2027-01-01T01:00:00+02:00", 1798761600 - 3600 },
	/* Fractions and lowercase. */
	{ "2026-11-27T10:00:00.5Z", 1795773600 },
	{ "2026-11-27T10:00:00.999999999Z", 1795773600 },
	{ "2026-11-27T12:00:00.123+02:00", 1795773600 },
	{ "2026-11-27t10:00:00z", 1795773600 },
	/* Leap days in leap years. */
	{ "2024-02-29T00:00:00Z", 1709164800 },
	{ "2000-02-29T00:00:00Z", 951782400 },
};

static void
time_parse_rfc3339_applies_offsets_fractions_and_leap_days(void **state)
{
	(void)state;
	for (size_t i = 0; i < TL_NITEMS(good_times); i++) {
		time_t t = 0;

		if (time_parse_rfc3339(good_times[i].text, &t) != 0)
			fail_msg("refused %s", good_times[i].text);
		if (t != good_times[i].want)
			fail_msg("%s: %lld, want %lld", good_times[i].text,
			    (long long)t, (long long)good_times[i].want);
	}
}

static const char *const bad_times[] = {
	"2026-02-30T00:00:00Z", /* Feb 30 */
	"2026-02-31T00:00:00Z",
	"2026-04-31T00:00:00Z", /* April has 30 days */
	"2026-13-01T00:00:00Z", /* month 13 */
	"2026-00-10T00:00:00Z", /* month 0 */
	"2026-01-00T00:00:00Z", /* day 0 */
	"2026-01-32T00:00:00Z",
	"2026-01-01T24:00:00Z",
	"2026-01-01T23:60:00Z",
	"2026-01-01T23:59:61Z",
	"1969-12-31T23:59:59Z", /* before the epoch */
	/* Feb 29 only exists in leap years: 2023 and 2100 are not. */
	"2023-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z",
	/* Garbage and trailing junk. */
	"",
	"garbage",
	"yesterday at noon, roughly",
	"2026-11-27",
	"2026-11-27T10:00:00",	/* no zone */
	"2026-11-27 10:00:00Z", /* space for T */
	"2026-11-27T10:00:00Zjunk",
	"2026-11-27T10:00:00Z ",
	"2026-11-27T10:00:00+02:00x",
	"2026-11-27T10:00:00+0200",
	"2026-11-27T10:00:00+2:00",
	"2026-11-27T10:00:00+24:00",
	"2026-11-27T10:00:00+02:60",
	"2026-11-27T10:00:00.Z", /* empty fraction */
	"2026-11-27T10:00:00,5Z",
	"2026-11-27T10:0:00Z",
	"2026/11/27T10:00:00Z",
	"+2026-11-27T10:00:00Z",
	"2026-11-27T10:00:00.0000000000000000000000000000Z",
	"１２３４-11-27T10:00:00Z",
};

static void
time_parse_rfc3339_rejects_invalid_dates_and_garbage(void **state)
{
	time_t t = 42;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(bad_times); i++) {
		if (time_parse_rfc3339(bad_times[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad_times[i]);
	}
	assert_int_equal(time_parse_rfc3339(NULL, &t), -1);
	/* The output is left alone on every refusal. */
	assert_int_equal(t, 42);
}

static void
mono_ms_never_goes_backwards(void **state)
{
	int64_t a, b;

	(void)state;
	a = mono_ms();
	b = mono_ms();
	assert_true(b >= a);
	assert_true(wall_ms() > (int64_t)1600000000 * 1000);
}

/* ---- environment -------------------------------------------------------- */

#define VAR "VM_UNIT_TEST_VALUE"

static int
env_setup(void **state)
{
	(void)state;
	unsetenv(VAR);
	return 0;
}

/*
 * Whole numbers within min and max are taken; on error env_long leaves the
 * output alone and writes "one line" (util.h) into err, naming the
 * variable: the bad value is echoed back, so a newline inside it must not
 * break the line.
 */
static const struct env_long_case {
	const char *name;
	const char *value; /* NULL: unset */
	long	    dflt, min, max;
	int	    rc;
	long	    want;
} env_long_cases[] = {
	{ "unset", NULL, 77, 1, 100, 0, 77 },
	{ "empty", "", 77, 1, 100, 0, 77 },
	{ "a value", "42", 1, 1, 100, 0, 42 },
	{ "the lower bound", "1", 5, 1, 100, 0, 1 },
	{ "the upper bound", "100", 5, 1, 100, 0, 100 },
	{ "a negative value", "-5", 0, -10, 10, 0, -5 },
/* Refused with 5 the default and 1 to 100 the range. */
#define BAD(name, value)                         \
	{                                        \
		name, value, 5, 1, 100, -1, 1234 \
	}
	BAD("below the range", "0"),
	BAD("above the range", "101"),
	BAD("negative", "-1"),
	BAD("overflowing", "99999999999999999999999"),
	BAD("overflowing below", "-99999999999999999999999"),
	BAD("letters", "abc"),
	BAD("a word", "ten"),
	BAD("a lone sign", "-"),
	BAD("hexadecimal", "0x10"),
	BAD("an exponent", "1e2"),
	BAD("trailing junk", "12x"),
	BAD("a trailing blank", "12 "),
	BAD("a fraction", "12.5"),
	BAD("a trailing newline", "12\n"),
	BAD("a forged log line", "1\nlevel=info event=forged"),
#undef BAD
};

static void
env_long_gives_the_value_the_default_or_a_one_line_error(void **state)
{
	const struct env_long_case *c;

	(void)state;
	TL_FOREACH(c, env_long_cases)
	{
		long v = 1234;
		char err[256] = "";

		if (c->value != NULL)
			setenv(VAR, c->value, 1);
		if (env_long(VAR, c->dflt, c->min, c->max, &v, err,
			sizeof(err)) != c->rc)
			fail_msg("%s: not %d: %s", c->name, c->rc, err);
		if (c->rc == -1 &&
		    (strstr(err, VAR) == NULL || strchr(err, '\n') != NULL))
			fail_msg("%s: error \"%s\"", c->name, err);
		if (v != c->want)
			fail_msg("%s: %ld, want %ld", c->name, v, c->want);
		unsetenv(VAR);
	}
}

/* Up to 10 bytes; the output stays as it was on an error. */
static const struct env_str_case {
	const char *name;
	const char *value; /* NULL: unset */
	const char *dflt;
	int	    rc;
	const char *want; /* NULL: NULL */
} env_str_cases[] = {
	{ "unset", NULL, "dflt", 0, "dflt" },
	{ "unset without a default", NULL, NULL, 0, NULL },
	{ "empty", "", "dflt", 0, "dflt" },
	{ "ten bytes", "0123456789", "dflt", 0, "0123456789" },
	{ "eleven bytes", "01234567890", "dflt", -1, "untouched" },
};

static void
env_str_gives_the_value_the_default_or_an_error(void **state)
{
	const struct env_str_case *c;

	(void)state;
	TL_FOREACH(c, env_str_cases)
	{
		const char *v = "untouched";
		char	    err[256] = "";

		if (c->value != NULL)
			setenv(VAR, c->value, 1);
		if (env_str(VAR, c->dflt, 10, &v, err, sizeof(err)) != c->rc)
			fail_msg("%s: not %d: %s", c->name, c->rc, err);
		if (c->rc == -1 && strstr(err, VAR) == NULL)
			fail_msg("%s: error \"%s\"", c->name, err);
		if (c->want == NULL ? v != NULL :
				      v == NULL || strcmp(v, c->want) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", c->name,
			    v ? v : "(null)", c->want ? c->want : "(null)");
		unsetenv(VAR);
	}
}

static void
env_error_fits_in_a_small_buffer(void **state)
{
	long v;
	char err[8];

	(void)state;
	memset(err, 'z', sizeof(err));
	setenv(VAR, "nope", 1);
	assert_int_equal(env_long(VAR, 5, 1, 100, &v, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	unsetenv(VAR);
}

/* ---- files -------------------------------------------------------------- */

static int
count_entries(const char *dir)
{
	DIR	      *d = opendir(dir);
	struct dirent *e;
	int	       n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* t's file holds exactly want (len bytes) with mode, and no file beside. */
static void
expect_file(const struct tl_dir *t, const void *want, size_t len, unsigned mode)
{
	struct stat st;
	char	   *data;
	size_t	    got = 99;

	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
	data = file_read(t->path, 1024, &got);
	assert_non_null(data);
	assert_int_equal(got, len);
	assert_memory_equal(data, want, len);
	assert_int_equal(data[len], '\0');
	free(data);
	/* No temporary file is left behind. */
	assert_int_equal(count_entries(t->dir), 1);
}

static void
expect_read_fails(const char *path, size_t max, int want)
{
	size_t len = 0;

	errno = 0;
	assert_null(file_read(path, max, &len));
	assert_int_equal(errno, want);
}

static void
file_write_atomic_writes_content_with_mode_0600(void **state)
{
	struct tl_dir *t = *state;

	assert_int_equal(file_write_atomic(t->path, "secret\n", 7, 0600), 0);
	expect_file(t, "secret\n", 7, 0600);
}

static void
file_write_atomic_applies_mode_regardless_of_umask(void **state)
{
	struct tl_dir *t = *state;
	mode_t	       old = umask(0077);

	assert_int_equal(file_write_atomic(t->path, "x", 1, 0644), 0);
	umask(old);
	expect_file(t, "x", 1, 0644);
}

static void
file_write_atomic_replaces_existing_file_and_its_mode(void **state)
{
	struct tl_dir *t = *state;

	assert_int_equal(file_write_atomic(t->path, "old content", 11, 0644),
	    0);
	assert_int_equal(file_write_atomic(t->path, "new", 3, 0600), 0);
	expect_file(t, "new", 3, 0600);
}

static void
file_write_atomic_binary_and_empty_content(void **state)
{
	struct tl_dir *t = *state;
	unsigned char  bin[300];

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i;
	assert_int_equal(file_write_atomic(t->path, bin, sizeof(bin), 0600), 0);
	expect_file(t, bin, sizeof(bin), 0600);
	assert_int_equal(file_write_atomic(t->path, "", 0, 0600), 0);
	expect_file(t, "", 0, 0600);
}

static void
file_write_atomic_into_missing_directory_fails_with_errno(void **state)
{
	struct tl_dir *t = *state;
	char	       p[400];

	snprintf(p, sizeof(p), "%s/no/such/dir/file", t->dir);
	errno = 0;
	assert_int_equal(file_write_atomic(p, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
}

static void
file_read_exactly_max_succeeds_one_more_is_efbig(void **state)
{
	struct tl_dir *t = *state;
	char	      *data;
	size_t	       len = 0;

	assert_int_equal(file_write_atomic(t->path, "0123456789", 10, 0600), 0);
	data = file_read(t->path, 10, &len);
	assert_non_null(data);
	assert_int_equal(len, 10);
	free(data);
	expect_read_fails(t->path, 9, EFBIG);
	expect_read_fails(t->path, 0, EFBIG);
}

static void
file_read_missing_file_is_enoent(void **state)
{
	struct tl_dir *t = *state;

	expect_read_fails(t->path, 100, ENOENT);
}

static void
file_read_len_may_be_null(void **state)
{
	struct tl_dir *t = *state;
	char	      *data;

	assert_int_equal(file_write_atomic(t->path, "abc", 3, 0600), 0);
	data = file_read(t->path, 100, NULL);
	assert_non_null(data);
	assert_string_equal(data, "abc");
	free(data);
}

/* A file larger than the first read, and /proc's size-0 files: read whole. */
static void
file_read_fd_grows_past_the_first_read_and_reads_proc(void **state)
{
	struct tl_dir *t = *state;
	char	      *big, *data;
	size_t	       len = 0;
	int	       fd;

	assert_non_null(big = malloc(100001));
	for (size_t i = 0; i < 100000; i++)
		big[i] = (char)('a' + i % 26);
	big[100000] = '\0';
	assert_int_equal(file_write_atomic(t->path, big, 100000, 0600), 0);
	assert_true((fd = open(t->path, O_RDONLY)) >= 0);
	data = file_read_fd(fd, 100000, &len);
	close(fd);
	assert_non_null(data);
	assert_int_equal(len, 100000);
	assert_string_equal(data, big);
	free(data);
	/* One byte under the size: EFBIG, nothing handed out. */
	assert_true((fd = open(t->path, O_RDONLY)) >= 0);
	errno = 0;
	assert_null(file_read_fd(fd, 99999, &len));
	assert_int_equal(errno, EFBIG);
	close(fd);
	free(big);
	/* stat says 0 bytes; the text is there all the same. */
	data = file_read("/proc/self/status", 1 << 20, &len);
	assert_non_null(data);
	assert_true(len > 0);
	assert_non_null(strstr(data, "Pid:"));
	free(data);
}

/* ---- strings ------------------------------------------------------------- */

/* util.h: "printable UTF-8": malformed UTF-8 is not printable UTF-8. */
static const struct printable_case {
	const char *name;
	const char *s;
	size_t	    max;
	int	    want;
} printable_cases[] = {
	{ "empty", "", 10, 1 },
	{ "a host name", "web-1.example.org", 255, 1 },
	{ "spaces and markup", "with space & <tags>", 255, 1 },
	{ "UTF-8", "h\xc3\xb4te \xe2\x9c\x93", 255, 1 },
	{ "a newline", "a\nb", 255, 0 },
	{ "a carriage return", "a\rb", 255, 0 },
	{ "a tab", "\t", 255, 0 },
	{ "an escape sequence", "\x1b[31mred", 255, 0 },
	{ "DEL", "del\x7f", 255, 0 },
	{ "SOH", "\x01", 255, 0 },
	{ "exactly max bytes", "abcde", 5, 1 },
	{ "one byte over max", "abcdef", 5, 0 },
	{ "a byte at max 0", "a", 0, 0 },
	{ "empty at max 0", "", 0, 1 },
	/* max counts bytes, not characters */
	{ "three characters in six bytes", "\xc3\xa9\xc3\xa9\xc3\xa9", 5, 0 },
	{ "a bad lead byte", "\xff", 255, 0 },
	{ "a truncated sequence", "abc\xc3", 255, 0 },
	{ "an overlong \"/\"", "\xc0\xaf", 255, 0 },
	{ "a surrogate", "\xed\xa0\x80", 255, 0 },
};

static void
str_printable_takes_text_and_utf8_up_to_max_bytes(void **state)
{
	const struct printable_case *c;

	(void)state;
	TL_FOREACH(c, printable_cases)
	{
		if (!str_printable(c->s, c->max) != !c->want)
			fail_msg("%s: %s", c->name,
			    c->want ? "refused" : "accepted");
	}
}

/* Names (profiles, rule ids) and base64url keys: exactly what they allow. */
static void
str_name_and_base64url_take_their_alphabet_and_length_only(void **state)
{
	static const char *const names_ok[] = { "a", "debian-12",
		"Ubuntu_22.04", "0123456789012345" };
	static const char *const names_bad[] = { "", "a b", "a/b", "é", "x\n",
		"01234567890123456", "a;b" };
	char			 key[44];

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(names_ok); i++)
		if (!str_name_valid(names_ok[i], 16))
			fail_msg("name \"%s\" refused", names_ok[i]);
	for (size_t i = 0; i < TL_NITEMS(names_bad); i++)
		if (str_name_valid(names_bad[i], 16))
			fail_msg("name \"%s\" taken", names_bad[i]);
	memset(key, 'A', 43);
	key[43] = '\0';
	assert_true(str_base64url(key, 43));
	key[5] = '-';
	key[6] = '_';
	assert_true(str_base64url(key, 43));
	assert_false(str_base64url(key, 42)); /* one more than asked */
	key[42] = '\0';
	assert_false(str_base64url(key, 43)); /* one short */
	key[42] = '=';
	assert_false(str_base64url(key, 43)); /* padding */
	key[42] = '+';
	assert_false(str_base64url(key, 43)); /* standard alphabet */
}

static void
str_rtrim_strips_trailing_whitespace_only(void **state)
{
	char a[] = "value \t\r\n";
	char b[] = "  keep";
	char c[] = " \n";

	(void)state;
	assert_string_equal(str_rtrim(a), "value");
	assert_string_equal(str_rtrim(b), "  keep");
	assert_string_equal(str_rtrim(c), "");
}

#define ENV(fn) cmocka_unit_test_setup(fn, env_setup)
#define TMP(fn) \
	cmocka_unit_test_setup_teardown(fn, tl_dir_setup, tl_dir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    uuid_valid_takes_lowercase_hex_in_the_8_4_4_4_12_form),
		cmocka_unit_test(
		    uuid_valid_takes_versions_1_to_5_and_variants_8_to_b_only),
		cmocka_unit_test(uuid_generate_produces_valid_distinct_v4_ids),
		cmocka_unit_test(time_rfc3339_formats_utc_with_z),
		cmocka_unit_test(time_rfc3339_and_parse_round_trip),
		cmocka_unit_test(
		    time_parse_rfc3339_applies_offsets_fractions_and_leap_days),
		cmocka_unit_test(
		    time_parse_rfc3339_rejects_invalid_dates_and_garbage),
		cmocka_unit_test(mono_ms_never_goes_backwards),
		ENV(env_long_gives_the_value_the_default_or_a_one_line_error),
		ENV(env_str_gives_the_value_the_default_or_an_error),
		ENV(env_error_fits_in_a_small_buffer),
		TMP(file_write_atomic_writes_content_with_mode_0600),
		TMP(file_write_atomic_applies_mode_regardless_of_umask),
		TMP(file_write_atomic_replaces_existing_file_and_its_mode),
		TMP(file_write_atomic_binary_and_empty_content),
		TMP(file_write_atomic_into_missing_directory_fails_with_errno),
		TMP(file_read_exactly_max_succeeds_one_more_is_efbig),
		TMP(file_read_missing_file_is_enoent),
		TMP(file_read_len_may_be_null),
		cmocka_unit_test(
		    str_printable_takes_text_and_utf8_up_to_max_bytes),
		TMP(file_read_fd_grows_past_the_first_read_and_reads_proc),
		cmocka_unit_test(
		    str_name_and_base64url_take_their_alphabet_and_length_only),
		cmocka_unit_test(str_rtrim_strips_trailing_whitespace_only),
	};

	return cmocka_run_group_tests(tests, tl_sodium_setup, NULL);
}
