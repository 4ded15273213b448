#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	level = LOG_LVL_INFO;
static int	journal = -1;	/* -1: not yet checked */
static int	log_fd = 2;

int
log_set_level(const char *name)
{
	static const struct { const char *name; int lvl; } names[] = {
		{ "error", LOG_LVL_ERR }, { "warn", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
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
	const char		*js = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(fileno(stderr), &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
	static const char	*lname[8] = { "error", "error", "error",
				    "error", "warn", "notice", "info", "debug" };
	char			 line[2048], ts[32];
	struct tm		 tm;
	time_t			 now;
	va_list			 ap;
	int			 n;

	if (!log_enabled(lvl))
		return;
	if (journal == -1)
		journal = stderr_is_journal();
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (journal)
		n = snprintf(line, sizeof(line), "<%d>level=%s event=%s ",
		    (int)lvl, lname[lvl & 7], event);
	else
		n = snprintf(line, sizeof(line), "ts=%s level=%s event=%s ",
		    ts, lname[lvl & 7], event);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines from threads do not interleave. */
	n = (int)strlen(line);
	if ((size_t)n < sizeof(line) - 1) {
		line[n++] = '\n';
		line[n] = '\0';
	} else
		line[n - 1] = '\n';
	while (write(log_fd, line, (size_t)n) == -1 && errno == EINTR)
		;
}

const char *
log_quote(char *out, size_t n, const char *s)
{
	size_t	 i = 0;
	int	 quote = 0;

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
