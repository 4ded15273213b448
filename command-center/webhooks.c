/*
 * webhooks: endpoints from VAULTMESH_WEBHOOKS_PATH, events into the store's
 * outbox, and the leader's delivery thread. See webhooks.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "app.h"
#include "buf.h"
#include "fleet.h"
#include "log.h"
#include "replica.h"
#include "util.h"
#include "hotfile.h"
#include "webhooks.h"

static const char *const event_names[] = { "node.attention_changed",
	"node.pending", "job.finished", "approval.requested" };
#define EVENTS 4

struct endpoint {
	char	*url;
	char	*secret;
	unsigned events; /* enum webhook_event bits */
};

struct endpoints {
	struct endpoint e[WEBHOOKS_MAX];
	size_t		n;
};

static pthread_mutex_t	mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	cv = PTHREAD_COND_INITIALIZER;
static int		stopping, woken, curl_ready;
static pthread_t	thread;
static int		started;
static _Atomic uint64_t sent_ok, sent_failed, sent_dead, flaps_held;

/* ---- the file ---------------------------------------------------------- */

static void
endpoints_free(struct endpoints *es)
{
	if (es == NULL)
		return;
	for (size_t i = 0; i < es->n; i++) {
		free(es->e[i].url);
		if (es->e[i].secret != NULL)
			sodium_memzero(es->e[i].secret,
			    strlen(es->e[i].secret));
		free(es->e[i].secret);
	}
	free(es);
}

static int
event_bit(const char *name)
{
	for (int i = 0; i < EVENTS; i++)
		if (strcmp(event_names[i], name) == 0)
			return 1 << i;
	return 0;
}

/* An http:// or https:// URL of printable bytes without spaces. */
static int
url_ok(const char *u)
{
	size_t n = strlen(u);

	if (n > WEBHOOK_URL_MAX || !str_printable(u, WEBHOOK_URL_MAX) ||
	    strchr(u, ' ') != NULL)
		return 0;
	return (strncmp(u, "https://", 8) == 0 && n > 8) ||
	    (strncmp(u, "http://", 7) == 0 && n > 7);
}

