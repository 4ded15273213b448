/*
 * Unit tests of common/util.c: UUIDs, RFC 3339 times, configuration from
 * the environment, atomic file writes and reads, printable strings.
 */
#include <sys/stat.h>

#include <dirent.h>
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

#include "util.h"

#define GOOD_UUID "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"

/* ---- uuid ------------------------------------------------------------ */

static void
uuid_valid_accepts_lowercase_v4(void **state)
{
	(void)state;
	assert_true(uuid_valid(GOOD_UUID));
	assert_true(uuid_valid("00000000-0000-4000-8000-000000000000"));
	assert_true(uuid_valid("ffffffff-ffff-4fff-bfff-ffffffffffff"));
}

static void
uuid_valid_accepts_versions_1_to_5_and_variants_8_to_b(void **state)
{
	char	 s[] = GOOD_UUID;
	char	 v;

	(void)state;
	for (v = '1'; v <= '5'; v++) {
		s[14] = v;
		assert_true(uuid_valid(s));
	}
	s[14] = '4';
	for (const char *p = "89ab"; *p != '\0'; p++) {
		s[19] = *p;
		assert_true(uuid_valid(s));
	}
}

static void
uuid_valid_rejects_uppercase(void **state)
{
	(void)state;
	assert_false(uuid_valid("0B5E3C1A-7D2F-4C3E-9A1B-2C3D4E5F6A7B"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7B"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-Aa1b-2c3d4e5f6a7b"));
}

static void
uuid_valid_rejects_wrong_length(void **state)
{
	(void)state;
	assert_false(uuid_valid(""));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7bc"));
	assert_false(uuid_valid(GOOD_UUID "\n"));
	assert_false(uuid_valid("0b5e3c1a7d2f4c3e9a1b2c3d4e5f6a7b"));
	assert_false(uuid_valid("{0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b}"));
	assert_false(uuid_valid(NULL));
}

