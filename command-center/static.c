/*
 * static: the stylesheet and htmx, compiled into the program, served at
 * paths that change with their content, as they are or precompressed.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "static.h"

/*
 * build/gen/htmx.c, from the npm package pinned in package-lock.json, and
 * build/gen/vm_css.c: each as it is and compressed at build time
 * (scripts/embed.sh).
 */
#define EMBEDDED(n)                                                 \
	extern const unsigned char n[], n##_gz[], n##_br[];         \
	extern const size_t	   n##_len, n##_gz_len, n##_br_len; \
	extern const char	   n##_version[]
EMBEDDED(htmx_js);

EMBEDDED(vm_css);

/* The stylesheet's path changes with its content (its hash, at build). */
static char css_path[48], htmx_path[64];

static void
static_paths_init(void)
{
	snprintf(css_path, sizeof(css_path), "/static/vm-%.8s.css",
	    vm_css_version);
	snprintf(htmx_path, sizeof(htmx_path), "/static/htmx-%s.min.js",
	    htmx_js_version);
}

static pthread_once_t static_once = PTHREAD_ONCE_INIT;

const char *
static_css_path(void)
{
	pthread_once(&static_once, static_paths_init);
	return css_path;
}

const char *
static_htmx_path(void)
{
	pthread_once(&static_once, static_paths_init);
	return htmx_path;
}

/* One embedded file in its three encodings. */
struct asset {
	const char	    *ctype;
	const unsigned char *raw, *gz, *br;
	const size_t	    *raw_len, *gz_len, *br_len;
};

static const struct asset asset_css = {
	"text/css; charset=utf-8",
	vm_css,
	vm_css_gz,
	vm_css_br,
	&vm_css_len,
	&vm_css_gz_len,
	&vm_css_br_len,
};
static const struct asset asset_htmx = {
	"text/javascript; charset=utf-8",
	htmx_js,
	htmx_js_gz,
	htmx_js_br,
	&htmx_js_len,
	&htmx_js_gz_len,
	&htmx_js_br_len,
};

/* 1 if the Accept-Encoding list names coding with a q above zero. */
static int
accepts(const char *ae, const char *coding)
{
	size_t n = strlen(coding);

	for (const char *p = ae; p != NULL && *p != '\0';) {
		p += strspn(p, " \t,");
		if (strncasecmp(p, coding, n) == 0 &&
		    strchr(" \t;,", p[n] != '\0' ? p[n] : ',') != NULL) {
			const char *q = p + n;

			q += strspn(q, " \t");
			if (*q != ';')
				return 1;
			q += 1 + strspn(q + 1, " \t");
			/* "q=0", "q=0.0", "q=0.00": refused. */
			return !(strncasecmp(q, "q=0", 3) == 0 &&
			    strspn(q + 3, ".0") == strcspn(q + 3, ",; \t"));
		}
		p = strchr(p, ',');
	}
	return 0;
}

/* The asset as brotli, gzip or as it is, whichever the client takes. */
static void
serve_asset(struct req *r, const struct asset *a)
{
	const char *ae = req_header(r, "Accept-Encoding");

	if (ae != NULL && accepts(ae, "br"))
		resp_static(r, a->ctype, a->br, *a->br_len, "br");
	else if (ae != NULL && accepts(ae, "gzip"))
		resp_static(r, a->ctype, a->gz, *a->gz_len, "gzip");
	else
		resp_static(r, a->ctype, a->raw, *a->raw_len, NULL);
}

void
h_static(struct req *r)
{
	const char *path = req_path(r);

	if (strcmp(path, static_htmx_path()) == 0)
		serve_asset(r, &asset_htmx);
	else if (strcmp(path, static_css_path()) == 0)
		serve_asset(r, &asset_css);
	else
		resp_error(r, 404, "not_found", "no such file");
}

/* GET /static/vm.css: the stylesheet under its old name, never cached. */
void
h_static_css(struct req *r)
{
	struct buf b;

	buf_init(&b, *asset_css.raw_len + 1);
	buf_add(&b, vm_css, vm_css_len);
	resp_css(r, &b);
}
