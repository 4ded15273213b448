/*
 * HTTP through libcurl: the only file that includes curl.h.
 *
 * Each thread owns one client: one easy handle, reused so connections stay
 * open, driven by a private multi handle. The multi handle is there for
 * curl_multi_wakeup(): the signal thread wakes a transfer blocked in a long
 * poll, and the transfer loop sees the stop flag at once. The xferinfo
 * callback checks the same flag as a second line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "buf.h"
#include "client.h"
#include "defs.h"
#include "util.h"
#include "watchdog.h"

struct client {
	CURLM		 *multi;
	CURL		 *easy;
	const atomic_int *stop;
	struct buf	  body;
	char		  errbuf[CURL_ERROR_SIZE];
};

static const char *access_id, *access_secret;
static const char *ca_file, *ca_path;

void
client_set_access(const char *id, const char *secret)
{
	access_id = id;
	access_secret = secret;
}

void
client_set_tls(const char *file, const char *path)
{
	ca_file = file;
	ca_path = path;
}

/*
 * The command center URL goes through libcurl's own URL parser, the one
 * every request uses, so the scheme and host checked here are the ones the
 * agent connects to (a hand-made prefix check let "http://:8088",
 * "http://host:99999" and "http://[::1" through).
 */
int
client_url_parse(const char *url, struct cc_url *out, char *why, size_t whylen)
{
	CURLU	   *u = NULL;
	CURLUcode   uc;
	char	   *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	char	   *pass = NULL, *query = NULL, *frag = NULL, *norm = NULL;
	const char *auth;
	size_t	    alen, n;
	long	    pnum = -1;
	int	    rc = -1;

	/* The value is never echoed: it might hold a password (user:pw@). */
	memset(out, 0, sizeof(*out));
	/*
	 * libcurl would take a backslash as part of the user name and
	 * browsers as a '/': refuse it with controls and spaces so no reader
	 * of the setting can see another host in it.
	 */
	for (const char *s = url; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '\\') {
			snprintf(why, whylen,
			    "must be a URL like "
			    "https://cc.example.org, without spaces, control "
			    "characters or backslashes");
			goto out;
		}
	if ((u = curl_url()) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		snprintf(why, whylen, "not a valid URL (%s)",
		    curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(why, whylen, "must start with http:// or https://");
		goto out;
	}
	/* Credentials in the URL would end up in logs and agent-info. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		snprintf(why, whylen,
		    "must not hold a user name or password (user@host)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK ||
	    strchr(url, '?') != NULL || strchr(url, '#') != NULL) {
		snprintf(why, whylen, "must not hold a query or fragment");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0' || strcmp(host, "[]") == 0) {
		snprintf(why, whylen, "has no host");
		goto out;
	}
	/*
	 * libcurl takes port 0, and drops an empty one ("host:"), which is
	 * more likely a port left out than the default one meant.
	 */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
		pnum = strtol(port, NULL, 10);
	/* libcurl also takes "http:host"; the documented form has "//". */
	n = strlen(scheme);
	if (strncasecmp(url, scheme, n) != 0 ||
	    strncmp(url + n, "://", 3) != 0) {
		snprintf(why, whylen, "must start with http:// or https://");
		goto out;
	}
	auth = url + n + 3;
	alen = strcspn(auth, "/");
	if (pnum == 0 || (alen > 0 && auth[alen - 1] == ':')) {
		snprintf(why, whylen,
		    "needs a port from 1 to 65535 after the ':'");
		goto out;
	}
	if (strlen(host) >= sizeof(out->host)) {
		snprintf(why, whylen, "host name longer than %zu bytes",
		    sizeof(out->host) - 1);
		goto out;
	}
	/* Stored as libcurl normalized it: what was checked is what is used. */
	if (curl_url_get(u, CURLUPART_URL, &norm, 0) != CURLUE_OK ||
	    (out->url = strdup(norm)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	n = strlen(out->url);
	while (n > 0 && out->url[n - 1] == '/')
		out->url[--n] = '\0';
	out->https = strcmp(scheme, "https") == 0;
	snprintf(out->host, sizeof(out->host), "%s", host);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pass);
	curl_free(query);
	curl_free(frag);
	curl_free(norm);
	curl_url_cleanup(u);
	return rc;
}

int
client_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
client_global_cleanup(void)
{
	curl_global_cleanup();
}

struct client *
client_new(const atomic_int *stop)
{
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->stop = stop;
	if ((c->multi = curl_multi_init()) == NULL ||
	    (c->easy = curl_easy_init()) == NULL) {
		client_free(c);
		return NULL;
	}
	return c;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	buf_free(&c->body);
	free(c);
}

void
client_wakeup(struct client *c)
{
	if (c != NULL && c->multi != NULL)
		curl_multi_wakeup(c->multi);
}

void
http_resp_free(struct http_resp *rs)
{
	if (rs == NULL)
		return;
	free(rs->body);
	rs->body = NULL;
	rs->len = 0;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct client *c = arg;
	size_t	       n = size * nmemb; /* size is 1 per curl's docs */

	/* Over AGENT_BODY_MAX: returning short makes curl fail the transfer. */
	if (buf_add(&c->body, p, n) == -1)
		return 0;
	return n;
}

static int
on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
    curl_off_t uln)
{
	struct client *c = arg;

	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	return atomic_load(c->stop) ? 1 : 0;
}

/* Wipes and frees a header list (it may hold the bearer token). */
static void
headers_free(struct curl_slist *h)
{
	for (struct curl_slist *s = h; s != NULL; s = s->next)
		sodium_memzero(s->data, strlen(s->data));
	curl_slist_free_all(h);
}

static struct curl_slist *
headers_new(const struct http_req *rq)
{
	struct curl_slist *h = NULL, *n;
	char		   auth[AGENT_TOKEN_MAX + 32];

	if ((n = curl_slist_append(h, "Accept: application/json")) == NULL)
		goto fail;
	h = n;
	if (rq->body != NULL) {
		if ((n = curl_slist_append(h,
			 "Content-Type: application/json")) == NULL)
			goto fail;
		h = n;
	}
	/* No "Expect: 100-continue" round trip on bigger results. */
	if ((n = curl_slist_append(h, "Expect:")) == NULL)
		goto fail;
	h = n;
	if (access_id != NULL && access_secret != NULL) {
		char line[300];

		snprintf(line, sizeof(line), "CF-Access-Client-Id: %s",
		    access_id);
		n = curl_slist_append(h, line);
		if (n == NULL)
			goto fail;
		h = n;
		snprintf(line, sizeof(line), "CF-Access-Client-Secret: %s",
		    access_secret);
		n = curl_slist_append(h, line);
		sodium_memzero(line, sizeof(line));
		if (n == NULL)
			goto fail;
		h = n;
	}
	if (rq->bearer != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    rq->bearer);
		n = curl_slist_append(h, auth);
		sodium_memzero(auth, sizeof(auth));
		if (n == NULL)
			goto fail;
		h = n;
	}
	return h;
fail:
	headers_free(h);
	return NULL;
}

