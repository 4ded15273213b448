/*
 * The unit tests' shared helpers (testlib.h). Built once and linked into
 * every unit test binary, so it includes common/ headers only.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
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

#include "testlib.h"
#include "util.h"

extern char **environ;

const char *
tl_tmp_base(void)
{
	if (access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return tl_exec_base();
}

const char *
tl_exec_base(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && *t != '\0' ? t : "/tmp";
}

int
tl_mkdtemp(char *dir, size_t n, const char *where, const char *prefix)
{
	int len, rc = -1;

	len = snprintf(dir, n, "%s/%s.XXXXXX",
	    where != NULL ? where : tl_tmp_base(), prefix);
	if (len < 0 || (size_t)len >= n) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if (mkdtemp(dir) == NULL)
		goto out;
	rc = 0;
out:
	return rc;
}

static int
remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

int
tl_rmtree(const char *path)
{
	/* Depth first, and links removed rather than followed. */
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == -1)
		return errno == ENOENT ? 0 : -1;
	return 0;
}

void
tl_mkdirs(const char *path)
{
	char p[1024];

	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		fail_msg("path too long: %s", path);
	for (char *s = p + 1; *s != '\0'; s++)
		if (*s == '/') {
			*s = '\0';
			(void)mkdir(p, 0755);
			*s = '/';
		}
	(void)mkdir(p, 0755);
}

void
tl_write(const char *dir, const char *rel, const char *text, unsigned mode)
{
	char p[1024], *slash;
	int  len;

	len = rel != NULL ? snprintf(p, sizeof(p), "%s/%s", dir, rel) :
			    snprintf(p, sizeof(p), "%s", dir);
	if (len < 0 || (size_t)len >= sizeof(p))
		fail_msg("path too long: %s/%s", dir, rel ? rel : "");
	if ((slash = strrchr(p, '/')) != NULL && slash != p) {
		*slash = '\0';
		tl_mkdirs(p);
		*slash = '/';
	}
	if (file_write_atomic(p, text, strlen(text), mode) == -1)
		fail_msg("write %s: %s", p, strerror(errno));
}

const char *
tl_script(const char *dir, const char *name, const char *body)
{
	static char p[1024];
	char	    text[8192];

	if ((size_t)snprintf(text, sizeof(text), "#!/bin/sh\n%s", body) >=
	    sizeof(text))
		fail_msg("script %s too long", name);
	tl_write(dir, name, text, 0755);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

void
tl_tmp_file(char *out, size_t n, const char *prefix)
{
	int fd;

	snprintf(out, n, "%s/%s.XXXXXX", tl_tmp_base(), prefix);
	if ((fd = mkstemp(out)) == -1)
		fail_msg("mkstemp %s: %s", out, strerror(errno));
	close(fd);
}

void
tl_unsetenv_prefix(const char *prefix)
{
	char   name[256];
	size_t plen = strlen(prefix);
	int    again = 1;

	while (again) {
		again = 0;
		for (char **e = environ; e != NULL && *e != NULL; e++) {
			size_t n = strcspn(*e, "=");

			if (strncmp(*e, prefix, plen) != 0 || n >= sizeof(name))
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1; /* environ changed: rescan */
			break;
		}
	}
}

void
tl_setenvs(const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	for (const char *kv = first; kv != NULL;
	     kv = va_arg(ap, const char *)) {
		const char *eq = strchr(kv, '=');
		char	    name[256];

		if (eq == NULL || (size_t)(eq - kv) >= sizeof(name))
			fail_msg("tl_setenvs: not NAME=value: \"%s\"", kv);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
		assert_int_equal(setenv(name, eq + 1, 1), 0);
	}
	va_end(ap);
}

int
tl_dir_init(struct tl_dir *t, const char *prefix, const char *file)
{
	if (tl_mkdtemp(t->dir, sizeof(t->dir), NULL, prefix) == -1)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, file);
	return 0;
}

int
tl_dir_fini(struct tl_dir *t)
{
	return tl_rmtree(t->dir);
}

int
tl_tree_init(struct tl_tree *t, const char *prefix)
{
	int rc = -1;

	if (tl_mkdtemp(t->base, sizeof(t->base), tl_exec_base(), prefix) == -1)
		goto out;
	snprintf(t->tree, sizeof(t->tree), "%s/tree", t->base);
	snprintf(t->bin, sizeof(t->bin), "%s/bin", t->base);
	tl_mkdirs(t->tree);
	tl_mkdirs(t->bin);
	rc = 0;
out:
	return rc;
}

int
tl_tree_fini(struct tl_tree *t)
{
	return tl_rmtree(t->base);
}

void
tl_tree_empty(struct tl_tree *t)
{
	if (tl_rmtree(t->tree) == -1)
		fail_msg("rm -rf %s: %s", t->tree, strerror(errno));
	tl_mkdirs(t->tree);
}

void *
tl_state_new(void **state, size_t size)
{
	void *p = calloc(1, size);

	if (p == NULL)
		fail_msg("out of memory");
	*state = p;
	return p;
}

int
tl_state_free(void **state)
{
	free(*state);
	return 0;
}

int
tl_dir_setup(void **state)
{
	struct tl_dir *t = tl_state_new(state, sizeof(*t));

	return tl_dir_init(t, "vm-unit", "file");
}

int
tl_dir_teardown(void **state)
{
	struct tl_dir *t = *state;
	int	       rc = tl_dir_fini(t);

	free(t);
	return rc;
}

int
tl_sodium_setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

void
tl_expect_split(int (*pred)(const char *), const char *what,
    const char *const *yes, size_t nyes, const char *const *no, size_t nno)
{
	for (size_t i = 0; i < nyes + nno; i++) {
		const char *s = i < nyes ? yes[i] : no[i - nyes];
		int	    want = i < nyes;

		if (!pred(s) != !want)
			fail_msg("%s(\"%s\") is %s", what, s ? s : "(null)",
			    want ? "false" : "true");
	}
}

void
tl_expect_all(const char *s, const char *const *what, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(s, what[i]) == NULL)
			fail_msg("no \"%s\" in: %s", what[i], s);
}

void
tl_expect_none(const char *s, const char *const *what, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(s, what[i]) != NULL)
			fail_msg("\"%s\" in: %s", what[i], s);
}

size_t
tl_count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

char *
tl_take(struct buf *b)
{
	char *s;

	assert_false(buf_failed(b));
	s = buf_take(b, NULL);
	assert_non_null(s);
	return s;
}

/* f's string member key, "" when it has none. */
static const char *
member(json_t *f, const char *key)
{
	const char *s = json_string_value(json_object_get(f, key));

	return s != NULL ? s : "";
}

json_t *
tl_finding(json_t *findings, const char *id, const char *severity)
{
	size_t	i;
	json_t *f, *found = NULL;

	json_array_foreach(findings, i,
	    f) if (strcmp(member(f, "id"), id) == 0 &&
	    (severity == NULL || strcmp(member(f, "severity"), severity) == 0))
	{
		found = f;
		break;
	}
	return found;
}

const char *
tl_detail(json_t *f)
{
	if (f == NULL)
		fail_msg("finding not there");
	return member(f, "detail");
}

size_t
tl_count_findings(json_t *findings, const char *id)
{
	size_t	i, n = 0;
	json_t *f;

	json_array_foreach(findings, i, f) n +=
	    strcmp(member(f, "id"), id) == 0;
	return n;
}
