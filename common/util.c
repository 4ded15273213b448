#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "util.h"

static int
ishex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int
uuid_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != UUID_STRLEN)
		return 0;
	for (i = 0; i < UUID_STRLEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!ishex(s[i]))
			return 0;
	}
	if (s[14] < '1' || s[14] > '5')
		return 0;
	return s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b';
}

void
uuid_generate(char out[UUID_STRLEN + 1])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, UUID_STRLEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]);
}

void
time_rfc3339(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
time_parse_rfc3339(const char *s, time_t *out)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	time_t		 t;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (s == NULL || strlen(s) < 20 || strlen(s) > 40)
		return -1;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &se))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || se > 60)
		return -1;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	s += 19;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		if (digits(s + 1, 2, &oh) || s[3] != ':' ||
		    digits(s + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		s += 6;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t - sign * (oh * 3600 + om * 60);
	return 0;
}

/* The clock's time in units of 1/per_sec s (per_sec divides 10^9). */
static int64_t
clock_in(clockid_t id, int64_t per_sec)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * per_sec +
	    ts.tv_nsec / (1000000000 / per_sec);
}

int64_t
mono_ms(void)
{
	return clock_in(CLOCK_MONOTONIC, 1000);
}

int64_t
mono_us(void)
{
	return clock_in(CLOCK_MONOTONIC, 1000000);
}

int64_t
wall_ms(void)
{
	return clock_in(CLOCK_REALTIME, 1000);
}

int64_t
wall_us(void)
{
	return clock_in(CLOCK_REALTIME, 1000000);
}

void
time_after(struct timespec *ts, clockid_t clock, int64_t ms)
{
	clock_gettime(clock, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int
file_write_atomic(const char *path, const void *data, size_t len,
    unsigned int mode)
{
	char	    tmp[PATH_MAX], dir[PATH_MAX];
	const char *p = data;
	int	    fd = -1, dfd = -1, rc = -1, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
		(int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		 (mode_t)mode)) == -1)
		return -1;
	if (fchmod(fd, (mode_t)mode) == -1)
		goto out;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (rc == -1)
		(void)unlink(tmp);
	errno = saved;
	return rc;
}

char *
file_read_fd(int fd, size_t max, size_t *len)
{
	char  *data = NULL, *p;
	size_t have = 0, size = 0;
	int    saved;

	/* /proc files say size 0: grow as we go, never past max. */
	for (;;) {
		ssize_t n;

		if (have == size) {
			if (size > max) {
				errno = EFBIG;
				goto fail;
			}
			size = size == 0 ? 4096 : size * 2;
			if (size > max + 1)
				size = max + 1;
			if ((p = realloc(data, size + 1)) == NULL)
				goto fail;
			data = p;
		}
		if ((n = read(fd, data + have, size - have)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	data[have] = '\0';
	if (len != NULL)
		*len = have;
	return data;
fail:
	saved = errno;
	free(data);
	errno = saved;
	return NULL;
}

char *
file_read(const char *path, size_t max, size_t *len)
{
	char *data;
	int   fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	data = file_read_fd(fd, max, len);
	saved = errno;
	close(fd);
	errno = saved;
	return data;
}

int
env_long(const char *name, long def, long min, long max, long *out, char *err,
    size_t errlen)
{
	const char *v = getenv(name);
	char	   *end;
	long	    n;

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	/* Digits only (and a leading minus): no blanks, no plus sign. */
	if ((*v != '-' && (*v < '0' || *v > '9')) || errno != 0 || end == v ||
	    *end != '\0' || n < min || n > max) {
		char shown[41];

		str_sanitize(shown, sizeof(shown), v);
		snprintf(err, errlen,
		    "%s: must be a whole number from %ld to %ld, got \"%s\"",
		    name, min, max, shown);
		return -1;
	}
	*out = n;
	return 0;
}

int
env_str(const char *name, const char *def, size_t maxlen, const char **out,
    char *err, size_t errlen)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (strlen(v) > maxlen) {
		snprintf(err, errlen, "%s: longer than %zu bytes", name,
		    maxlen);
		return -1;
	}
	*out = v;
	return 0;
}

char *
str_rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 &&
	    (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
		s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		unsigned lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		unsigned hi = s[0] == 0xed ? 0x9f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 :
									   0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		unsigned lo = s[0] == 0xf0 ? 0x90 : 0x80;
		unsigned hi = s[0] == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
			(s[3] & 0xc0) == 0x80 ?
		    4 :
		    0;
	}
	return 0;
}

int
str_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int
str_base64url(const char *s, size_t len)
{
	size_t n = strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

	return n == len && s[n] == '\0';
}

int
str_printable(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     n = 0, len;

	while (*p != '\0') {
		if (n >= max || *p < 0x20 || *p == 0x7f)
			return 0;
		if ((len = utf8_seq(p)) == 0)
			return 0;
		/* C1 controls, U+0080 to U+009F. */
		if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return 0;
		p += len;
		n += len;
	}
	return n <= max;
}

void
str_sanitize(char *out, size_t outlen, const char *s)
{
	size_t i = 0;

	if (outlen == 0)
		return;
	for (; *s != '\0' && i + 1 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		out[i++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
}

int
lockfile_take(const char *path, long *holder)
{
	struct flock fl;
	char	     pid[32];
	int	     fd, e;

	*holder = 0;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		 0600)) == -1)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	/* A POSIX lock: the kernel drops it when the process ends, however. */
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		e = errno == EACCES ? EAGAIN : errno;
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (e == EAGAIN && fcntl(fd, F_GETLK, &fl) == 0 &&
		    fl.l_type != F_UNLCK)
			*holder = (long)fl.l_pid;
		close(fd);
		errno = e;
		return -1;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

char *
str_utf8_sanitize(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char		    *out;
	size_t		     i = 0, o = 0;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	while (i < len) {
		unsigned char c = u[i];
		size_t	      n = 0;
		uint32_t      cp = 0, min = 0;

		if (c == 0 ||
		    (c < 0x20 && c != '\n' && c != '\t' && c != '\r') ||
		    c == 0x7f) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		}
		/* n continuation bytes must follow within len. */
		if (n == 0 || i + n >= len)
			goto bad;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (u[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		memcpy(out + o, u + i, n + 1);
		o += n + 1;
		i += n + 1;
		continue;
	bad:
		out[o++] = '?';
		i++;
	}
	out[o] = '\0';
	return out;
}