static void
uuid_valid_rejects_misplaced_hyphens(void **state)
{
	(void)state;
	assert_false(uuid_valid("0b5e3c1a7-d2f-4c3e-9a1b-2c3d4e5f6a7b"));
	assert_false(uuid_valid("0b5e3c1a-7d2f4-c3e-9a1b-2c3d4e5f6a7b"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e9-a1b-2c3d4e5f6a7b"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b2-c3d4e5f6a7b"));
	assert_false(uuid_valid("0b5e3c1a_7d2f_4c3e_9a1b_2c3d4e5f6a7b"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a-b"));
}

static void
uuid_valid_rejects_non_hex(void **state)
{
	(void)state;
	assert_false(uuid_valid("0b5e3c1g-7d2f-4c3e-9a1b-2c3d4e5f6a7b"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7z"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7 "));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a\xc3\xa9"));
	assert_false(uuid_valid("0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a/b"));
}

static void
uuid_valid_rejects_version_0_and_6_to_f(void **state)
{
	char s[] = GOOD_UUID;

	(void)state;
	s[14] = '0';
	assert_false(uuid_valid(s));
	for (const char *p = "6789abcdef"; *p != '\0'; p++) {
		s[14] = *p;
		assert_false(uuid_valid(s));
	}
}

static void
uuid_valid_rejects_non_rfc4122_variant(void **state)
{
	char s[] = GOOD_UUID;

	(void)state;
	for (const char *p = "01234567cdef"; *p != '\0'; p++) {
		s[19] = *p;
		assert_false(uuid_valid(s));
	}
}

static void
uuid_generate_produces_valid_distinct_v4_ids(void **state)
{
	enum { N = 1000 };
	char	(*ids)[UUID_STRLEN + 1];

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
	char out[32];

	(void)state;
	time_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	time_rfc3339(1795773600, out);
	assert_string_equal(out, "2026-11-27T10:00:00Z");
	time_rfc3339(951782400, out);	/* leap day 2000 */
	assert_string_equal(out, "2000-02-29T00:00:00Z");
	assert_int_equal(strlen(out), 20);
}

static void
time_rfc3339_and_parse_round_trip(void **state)
{
	static const time_t ts[] = {
		0, 1, 59, 86399, 86400, 951782400, 1000000000, 1700000000,
		1795773600, 2147483647, 2147483648LL, 4102444800LL,
		253402300799LL,
	};
	char	 out[32];
	time_t	 back;

	(void)state;
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		time_rfc3339(ts[i], out);
		back = -1;
		assert_int_equal(time_parse_rfc3339(out, &back), 0);
		assert_int_equal(back, ts[i]);
	}
}

static void
time_parse_rfc3339_applies_offsets(void **state)
{
	time_t t = 0;

	(void)state;
	assert_int_equal(time_parse_rfc3339("2026-11-27T12:00:00+02:00", &t), 0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(time_parse_rfc3339("2026-11-27T04:30:00-05:30", &t), 0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(time_parse_rfc3339("2026-11-27T10:00:00+00:00", &t), 0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(time_parse_rfc3339("2026-11-27T10:00:00-00:00", &t), 0);
	assert_int_equal(t, 1795773600);
	/* An offset that crosses midnight and the year. */
	assert_int_equal(time_parse_rfc3339("2027-01-01T01:00:00+02:00", &t), 0);
	assert_int_equal(t, 1798761600 - 3600);
}

static void
time_parse_rfc3339_accepts_fractions_and_lowercase(void **state)
{
	time_t t = 0;

	(void)state;
	assert_int_equal(time_parse_rfc3339("2026-11-27T10:00:00.5Z", &t), 0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(time_parse_rfc3339("2026-11-27T10:00:00.999999999Z",
	    &t), 0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(time_parse_rfc3339("2026-11-27T12:00:00.123+02:00",
	    &t), 0);
	assert_int_equal(t, 1795773600);
	assert_int_equal(time_parse_rfc3339("2026-11-27t10:00:00z", &t), 0);
	assert_int_equal(t, 1795773600);
}

static void
time_parse_rfc3339_accepts_leap_day_in_leap_year(void **state)
{
	time_t t = 0;

	(void)state;
	assert_int_equal(time_parse_rfc3339("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(t, 1709164800);
	assert_int_equal(time_parse_rfc3339("2000-02-29T00:00:00Z", &t), 0);
	assert_int_equal(t, 951782400);
}

static void
time_parse_rfc3339_rejects_invalid_dates(void **state)
{
	static const char *const bad[] = {
		"2026-02-30T00:00:00Z",	/* Feb 30 */
		"2026-02-31T00:00:00Z",
		"2026-04-31T00:00:00Z",	/* April has 30 days */
		"2026-13-01T00:00:00Z",	/* month 13 */
		"2026-00-10T00:00:00Z",	/* month 0 */
		"2026-01-00T00:00:00Z",	/* day 0 */
		"2026-01-32T00:00:00Z",
		"2026-01-01T24:00:00Z",
		"2026-01-01T23:60:00Z",
		"2026-01-01T23:59:61Z",
		"1969-12-31T23:59:59Z",	/* before the epoch */
	};
	time_t t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (time_parse_rfc3339(bad[i], &t) != -1)
			fail_msg("accepted %s", bad[i]);
	}
	assert_int_equal(t, 42);
}

/* Feb 29 only exists in leap years: 2023 and 1900-style centuries are not. */
static void
time_parse_rfc3339_rejects_feb_29_in_non_leap_year(void **state)
{
	time_t t = 42;

	(void)state;
	assert_int_equal(time_parse_rfc3339("2023-02-29T00:00:00Z", &t), -1);
	assert_int_equal(time_parse_rfc3339("2100-02-29T00:00:00Z", &t), -1);
}

static void
time_parse_rfc3339_rejects_garbage_and_trailing_junk(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"yesterday at noon, roughly",
		"2026-11-27",
		"2026-11-27T10:00:00",		/* no zone */
		"2026-11-27 10:00:00Z",		/* space for T */
		"2026-11-27T10:00:00Zjunk",
		"2026-11-27T10:00:00Z ",
		"2026-11-27T10:00:00+02:00x",
		"2026-11-27T10:00:00+0200",
		"2026-11-27T10:00:00+2:00",
		"2026-11-27T10:00:00+24:00",
		"2026-11-27T10:00:00+02:60",
		"2026-11-27T10:00:00.Z",	/* empty fraction */
		"2026-11-27T10:00:00,5Z",
		"2026-11-27T10:0:00Z",
		"2026/11/27T10:00:00Z",
		"+2026-11-27T10:00:00Z",
		"2026-11-27T10:00:00.0000000000000000000000000000Z",
		"１２３４-11-27T10:00:00Z",
	};
	time_t t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (time_parse_rfc3339(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(time_parse_rfc3339(NULL, &t), -1);
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

static void
env_long_unset_or_empty_gives_default(void **state)
{
	long	 v = 0;
	char	 err[256] = "";

	(void)state;
	assert_int_equal(env_long(VAR, 77, 1, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 77);
	setenv(VAR, "", 1);
	v = 0;
	assert_int_equal(env_long(VAR, 77, 1, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 77);
	unsetenv(VAR);
}

static void
env_long_reads_valid_values_including_bounds(void **state)
{
	long	 v = 0;
	char	 err[256] = "";

	(void)state;
	setenv(VAR, "42", 1);
	assert_int_equal(env_long(VAR, 1, 1, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	setenv(VAR, "1", 1);
	assert_int_equal(env_long(VAR, 5, 1, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1);
	setenv(VAR, "100", 1);
	assert_int_equal(env_long(VAR, 5, 1, 100, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 100);
	setenv(VAR, "-5", 1);
	assert_int_equal(env_long(VAR, 0, -10, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, -5);
	unsetenv(VAR);
}

static void
expect_env_long_error(const char *value)
{
	long	 v = 1234;
	char	 err[256] = "";

	setenv(VAR, value, 1);
	if (env_long(VAR, 5, 1, 100, &v, err, sizeof(err)) != -1)
		fail_msg("accepted \"%s\"", value);
	assert_non_null(strstr(err, VAR));
	assert_null(strchr(err, '\n'));
	assert_int_equal(v, 1234);
	unsetenv(VAR);
}

static void
env_long_out_of_range_is_an_error_naming_the_variable(void **state)
{
	(void)state;
	expect_env_long_error("0");
	expect_env_long_error("101");
	expect_env_long_error("-1");
	expect_env_long_error("99999999999999999999999");
	expect_env_long_error("-99999999999999999999999");
}

static void
env_long_not_a_number_is_an_error_naming_the_variable(void **state)
{
	(void)state;
	expect_env_long_error("abc");
	expect_env_long_error("ten");
	expect_env_long_error("-");
	expect_env_long_error("0x10");
	expect_env_long_error("1e2");
}

static void
env_long_trailing_junk_is_an_error_naming_the_variable(void **state)
{
	(void)state;
	expect_env_long_error("12x");
	expect_env_long_error("12 ");
	expect_env_long_error("12.5");
}

/*
 * util.h: on error env_long writes "one line" into err. The bad value is
 * echoed back, so a newline inside it must not break the line.
 */
static void
env_long_error_stays_one_line_when_value_holds_newline(void **state)
{
	(void)state;
	expect_env_long_error("12\n");
	expect_env_long_error("1\nlevel=info event=forged");
}

static void
env_str_unset_or_empty_gives_default(void **state)
{
	const char	*v = NULL;
	char		 err[256] = "";

	(void)state;
	assert_int_equal(env_str(VAR, "dflt", 10, &v, err, sizeof(err)), 0);
	assert_string_equal(v, "dflt");
	assert_int_equal(env_str(VAR, NULL, 10, &v, err, sizeof(err)), 0);
	assert_null(v);
	setenv(VAR, "", 1);
	assert_int_equal(env_str(VAR, "dflt", 10, &v, err, sizeof(err)), 0);
	assert_string_equal(v, "dflt");
	unsetenv(VAR);
}

static void
env_str_reads_value_up_to_maxlen(void **state)
{
	const char	*v = NULL;
	char		 err[256] = "";

	(void)state;
	setenv(VAR, "0123456789", 1);
	assert_int_equal(env_str(VAR, "dflt", 10, &v, err, sizeof(err)), 0);
	assert_string_equal(v, "0123456789");
	unsetenv(VAR);
}

static void
env_str_too_long_is_an_error_naming_the_variable(void **state)
{
	const char	*v = "untouched";
	char		 err[256] = "";

	(void)state;
	setenv(VAR, "01234567890", 1);
	assert_int_equal(env_str(VAR, "dflt", 10, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, VAR));
	assert_string_equal(v, "untouched");
	unsetenv(VAR);
}

static void
env_error_fits_in_a_small_buffer(void **state)
{
	long	 v;
	char	 err[8];

	(void)state;
	memset(err, 'z', sizeof(err));
	setenv(VAR, "nope", 1);
	assert_int_equal(env_long(VAR, 5, 1, 100, &v, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	unsetenv(VAR);
}

/* ---- files -------------------------------------------------------------- */

struct tmp {
	char dir[256];
	char path[300];
};

static int
tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s/vm-util-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/file", t->dir);
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp	*t = *state;
	DIR		*d;
	struct dirent	*e;
	char		 p[600];

	if ((d = opendir(t->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(t->dir);
	free(t);
	return 0;
}

static int
count_entries(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	int		 n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
file_write_atomic_writes_content_with_mode_0600(void **state)
{
	struct tmp	*t = *state;
	struct stat	 st;
	char		*data;
	size_t		 len = 0;

	assert_int_equal(file_write_atomic(t->path, "secret\n", 7, 0600), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	data = file_read(t->path, 1024, &len);
	assert_non_null(data);
	assert_int_equal(len, 7);
	assert_string_equal(data, "secret\n");
	free(data);
	/* No temporary file is left behind. */
	assert_int_equal(count_entries(t->dir), 1);
}

static void
file_write_atomic_applies_mode_regardless_of_umask(void **state)
{
	struct tmp	*t = *state;
	struct stat	 st;
	mode_t		 old = umask(0077);

	assert_int_equal(file_write_atomic(t->path, "x", 1, 0644), 0);
	umask(old);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void
file_write_atomic_replaces_existing_file_and_its_mode(void **state)
{
	struct tmp	*t = *state;
	struct stat	 st;
	char		*data;
	size_t		 len = 0;

	assert_int_equal(file_write_atomic(t->path, "old content", 11, 0644),
	    0);
	assert_int_equal(file_write_atomic(t->path, "new", 3, 0600), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	data = file_read(t->path, 1024, &len);
	assert_non_null(data);
	assert_int_equal(len, 3);
	assert_string_equal(data, "new");
	free(data);
	assert_int_equal(count_entries(t->dir), 1);
}

static void
file_write_atomic_binary_and_empty_content(void **state)
{
	struct tmp	*t = *state;
	unsigned char	 bin[300];
	char		*data;
	size_t		 len = 99;

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i;
	assert_int_equal(file_write_atomic(t->path, bin, sizeof(bin), 0600), 0);
	data = file_read(t->path, sizeof(bin), &len);
	assert_non_null(data);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(data, bin, sizeof(bin));
	assert_int_equal(data[len], '\0');
	free(data);
	assert_int_equal(file_write_atomic(t->path, "", 0, 0600), 0);
	data = file_read(t->path, 10, &len);
	assert_non_null(data);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
}

static void
file_write_atomic_into_missing_directory_fails_with_errno(void **state)
{
	struct tmp	*t = *state;
	char		 p[400];

	snprintf(p, sizeof(p), "%s/no/such/dir/file", t->dir);
	errno = 0;
	assert_int_equal(file_write_atomic(p, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
}

static void
file_read_exactly_max_succeeds_one_more_is_efbig(void **state)
{
	struct tmp	*t = *state;
	char		*data;
	size_t		 len = 0;

	assert_int_equal(file_write_atomic(t->path, "0123456789", 10, 0600), 0);
	data = file_read(t->path, 10, &len);
	assert_non_null(data);
	assert_int_equal(len, 10);
	free(data);
	errno = 0;
	assert_null(file_read(t->path, 9, &len));
	assert_int_equal(errno, EFBIG);
	errno = 0;
	assert_null(file_read(t->path, 0, &len));
	assert_int_equal(errno, EFBIG);
}

static void
file_read_missing_file_is_enoent(void **state)
{
	struct tmp	*t = *state;
	size_t		 len = 0;

	errno = 0;
	assert_null(file_read(t->path, 100, &len));
	assert_int_equal(errno, ENOENT);
}

static void
file_read_len_may_be_null(void **state)
{
	struct tmp	*t = *state;
	char		*data;

	assert_int_equal(file_write_atomic(t->path, "abc", 3, 0600), 0);
	data = file_read(t->path, 100, NULL);
	assert_non_null(data);
	assert_string_equal(data, "abc");
	free(data);
}

/* ---- strings ------------------------------------------------------------- */

static void
str_printable_accepts_text_and_utf8(void **state)
{
	(void)state;
	assert_true(str_printable("", 10));
	assert_true(str_printable("web-1.example.org", 255));
	assert_true(str_printable("with space & <tags>", 255));
	assert_true(str_printable("h\xc3\xb4te \xe2\x9c\x93", 255));
}

static void
str_printable_rejects_control_characters(void **state)
{
	(void)state;
	assert_false(str_printable("a\nb", 255));
	assert_false(str_printable("a\rb", 255));
	assert_false(str_printable("\t", 255));
	assert_false(str_printable("\x1b[31mred", 255));
	assert_false(str_printable("del\x7f", 255));
	assert_false(str_printable("\x01", 255));
}

static void
str_printable_enforces_max_bytes(void **state)
{
	(void)state;
	assert_true(str_printable("abcde", 5));
	assert_false(str_printable("abcdef", 5));
	assert_false(str_printable("a", 0));
	assert_true(str_printable("", 0));
	/* max counts bytes, not characters */
	assert_false(str_printable("\xc3\xa9\xc3\xa9\xc3\xa9", 5));
}

/* util.h: "printable UTF-8": malformed UTF-8 is not printable UTF-8. */
static void
str_printable_rejects_invalid_utf8(void **state)
{
	(void)state;
	assert_false(str_printable("\xff", 255));
	assert_false(str_printable("abc\xc3", 255));		/* truncated */
	assert_false(str_printable("\xc0\xaf", 255));	/* overlong "/" */
	assert_false(str_printable("\xed\xa0\x80", 255));	/* surrogate */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_valid_accepts_lowercase_v4),
		cmocka_unit_test(uuid_valid_accepts_versions_1_to_5_and_variants_8_to_b),
		cmocka_unit_test(uuid_valid_rejects_uppercase),
		cmocka_unit_test(uuid_valid_rejects_wrong_length),
		cmocka_unit_test(uuid_valid_rejects_misplaced_hyphens),
		cmocka_unit_test(uuid_valid_rejects_non_hex),
		cmocka_unit_test(uuid_valid_rejects_version_0_and_6_to_f),
		cmocka_unit_test(uuid_valid_rejects_non_rfc4122_variant),
		cmocka_unit_test(uuid_generate_produces_valid_distinct_v4_ids),
		cmocka_unit_test(time_rfc3339_formats_utc_with_z),
		cmocka_unit_test(time_rfc3339_and_parse_round_trip),
		cmocka_unit_test(time_parse_rfc3339_applies_offsets),
		cmocka_unit_test(time_parse_rfc3339_accepts_fractions_and_lowercase),
		cmocka_unit_test(time_parse_rfc3339_accepts_leap_day_in_leap_year),
		cmocka_unit_test(time_parse_rfc3339_rejects_invalid_dates),
		cmocka_unit_test(time_parse_rfc3339_rejects_feb_29_in_non_leap_year),
		cmocka_unit_test(time_parse_rfc3339_rejects_garbage_and_trailing_junk),
		cmocka_unit_test(mono_ms_never_goes_backwards),
		cmocka_unit_test_setup(env_long_unset_or_empty_gives_default, env_setup),
		cmocka_unit_test_setup(env_long_reads_valid_values_including_bounds, env_setup),
		cmocka_unit_test_setup(env_long_out_of_range_is_an_error_naming_the_variable, env_setup),
		cmocka_unit_test_setup(env_long_not_a_number_is_an_error_naming_the_variable, env_setup),
		cmocka_unit_test_setup(env_long_trailing_junk_is_an_error_naming_the_variable, env_setup),
		cmocka_unit_test_setup(env_long_error_stays_one_line_when_value_holds_newline, env_setup),
		cmocka_unit_test_setup(env_str_unset_or_empty_gives_default, env_setup),
		cmocka_unit_test_setup(env_str_reads_value_up_to_maxlen, env_setup),
		cmocka_unit_test_setup(env_str_too_long_is_an_error_naming_the_variable, env_setup),
		cmocka_unit_test_setup(env_error_fits_in_a_small_buffer, env_setup),
		cmocka_unit_test_setup_teardown(file_write_atomic_writes_content_with_mode_0600, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(file_write_atomic_applies_mode_regardless_of_umask, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(file_write_atomic_replaces_existing_file_and_its_mode, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(file_write_atomic_binary_and_empty_content, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(file_write_atomic_into_missing_directory_fails_with_errno, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(file_read_exactly_max_succeeds_one_more_is_efbig, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(file_read_missing_file_is_enoent, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(file_read_len_may_be_null, tmp_setup, tmp_teardown),
		cmocka_unit_test(str_printable_accepts_text_and_utf8),
		cmocka_unit_test(str_printable_rejects_control_characters),
		cmocka_unit_test(str_printable_enforces_max_bytes),
		cmocka_unit_test(str_printable_rejects_invalid_utf8),
		cmocka_unit_test(str_rtrim_strips_trailing_whitespace_only),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
