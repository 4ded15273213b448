/*
 * log: one line per event on stderr, key=value style.
 *
 *   <6>ts=2026-11-27T10:00:00Z level=info event=enroll node_id=... status=approved
 *
 * The "<N>" journald priority prefix is written only when stderr is the
 * journal (JOURNAL_STREAM matches stderr), so journald files each line at
 * its level. Values that may hold spaces or come from the network are
 * written through log_quote() by the caller.
 *
 * Whatever the values hold, one call writes exactly one line: after
 * formatting, every control byte of the line (C0, DEL) is written as "\n",
 * "\r", "\t" or "\xHH", so a value cannot end its line and forge another.
 */
#ifndef VM_LOG_H
#define VM_LOG_H

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Sets the level from "error", "warn", "info" or "debug"; -1 if unknown. */
int log_set_level(const char *name);
int log_enabled(enum log_level lvl);
/* Writes log lines to fd from now on (default 2, stderr). */
void log_set_fd(int fd);
/* One line (at most 2048 bytes, cut to fit), written with one write(2). */
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Copies s into out (size n) as a log value: printable ASCII only, quoted
 * when it holds a space, '"' or '=', truncated to fit. Returns out.
 */
const char *log_quote(char *out, size_t n, const char *s);

#define log_err(ev, ...) log_msg(LOG_LVL_ERR, (ev), __VA_ARGS__)
#define log_warn(ev, ...) log_msg(LOG_LVL_WARN, (ev), __VA_ARGS__)
#define log_info(ev, ...) log_msg(LOG_LVL_INFO, (ev), __VA_ARGS__)
#define log_debug(ev, ...) log_msg(LOG_LVL_DEBUG, (ev), __VA_ARGS__)

#endif