static struct endpoints *
parse_text(const char *label, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct endpoints *es;
	json_t		 *root, *v, *ev, *x;
	json_error_t	  je;
	size_t		  i, k;
	const char	 *key;

	if ((es = calloc(1, sizeof(*es))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", label);
		return NULL;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errlen, "%s:%d: %s", label, je.line, je.text);
		goto fail;
	}
	if (!json_is_array(root) || json_array_size(root) > WEBHOOKS_MAX) {
		snprintf(err, errlen,
		    "%s: must be a list of at most %d endpoints", label,
		    WEBHOOKS_MAX);
		goto fail;
	}
	json_array_foreach(root, i, v)
	{
		struct endpoint *e = &es->e[es->n];
		const char	*url, *secret;

		if (!json_is_object(v)) {
			snprintf(err, errlen, "%s[%zu]: must be an object",
			    label, i);
			goto fail;
		}
		json_object_foreach(v, key, x)
		{
			if (strcmp(key, "url") != 0 &&
			    strcmp(key, "secret") != 0 &&
			    strcmp(key, "events") != 0) {
				snprintf(err, errlen,
				    "%s[%zu]: unknown key \"%.40s\" (only url, "
				    "secret, events)",
				    label, i, key);
				goto fail;
			}
		}
		url = json_string_value(json_object_get(v, "url"));
		if (url == NULL || !url_ok(url)) {
			snprintf(err, errlen,
			    "%s[%zu].url: an http:// or https:// URL of at most "
			    "%d bytes",
			    label, i, WEBHOOK_URL_MAX);
			goto fail;
		}
		for (k = 0; k < es->n; k++)
			if (strcmp(es->e[k].url, url) == 0) {
				snprintf(err, errlen,
				    "%s[%zu].url: listed twice", label, i);
				goto fail;
			}
		secret = json_string_value(json_object_get(v, "secret"));
		if (secret == NULL || strlen(secret) < WEBHOOK_SECRET_MIN ||
		    strlen(secret) > WEBHOOK_SECRET_MAX ||
		    strlen(secret) !=
			json_string_length(json_object_get(v, "secret"))) {
			snprintf(err, errlen, "%s[%zu].secret: %d to %d bytes",
			    label, i, WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
			goto fail;
		}
		ev = json_object_get(v, "events");
		if (!json_is_array(ev) || json_array_size(ev) == 0) {
			snprintf(err, errlen,
			    "%s[%zu].events: a list of node.attention_changed, "
			    "node.pending, job.finished, approval.requested",
			    label, i);
			goto fail;
		}
		json_array_foreach(ev, k, x)
		{
			int bit = json_is_string(x) ?
			    event_bit(json_string_value(x)) :
			    0;

			if (bit == 0) {
				snprintf(err, errlen,
				    "%s[%zu].events[%zu]: not an event "
				    "(node.attention_changed, node.pending, "
				    "job.finished, approval.requested)",
				    label, i, k);
				goto fail;
			}
			e->events |= (unsigned)bit;
		}
		if ((e->url = strdup(url)) == NULL ||
		    (e->secret = strdup(secret)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", label);
			es->n++;
			goto fail;
		}
		es->n++;
	}
	json_decref(root);
	return es;
fail:
	json_decref(root);
	endpoints_free(es);
	return NULL;
}

static struct endpoints *
parse_file(const char *path, char *err, size_t errlen)
{
	struct endpoints *es;
	char		 *text;
	size_t		  len;

	if (path == NULL)
		return calloc(1, sizeof(struct endpoints));
	if ((text = file_read(path, WEBHOOKS_FILE_MAX, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path,
		    errno == EFBIG ? "larger than 256 KiB" : strerror(errno));
		return NULL;
	}
	es = parse_text(path, text, len, err, errlen);
	sodium_memzero(text, len);
	free(text);
	return es;
}

int
webhooks_check_text(const char *label, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct endpoints *es = parse_text(label, text, len, err, errlen);

	if (es == NULL)
		return -1;
	endpoints_free(es);
	return 0;
}

static void *
parse_any(const char *path, char *err, size_t errlen)
{
	return parse_file(path, err, errlen);
}

static void
free_any(void *es)
{
	endpoints_free(es);
}

/* The endpoints: read under file.mu. */
static struct hotfile file = HOTFILE_INIT(parse_any, free_any);

int
webhooks_init(const char *path, char *err, size_t errlen)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	curl_ready = 1;
	return hotfile_init(&file, path, err, errlen);
}

int
webhooks_reload(char *err, size_t errlen)
{
	if (hotfile_reload(&file, err, errlen) == -1)
		return -1;
	pthread_mutex_lock(&mu);
	woken = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
}

/* ---- events ------------------------------------------------------------ */

void
webhooks_emit(enum webhook_event ev, json_t *fields)
{
	const char *urls[WEBHOOKS_MAX];
	char	   *copies[WEBHOOKS_MAX], *body = NULL, id[37], at[32];
	size_t	    n = 0;
	int	    bit = 0;
	json_t	   *doc;
	int64_t	    now = time(NULL);

	while ((1u << bit) != (unsigned)ev)
		bit++;
	pthread_mutex_lock(&file.mu);
	const struct endpoints *current = file.cur;
	for (size_t i = 0; current != NULL && i < current->n; i++)
		if ((current->e[i].events & (unsigned)ev) != 0 &&
		    (copies[n] = strdup(current->e[i].url)) != NULL)
			urls[n] = copies[n], n++;
	pthread_mutex_unlock(&file.mu);
	if (n == 0)
		return;
	uuid_generate(id);
	time_rfc3339((time_t)now, at);
	if ((doc = json_deep_copy(fields)) == NULL ||
	    json_object_set_new(doc, "event", json_string(event_names[bit])) ||
	    json_object_set_new(doc, "at", json_string(at)) ||
	    json_object_set_new(doc, "id", json_string(id)) ||
	    (body = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		log_err("webhook_lost", "hook_event=%s msg=\"out of memory\"",
		    event_names[bit]);
	else if (store_outbox_add(app.store, event_names[bit], body, urls, n,
		     now) == -1)
		log_err("webhook_lost",
		    "hook_event=%s id=%s msg=\"not stored\"", event_names[bit],
		    id);
	else {
		log_info("webhook_queued", "hook_event=%s id=%s endpoints=%zu",
		    event_names[bit], id, n);
		pthread_mutex_lock(&mu);
		woken = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	free(body);
	json_decref(doc);
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
}

/* ---- attention ---------------------------------------------------------- */

/* The last level told of each node (the leader's; sorted by node id). */
struct told {
	char	 node_id[37];
	int	 level;
	unsigned reasons;
	int64_t	 at;
};
static struct told *told;
static size_t	    ntold, captold;
static int	    told_loaded;

static int
told_cmp(const void *a, const void *b)
{
	return strcmp(((const struct told *)a)->node_id,
	    ((const struct told *)b)->node_id);
}

static int
told_add(const char *node_id, int level, unsigned reasons, int64_t at,
    void *arg)
{
	struct told *np;

	(void)arg;
	if (ntold == captold) {
		captold = captold ? captold * 2 : 256;
		if ((np = realloc(told, captold * sizeof(*np))) == NULL)
			return -1;
		told = np;
	}
	snprintf(told[ntold].node_id, sizeof(told[ntold].node_id), "%s",
	    node_id);
	told[ntold].level = level;
	told[ntold].reasons = reasons;
	told[ntold].at = at;
	ntold++;
	return 0;
}

/* The fleet now (ids, levels, reasons), copied out under its lock. */
struct seen {
	struct told *t;
	size_t	     n, cap;
	int	     failed;
};

static void
seen_one(const struct node_facts *nf, int offline, void *arg)
{
	struct seen *s = arg;
	struct told *np;

	(void)offline;
	if (s->failed || nf->status != NODE_APPROVED)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		if ((np = realloc(s->t, s->cap * sizeof(*np))) == NULL) {
			s->failed = 1;
			return;
		}
		s->t = np;
	}
	snprintf(s->t[s->n].node_id, sizeof(s->t[s->n].node_id), "%s",
	    nf->node_id);
	s->t[s->n].level = (int)nf->level;
	s->t[s->n].reasons = nf->reasons;
	s->n++;
}

static json_t *
reasons_json(unsigned reasons)
{
	json_t *a = json_array();

	for (int i = 0; i < REASON_COUNT; i++)
		if (reasons & (1u << i))
			json_array_append_new(a,
			    json_string(reason_name(1u << i)));
	return a;
}

static void
tell(const struct told *was, const struct told *now_, int64_t now)
{
	static const char *const lv[] = { "green", "yellow", "red" };
	char			 host[256];
	json_t			*f;

	if (fleet_hostname(app.fleet, now_->node_id, host, sizeof(host)) == -1)
		host[0] = '\0';
	f = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "node_id",
	    now_->node_id, "hostname", host, "from", lv[was->level], "to",
	    lv[now_->level], "reasons", reasons_json(now_->reasons),
	    "previous_reasons", reasons_json(was->reasons));

	if (f != NULL)
		webhooks_emit(WH_ATTENTION, f);
	json_decref(f);
	log_debug("webhook_level", "node_id=%s level=%s told=1", now_->node_id,
	    lv[now_->level]);
	(void)store_webhook_level_set(app.store, now_->node_id, now_->level,
	    now_->reasons, now);
}

static int
wants(unsigned ev)
{
	int any = 0;

	pthread_mutex_lock(&file.mu);
	const struct endpoints *current = file.cur;
	for (size_t i = 0; current != NULL && i < current->n; i++)
		any |= (current->e[i].events & ev) != 0;
	pthread_mutex_unlock(&file.mu);
	return any;
}

void
webhooks_tick(int64_t now)
{
	static int64_t next;
	struct seen    s = { NULL, 0, 0, 0 };
	struct told   *t;

	if (!replica_leads()) {
		told_loaded = 0; /* another replica tells: read again later */
		return;
	}
	if (now < next || !wants(WH_ATTENTION))
		return;
	next = now + 1;
	if (!told_loaded) {
		ntold = 0;
		if (store_webhook_levels(app.store, told_add, NULL) == -1)
			return;
		if (ntold > 0)
			qsort(told, ntold, sizeof(*told), told_cmp);
		told_loaded = 1;
	}
	fleet_select(app.fleet, now, NULL, NULL, NULL, 0, seen_one, &s);
	for (size_t i = 0; !s.failed && i < s.n; i++) {
		struct told *cur = &s.t[i];

		t = ntold > 0 ?
		    bsearch(cur, told, ntold, sizeof(*told), told_cmp) :
		    NULL;
		if (t == NULL) {
			/* First seen: its level now is where it starts. */
			log_debug("webhook_level", "node_id=%s level=%s told=0",
			    cur->node_id, level_name((enum level)cur->level));
			if (store_webhook_level_set(app.store, cur->node_id,
				cur->level, cur->reasons, now) == 0) {
				cur->at = now;
				told_loaded = told_add(cur->node_id, cur->level,
						  cur->reasons, now, NULL) == 0;
			}
			continue;
		}
		if (t->level == cur->level)
			continue;
		if (now - t->at < app.cfg.webhook_flap_seconds) {
			atomic_fetch_add(&flaps_held, 1);
			continue; /* told of late: the net change comes later */
		}
		tell(t, cur, now);
		t->level = cur->level;
		t->reasons = cur->reasons;
		t->at = now;
	}
	/* Added ones go to the end: sort again for the next lookups. */
	if (told_loaded && ntold > 0)
		qsort(told, ntold, sizeof(*told), told_cmp);
	free(s.t);
}

/* ---- delivery ------------------------------------------------------------ */

struct row {
	int64_t n;
	int	attempts;
	char   *url, *event, *body;
};

struct rows {
	struct row r[16];
	size_t	   n;
};

static int
due_row(const struct outbox_rec *o, void *arg)
{
	struct rows *l = arg;
	struct row  *r;

	if (l->n == sizeof(l->r) / sizeof(l->r[0]))
		return -1;
	r = &l->r[l->n];
	r->n = o->n;
	r->attempts = o->attempts;
	r->url = strdup(o->url);
	r->event = strdup(o->event);
	r->body = strdup(o->body);
	l->n++;
	return r->url && r->event && r->body ? 0 : -1;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
abort_on_stop(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return __atomic_load_n(&stopping, __ATOMIC_RELAXED);
}

/* Signs and posts one row: its HTTP status, or 0 with why in err. */
static long
post(const struct row *r, const char *secret, char *err, size_t errlen)
{
	crypto_auth_hmacsha256_state st;
	unsigned char		     mac[crypto_auth_hmacsha256_BYTES];
	char			     hex[2 * sizeof(mac) + 1], t[24];
	char			     h_sig[160], h_ev[96], h_id[96];
	struct curl_slist	    *hdr = NULL;
	CURL			    *c;
	CURLcode		     cc;
	long			     status = 0;
	const char		    *idp;

	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->body,
	    strlen(r->body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(h_sig, sizeof(h_sig), "X-VaultMesh-Signature: t=%s,v1=%s", t,
	    hex);
	snprintf(h_ev, sizeof(h_ev), "X-VaultMesh-Event: %s", r->event);
	idp = strstr(r->body, "\"id\":\"");
	snprintf(h_id, sizeof(h_id), "X-VaultMesh-Delivery: %.36s",
	    idp ? idp + 6 : "");
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return 0;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "User-Agent: vaultmesh-command-center");
	hdr = curl_slist_append(hdr, h_sig);
	hdr = curl_slist_append(hdr, h_ev);
	hdr = curl_slist_append(hdr, h_id);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	if ((cc = curl_easy_perform(c)) != CURLE_OK)
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
	else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		snprintf(err, errlen, "HTTP %ld", status);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	sodium_memzero(&st, sizeof(st));
	return status;
}

/* The wait before try number `tries` + 1: 1 s, 2 s, 4 s ... an hour. */
static int64_t
backoff(int tries)
{
	int64_t d = 1;

	for (int i = 1; i < tries && d < WEBHOOK_BACKOFF_MAX; i++)
		d *= 2;
	d = d > WEBHOOK_BACKOFF_MAX ? WEBHOOK_BACKOFF_MAX : d;
	return d + (int64_t)randombytes_uniform((uint32_t)(d / 4 + 1));
}

static void
deliver(const struct row *r)
{
	char	err[256], q[300], *secret = NULL;
	long	status;
	int64_t now;
	int	dead;

	pthread_mutex_lock(&file.mu);
	const struct endpoints *current = file.cur;
	for (size_t i = 0; current != NULL && i < current->n; i++)
		if (strcmp(current->e[i].url, r->url) == 0)
			secret = strdup(current->e[i].secret);
	pthread_mutex_unlock(&file.mu);
	if (secret == NULL) {
		/* The endpoint left the file: nobody to send it to. */
		(void)store_outbox_failed(app.store, r->n, time(NULL),
		    "the endpoint is no longer configured", 1);
		atomic_fetch_add(&sent_dead, 1);
		return;
	}
	status = post(r, secret, err, sizeof(err));
	sodium_memzero(secret, strlen(secret));
	free(secret);
	now = time(NULL);
	if (status >= 200 && status < 300) {
		(void)store_outbox_done(app.store, r->n, now);
		atomic_fetch_add(&sent_ok, 1);
		log_info("webhook_sent",
		    "n=%lld hook_event=%s url=%s status=%ld", (long long)r->n,
		    r->event, log_quote(q, sizeof(q), r->url), status);
		return;
	}
	if (__atomic_load_n(&stopping, __ATOMIC_RELAXED))
		return; /* cut by the stop: tried again after the start */
	dead = r->attempts + 1 >= WEBHOOK_TRIES;
	(void)store_outbox_failed(app.store, r->n,
	    now + backoff(r->attempts + 1), err, dead);
	atomic_fetch_add(dead ? &sent_dead : &sent_failed, 1);
	log_warn("webhook_failed",
	    "n=%lld hook_event=%s url=%s try=%d error=\"%s\"%s",
	    (long long)r->n, r->event, log_quote(q, sizeof(q), r->url),
	    r->attempts + 1, err, dead ? " msg=\"given up\"" : "");
}

static void *
run(void *arg)
{
	struct rows	l;
	struct timespec ts;
	int64_t		next_prune = 0, now;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!stopping && !woken) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
				break;
		}
		woken = 0;
		if (stopping) {
			pthread_mutex_unlock(&mu);
			break;
		}
		pthread_mutex_unlock(&mu);
		if (!replica_leads())
			continue;
		now = time(NULL);
		if (now >= next_prune) {
			(void)store_outbox_prune(app.store, now - 7 * 86400);
			next_prune = now + 3600;
		}
		memset(&l, 0, sizeof(l));
		(void)store_outbox_due(app.store, now, 16, due_row, &l);
		for (size_t i = 0; i < l.n; i++) {
			if (!__atomic_load_n(&stopping, __ATOMIC_RELAXED) &&
			    l.r[i].url && l.r[i].event && l.r[i].body)
				deliver(&l.r[i]);
			free(l.r[i].url);
			free(l.r[i].event);
			free(l.r[i].body);
		}
		if (l.n == sizeof(l.r) / sizeof(l.r[0])) {
			pthread_mutex_lock(&mu);
			woken = 1; /* more may be due */
			pthread_mutex_unlock(&mu);
		}
	}
	return NULL;
}

int
webhooks_start(void)
{
	if (pthread_create(&thread, NULL, run, NULL) != 0)
		return -1;
	started = 1;
	return 0;
}

void
webhooks_stop(void)
{
	pthread_mutex_lock(&mu);
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	if (started)
		pthread_join(thread, NULL);
	started = 0;
	hotfile_shutdown(&file);
	if (curl_ready)
		curl_global_cleanup();
	curl_ready = 0;
	free(told);
	told = NULL;
	ntold = captold = 0;
}

int
webhooks_metrics(struct buf *b)
{
	int64_t pending = 0, dead = 0;

	if (store_outbox_counts(app.store, &pending, &dead) == -1)
		pending = dead = -1;
	buf_printf(b,
	    "# HELP vaultmesh_webhook_deliveries_total Webhook requests by "
	    "result (dead: given up).\n"
	    "# TYPE vaultmesh_webhook_deliveries_total counter\n"
	    "vaultmesh_webhook_deliveries_total{result=\"ok\"} %llu\n"
	    "vaultmesh_webhook_deliveries_total{result=\"failed\"} %llu\n"
	    "vaultmesh_webhook_deliveries_total{result=\"dead\"} %llu\n"
	    "# HELP vaultmesh_webhook_outbox Webhook events in the outbox by "
	    "state.\n"
	    "# TYPE vaultmesh_webhook_outbox gauge\n"
	    "vaultmesh_webhook_outbox{state=\"pending\"} %lld\n"
	    "vaultmesh_webhook_outbox{state=\"dead\"} %lld\n"
	    "# HELP vaultmesh_webhook_flaps_held_total Attention changes held "
	    "back: within the flap window of the node's last event.\n"
	    "# TYPE vaultmesh_webhook_flaps_held_total counter\n"
	    "vaultmesh_webhook_flaps_held_total %llu\n",
	    (unsigned long long)atomic_load(&sent_ok),
	    (unsigned long long)atomic_load(&sent_failed),
	    (unsigned long long)atomic_load(&sent_dead), (long long)pending,
	    (long long)dead, (unsigned long long)atomic_load(&flaps_held));
	return buf_failed(b) ? -1 : 0;
}
