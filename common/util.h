/*
 * util: small helpers both daemons use (identifiers, time, files, config).
 */
#ifndef VM_UTIL_H
#define VM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VM_VERSION "0.1.0"
#define UUID_STRLEN 36

/* 1 if s is a lowercase RFC 4122 UUID (8-4-4-4-12 hex, version 1-5, variant 10xx). */
int uuid_valid(const char *s);
/* Writes a new random (version 4) lowercase UUID into out[UUID_STRLEN + 1]. */
void uuid_generate(char out[UUID_STRLEN + 1]);

/* Formats t as RFC 3339 UTC ("2026-11-27T10:00:00Z") into out[21]. */
void time_rfc3339(time_t t, char out[32]);
/* Parses an RFC 3339 timestamp (Z or +hh:mm, optional fraction); -1 if invalid. */
int time_parse_rfc3339(const char *s, time_t *out);
/* Monotonic milliseconds and microseconds. */
int64_t mono_ms(void);
int64_t mono_us(void);
/* Wall-clock milliseconds and microseconds since the epoch. */
int64_t wall_ms(void);
int64_t wall_us(void);
/* *ts = the clock's now plus ms (for pthread_cond_timedwait and the like). */
void time_after(struct timespec *ts, clockid_t clock, int64_t ms);

/*
 * Writes data to path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory. Mode is applied to the new file.
 * 0 on success, -1 with errno set.
 */
int file_write_atomic(const char *path, const void *data, size_t len,
    unsigned int mode);
/*
 * Reads at most max bytes of path into a NUL-terminated malloc'd buffer.
 * Returns NULL (errno set; EFBIG when larger than max) on failure.
 */
char *file_read(const char *path, size_t max, size_t *len);
/* The same from an open descriptor, read to its end (the caller closes it). */
char *file_read_fd(int fd, size_t max, size_t *len);

/*
 * Takes the exclusive lock of path (created 0600 when missing) for the
 * life of the process and writes our pid into it: the descriptor (keep
 * it open), or -1 with errno; EAGAIN when another process holds it, whose
 * pid is then in *holder (0 when it cannot be told).
 */
int lockfile_take(const char *path, long *holder);

/*
 * Configuration from the environment. Each returns 0 and sets *out (the
 * default when the variable is unset or empty), or -1 after writing one line
 * "NAME: <what is wrong>" into err (size errlen); the caller prefixes the
 * program's name.
 */
int env_long(const char *name, long def, long min, long max, long *out,
    char *err, size_t errlen);
int env_str(const char *name, const char *def, size_t maxlen, const char **out,
    char *err, size_t errlen);

/* Strips trailing "\r\n\t " in place; returns s. */
char *str_rtrim(char *s);
/* 1 if s is at most max bytes of well-formed UTF-8 without control characters. */
int str_printable(const char *s, size_t max);
/* 1 when s is a name: 1 to max of A-Z a-z 0-9 . _ - (nothing else). */
int str_name_valid(const char *s, size_t max);
/* 1 when s is exactly len characters of base64url (no padding). */
int str_base64url(const char *s, size_t len);
/*
 * Copies len bytes of s into a new NUL-terminated string of valid UTF-8
 * (malformed sequences and control bytes other than \t\n\r become '?'):
 * malloc'd, or NULL when out of memory.
 */
char *str_utf8_sanitize(const char *s, size_t len);
/* Copies s into out with every byte outside printable ASCII replaced by '?'. */
void str_sanitize(char *out, size_t outlen, const char *s);

#endif