enum client_rc
client_request(struct client *c, const struct http_req *rq,
    struct http_resp *rs, char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	CURLMsg		  *msg;
	CURLcode	   res = CURLE_OK;
	char		  *peer = NULL;
	enum client_rc	   rc = CLIENT_FAIL;
	int		   running = 1, added = 0, left;

	memset(rs, 0, sizeof(*rs));
	buf_free(&c->body);
	buf_init(&c->body, AGENT_BODY_MAX);
	if (atomic_load(c->stop)) {
		rc = CLIENT_STOPPED;
		goto out;
	}
	if ((hdrs = headers_new(rq)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	watchdog_expect(rq->timeout_ms); /* libcurl gives up by then */
	curl_easy_reset(c->easy);
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->easy, CURLOPT_URL, rq->url);
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, AGENT_PROG "/" VM_VERSION);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    rq->timeout_ms < 10000 ? rq->timeout_ms : 10000L);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->easy, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
	/*
	 * The CAs to verify the CC with: the operator's file, else the
	 * system's hashed directory, where OpenSSL reads only the CA that
	 * signed the peer (libcurl's default bundle would parse ~140
	 * certificates into each handle's store: about 1.2 MiB each).
	 */
	if (ca_file != NULL) {
		curl_easy_setopt(c->easy, CURLOPT_CAINFO, ca_file);
		curl_easy_setopt(c->easy, CURLOPT_CAPATH, NULL);
	} else if (ca_path != NULL) {
		curl_easy_setopt(c->easy, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c->easy, CURLOPT_CAPATH, ca_path);
	} /* else libcurl's defaults */
	if (strcmp(rq->method, "POST") == 0) {
		curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->body_len);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS,
		    rq->body != NULL ? rq->body : "");
	} else
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);

	if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_add_handle failed");
		goto out;
	}
	added = 1;
	while (running) {
		if (atomic_load(c->stop)) {
			rc = CLIENT_STOPPED;
			goto out;
		}
		if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
			snprintf(err, errlen, "curl_multi_perform failed");
			goto out;
		}
		/*
		 * libcurl wakes the poll for its own timers (the transfer's
		 * timeout), curl_multi_wakeup() for a stop: an idle long poll
		 * costs no wake-up a second.
		 */
		if (running &&
		    curl_multi_poll(c->multi, NULL, 0, 60000, NULL) !=
			CURLM_OK) {
			snprintf(err, errlen, "curl_multi_poll failed");
			goto out;
		}
	}
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			res = msg->data.result;
	if (atomic_load(c->stop)) {
		rc = CLIENT_STOPPED;
		goto out;
	}
	if (res != CURLE_OK) {
		if (res == CURLE_WRITE_ERROR && buf_failed(&c->body))
			snprintf(err, errlen, "answer larger than %d bytes",
			    AGENT_BODY_MAX);
		else
			snprintf(err, errlen, "%s",
			    c->errbuf[0] != '\0' ? c->errbuf :
						   curl_easy_strerror(res));
		goto out;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &rs->status);
	/* Who answered: probes.c believes /ready only from cloudflared. */
	if (curl_easy_getinfo(c->easy, CURLINFO_PRIMARY_IP, &peer) ==
		CURLE_OK &&
	    peer != NULL)
		snprintf(rs->peer_ip, sizeof(rs->peer_ip), "%s", peer);
	curl_easy_getinfo(c->easy, CURLINFO_PRIMARY_PORT, &rs->peer_port);
	if ((rs->body = buf_take(&c->body, &rs->len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = CLIENT_OK;
out:
	if (added)
		curl_multi_remove_handle(c->multi, c->easy);
	/* Drop header pointers before the list goes away. */
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	headers_free(hdrs);
	buf_free(&c->body);
	return rc;
}
