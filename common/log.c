#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int level = LOG_LVL_INFO;
static int journal = -1; /* -1: not yet checked */
static int log_fd = 2;

int
log_set_level(const char *name)
{
	static const struct {
		const char *name;
		int	    lvl;
	} names[] = {
		{ "error", LOG_LVL_ERR },
		{ "warn", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0) {
			level = names[i].lvl;
			return 0;
		}
	return -1;
}

void
log_set_fd(int fd)
{
	log_fd = fd;
}

int
log_enabled(enum log_level lvl)
{
	return (int)lvl <= level;
}

/* True when stderr is the journal stream systemd gave us. */
static int
stderr_is_journal(void)
{
	const char	  *js = getenv("JOURNAL_STREAM");
	struct stat	   st;
	unsigned long long dev, ino;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(fileno(stderr), &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/*
 * Copies the formatted line in into out (size n > 1) with every control
 * byte (C0 and DEL) written as an escape: "\n", "\r", "\t" or "\xHH".
 * Whatever a caller's values hold, a call then writes one line, so a value
 * with a newline cannot end its line early and start a forged one (a
 * made-up ts=, level=error...). An escape that does not fit is left out
 * whole; out ends with the one '\n'. Returns the length written.
 */
static size_t
escape_line(char *out, size_t n, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  i = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		char	      esc[4];
		size_t	      len = 1;

		esc[0] = (char)c;
		if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\';
			len = 2;
			if (c == '\n')
				esc[1] = 'n';
			else if (c == '\r')
				esc[1] = 'r';
			else if (c == '\t')
				esc[1] = 't';
			else {
				esc[1] = 'x';
				esc[2] = hex[c >> 4];
				esc[3] = hex[c & 15];
				len = 4;
			}
		}
		/* Room for this byte (or escape) and the final newline. */
		if (i + len + 1 > n)
			break;
		memcpy(out + i, esc, len);
		i += len;
	}
	out[i++] = '\n';
	return i;
}

void
log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
	static const char *lname[8] = { "error", "error", "error", "error",
		"warn", "notice", "info", "debug" };
	char		   line[2048], out[2048], ts[32];
	struct tm	   tm;
	time_t		   now;
	va_list		   ap;
	size_t		   len;
	int		   n;

	if (!log_enabled(lvl))
		goto out;
	if (journal == -1)
		journal = stderr_is_journal();
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (journal)
		n = snprintf(line, sizeof(line), "<%d>level=%s event=%s ",
		    (int)lvl, lname[lvl & 7], event);
	else
		n = snprintf(line, sizeof(line), "ts=%s level=%s event=%s ", ts,
		    lname[lvl & 7], event);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/*
	 * The escape covers the whole line (event too), after formatting:
	 * no caller has to remember it for the line to stay one line.
	 */
	len = escape_line(out, sizeof(out), line);
	/* One write per line, so lines from threads do not interleave. */
	while (write(log_fd, out, len) == -1 && errno == EINTR)
		;
out:
	return;
}

const char *
log_quote(char *out, size_t n, const char *s)
{
	size_t i = 0;
	int    quote = 0;

	if (n == 0)
		return out;
	if (s == NULL)
		s = "";
	for (const char *c = s; *c != '\0'; c++)
		if (*c == ' ' || *c == '"' || *c == '=' || *c == '\0')
			quote = 1;
	if (*s == '\0')
		quote = 1;
	if (quote && i + 1 < n)
		out[i++] = '"';
	for (; *s != '\0' && i + 2 < n; s++) {
		unsigned char c = (unsigned char)*s;

		out[i++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
	}
	if (quote && i + 1 < n)
		out[i++] = '"';
	out[i] = '\0';
	return out;
}
