/*
 * store_pg_db: what the PostgreSQL backend's files share: parameters as
 * text, running a statement on a connection that heals itself, columns.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_db.h"
#include "util.h"

void
pg_params_init(struct pg_params *p)
{
	memset(p, 0, sizeof(*p));
}

void
pg_params_free(struct pg_params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->owned[i]);
	memset(p, 0, sizeof(*p));
}

static char *
slot(struct pg_params *p)
{
	if (p->n >= PG_PARAMS_MAX) {
		log_err("store_error", "op=params error=\"too many\"");
		abort();
	}
	return p->num[p->n];
}

void
pg_text(struct pg_params *p, const char *s)
{
	(void)slot(p);
	p->v[p->n++] = s;
}

void
pg_i64(struct pg_params *p, int64_t v)
{
	char *b = slot(p);

	snprintf(b, sizeof(p->num[0]), "%lld", (long long)v);
	p->v[p->n++] = b;
}

void
pg_real(struct pg_params *p, double v)
{
	char *b = slot(p);

	if (isnan(v)) {
		p->v[p->n++] = NULL;
		return;
	}
	snprintf(b, sizeof(p->num[0]), "%.17g", v);
	p->v[p->n++] = b;
}

void
pg_bytes(struct pg_params *p, const unsigned char *b, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char		 *s;

	(void)slot(p);
	if (b == NULL || (s = malloc(2 * len + 3)) == NULL) {
		p->v[p->n++] = NULL;
		return;
	}
	s[0] = '\\';
	s[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		s[2 + 2 * i] = hex[b[i] >> 4];
		s[3 + 2 * i] = hex[b[i] & 15];
	}
	s[2 + 2 * len] = '\0';
	p->owned[p->n] = s;
	p->v[p->n++] = s;
}

/* libpq's message, one line, quoted for the log. */
static const char *
msg(char *out, size_t n, const char *m)
{
	char line[512];

	snprintf(line, sizeof(line), "%s", m != NULL ? m : "");
	line[strcspn(line, "\n")] = '\0';
	return log_quote(out, n, line);
}

/* The server's notices ("relation exists, skipping"): the debug log. */
static void
notice(void *arg, const char *message)
{
	char m[600];

	(void)arg;
	log_debug("store_notice", "message=%s", msg(m, sizeof(m), message));
}

void
pg_conn_setup(struct pg_conn *c)
{
	if (c->c == NULL)
		return;
	PQsetNoticeProcessor(c->c, notice, NULL);
	atomic_store(&c->pid, PQbackendPID(c->c));
}

/* The connection is up, or made so once: 0, or -1 (logged). */
static int
conn_ready(struct pg *s, struct pg_conn *c)
{
	char m[600];

	if (c->c != NULL && PQstatus(c->c) == CONNECTION_OK)
		return 0;
	if (c->c != NULL) {
		PQreset(c->c);
		if (PQstatus(c->c) == CONNECTION_OK) {
			pg_conn_setup(c);
			log_warn("store_reconnected", "conn=%s", c->name);
			return 0;
		}
	} else if ((c->c = PQconnectdb(s->conninfo)) != NULL &&
	    PQstatus(c->c) == CONNECTION_OK) {
		pg_conn_setup(c);
		log_warn("store_reconnected", "conn=%s", c->name);
		return 0;
	}
	log_err("store_error", "op=connect conn=%s error=%s", c->name,
	    msg(m, sizeof(m),
		c->c != NULL ? PQerrorMessage(c->c) : "out of memory"));
	return -1;
}

PGresult *
pg_exec(struct pg *s, struct pg_conn *c, const char *what, const char *sql,
    const struct pg_params *p)
{
	PGresult      *r;
	int64_t	       t0 = mono_us();
	ExecStatusType st;
	char	       m[600];

	if (conn_ready(s, c) == -1)
		return NULL;
	/* Without parameters, the simple protocol: sql may be several. */
	if (p == NULL)
		r = PQexec(c->c, sql);
	else
		r = PQexecParams(c->c, sql, p->n, NULL, p->v, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		/* A write outside a transaction, or a transaction's end. */
		if (s->base.on_write != NULL && st == PGRES_COMMAND_OK &&
		    PQtransactionStatus(c->c) == PQTRANS_IDLE &&
		    strncmp(sql, "SELECT", 6) != 0)
			s->base.on_write(mono_us() - t0);
		return r;
	}
	log_err("store_error", "op=%s conn=%s error=%s", what, c->name,
	    msg(m, sizeof(m), PQresultErrorMessage(r)));
	PQclear(r);
	return NULL;
}

int
pg_run(struct pg *s, struct pg_conn *c, const char *what, const char *sql,
    const struct pg_params *p)
{
	PGresult *r = pg_exec(s, c, what, sql, p);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
pg_rows(struct pg *s, struct pg_conn *c, const char *what, const char *sql,
    const struct pg_params *p,
    int (*row)(const PGresult *res, int i, void *ctx), void *ctx)
{
	PGresult *res;
	int	  ret = 0;

	pthread_mutex_lock(&c->mu);
	res = pg_exec(s, c, what, sql, p);
	pthread_mutex_unlock(&c->mu);
	if (res == NULL)
		return -1;
	for (int i = 0; ret == 0 && i < PQntuples(res); i++)
		ret = row(res, i, ctx);
	PQclear(res);
	return ret == -1 ? -1 : 0;
}

int
pg_begin(struct pg *s, struct pg_conn *c)
{
	return pg_run(s, c, "begin", "BEGIN", NULL);
}

int
pg_commit(struct pg *s, struct pg_conn *c)
{
	return pg_run(s, c, "commit", "COMMIT", NULL);
}

void
pg_rollback(struct pg *s, struct pg_conn *c)
{
	/* After a lost connection there is nothing to roll back. */
	if (c->c != NULL && PQstatus(c->c) == CONNECTION_OK &&
	    PQtransactionStatus(c->c) != PQTRANS_IDLE)
		(void)pg_run(s, c, "rollback", "ROLLBACK", NULL);
}

const char *
pg_col(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int64_t
pg_col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ?
	    0 :
	    strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int
pg_col_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col);
}

int
pg_col_bytes(const PGresult *r, int row, int col, unsigned char *out,
    size_t len)
{
	const char *v;
	size_t	    n;

	if (PQgetisnull(r, row, col))
		return 0;
	v = PQgetvalue(r, row, col);
	/* bytea in hex output: "\x" and two digits a byte. */
	if (strncmp(v, "\\x", 2) != 0 || (n = strlen(v + 2)) != 2 * len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned hi, lo;

		if (sscanf(v + 2 + 2 * i, "%1x%1x", &hi, &lo) != 2)
			return 0;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 1;
}
