/*
 * Persisted state under VAULTMESH_ROOT. Every file is written 0600 through
 * file_write_atomic (temporary file, fsync, rename, fsync of the folder),
 * so a crash leaves either the old or the new content, never a mix.
 *
 *   node_id          this node's UUID, created on first start
 *   enroll_key       the secret this agent proves itself with when enrolling
 *                    (never sent anywhere else)
 *   node_token       the bearer token from enrollment (a secret)
 *   cc_ed25519.pub   the command center key pinned at enrollment (base64)
 *   last_seq         the last accepted command seq (decimal)
 *   spool/<id>.json  command results not yet acknowledged by the CC
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "command.h"
#include "defs.h"
#include "log.h"
#include "state.h"

static int
path_join(char *out, size_t n, const char *root, const char *name)
{
	int len = snprintf(out, n, "%s/%s", root, name);

	if (len < 0 || (size_t)len >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir -p with mode 0700 for every folder it creates. */
static int
mkdirs(const char *path)
{
	char   p[PATH_MAX];
	size_t n;

	if ((n = strlen(path)) == 0 || n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, path, n + 1);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Removes "*.tmp.*" leftovers of interrupted atomic writes in dir. */
static void
remove_tmp(const char *dir)
{
	DIR	      *d;
	struct dirent *e;
	char	       p[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp.") != NULL &&
		    path_join(p, sizeof(p), dir, e->d_name) == 0)
			(void)unlink(p);
	closedir(d);
}

/*
 * dir, made if missing (with its parents when parents), is a folder (not
 * a link to one when !parents) that only we may open: 0, or -1 with err.
 */
static int
own_dir(const char *dir, int parents, char *err, size_t errlen)
{
	struct stat st;
	int	    made;

	if (parents)
		made = mkdirs(dir);
	else
		made = mkdir(dir, 0700) == -1 && errno != EEXIST ? -1 : 0;
	if (made == -1 || (parents ? stat(dir, &st) : lstat(dir, &st)) == -1) {
		snprintf(err, errlen,
		    "VAULTMESH_ROOT: cannot create \"%.200s\": %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
		    "VAULTMESH_ROOT: \"%.200s\" is not a directory", dir);
		return -1;
	}
	/* The token and command output live here: nobody else may look in. */
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) == -1) {
		snprintf(err, errlen,
		    "VAULTMESH_ROOT: cannot make \"%.200s\" 0700: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
state_prepare(const char *root, char *err, size_t errlen)
{
	char spool[PATH_MAX];

	if (own_dir(root, 1, err, errlen) == -1)
		return -1;
	if (path_join(spool, sizeof(spool), root, "spool") == -1) {
		snprintf(err, errlen, "VAULTMESH_ROOT: \"%.200s\" is too long",
		    root);
		return -1;
	}
	if (own_dir(spool, 0, err, errlen) == -1)
		return -1;
	remove_tmp(root);
	remove_tmp(spool);
	return 0;
}

/* Reads a small state file, trailing whitespace stripped; NULL if absent. */
static char *
read_small(const char *root, const char *name, size_t max)
{
	char  p[PATH_MAX];
	char *s;

	if (path_join(p, sizeof(p), root, name) == -1)
		return NULL;
	if ((s = file_read(p, max, NULL)) != NULL)
		str_rtrim(s);
	return s;
}

static int
write_small(const char *root, const char *name, const char *s)
{
	char p[PATH_MAX];

	if (path_join(p, sizeof(p), root, name) == -1)
		return -1;
	return file_write_atomic(p, s, strlen(s), 0600);
}

/* An identity the agent keeps in a file of its root, made once. */
struct kept {
	const char *name; /* the file */
	size_t	    len;  /* its characters */
	int (*valid)(const char *s);
	const char *holds;	 /* what a valid one is, for an error */
	void (*make)(char *out); /* a new one, len + 1 bytes */
};

/*
 * The kept identity k into out (len + 1 bytes): read from its file, or
 * made and written there when there is none. 1 made, 0 read, -1 with err
 * (a damaged file is never replaced: the operator decides). Every copy is
 * wiped: an enroll key is a secret.
 */
static int
kept_file(const char *root, const struct kept *k, char *out, char *err,
    size_t errlen)
{
	char *s = NULL;
	char  line[64];
	int   rc = -1;

	if ((s = read_small(root, k->name, 256)) != NULL) {
		if (!k->valid(s)) {
			snprintf(err, errlen,
			    "VAULTMESH_ROOT: %s/%s does not "
			    "hold %s; fix or remove it",
			    root, k->name, k->holds);
			goto out;
		}
		memcpy(out, s, k->len + 1);
		rc = 0;
		goto out;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "VAULTMESH_ROOT: cannot read %s/%s: %s",
		    root, k->name, strerror(errno));
		goto out;
	}
	k->make(out);
	snprintf(line, sizeof(line), "%s\n", out);
	if (write_small(root, k->name, line) == -1) {
		snprintf(err, errlen, "VAULTMESH_ROOT: cannot write %s/%s: %s",
		    root, k->name, strerror(errno));
		sodium_memzero(out, k->len + 1);
		goto out;
	}
	rc = 1;
out:
	sodium_memzero(line, sizeof(line));
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
	return rc;
}

static void
new_node_id(char *out)
{
	uuid_generate(out);
}

int
state_node_id(const char *root, char out[UUID_STRLEN + 1], char *err,
    size_t errlen)
{
	static const struct kept k = { "node_id", UUID_STRLEN, uuid_valid,
		"a lowercase UUID", new_node_id };
	int			 rc;

	if ((rc = kept_file(root, &k, out, err, errlen)) == 1)
		log_info("node_id_created", "node_id=%s", out);
	return rc == -1 ? -1 : 0;
}

/* 1 if s is AGENT_ENROLL_KEY_LEN characters of base64url, no padding. */
static int
enroll_key_valid(const char *s)
{
	return str_base64url(s, AGENT_ENROLL_KEY_LEN);
}

static void
new_enroll_key(char *out)
{
	unsigned char raw[32];

	_Static_assert(sodium_base64_ENCODED_LEN(sizeof(raw),
			   sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
		AGENT_ENROLL_KEY_LEN + 1,
	    "AGENT_ENROLL_KEY_LEN is 32 bytes in unpadded base64url");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, AGENT_ENROLL_KEY_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

int
state_enroll_key(const char *root, char out[AGENT_ENROLL_KEY_LEN + 1],
    char *err, size_t errlen)
{
	static const struct kept k = { "enroll_key", AGENT_ENROLL_KEY_LEN,
		enroll_key_valid, "a 43-character key", new_enroll_key };
	int			 rc;

	_Static_assert(AGENT_ENROLL_KEY_LEN == 43, "the message says 43");
	if (*root == '\0') {
		snprintf(err, errlen,
		    "VAULTMESH_ROOT: empty path; cannot place enroll_key");
		return -1;
	}
	if ((rc = kept_file(root, &k, out, err, errlen)) == 1)
		log_info("enroll_key_created", "path=%s/enroll_key", root);
	return rc == -1 ? -1 : 0;
}

int
state_load_token(const char *root, char *out, size_t n)
{
	char  *s;
	size_t len;
	int    rc = -1;

	if ((s = read_small(root, "node_token", 4096)) == NULL)
		return errno == ENOENT ? 0 : -1;
	len = strlen(s);
	if (len == 0 || len > AGENT_TOKEN_MAX || len >= n ||
	    !str_printable(s, AGENT_TOKEN_MAX) || strchr(s, ' ') != NULL)
		goto out;
	memcpy(out, s, len + 1);
	rc = 1;
out:
	sodium_memzero(s, len);
	free(s);
	return rc;
}

int
state_save_token(const char *root, const char *token)
{
	return write_small(root, "node_token", token);
}

int
state_load_pubkey(const char *root, unsigned char pk[32], int64_t *version)
{
	char	 *s, *nl, *end;
	long long v = 0;
	int	  rc = -1;

	*version = 0;
	if ((s = read_small(root, "cc_ed25519.pub", 1024)) == NULL)
		return errno == ENOENT ? 0 : -1;
	/* The key, then (since key rotation) its version on a line. */
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		errno = 0;
		v = strtoll(nl + 1, &end, 10);
		if (errno != 0 || end == nl + 1 || *end != '\0' || v < 0)
			goto out;
	}
	if (b64_decode(s, pk, 32) == 32) {
		*version = v;
		rc = 1;
	}
out:
	free(s);
	return rc;
}

int
state_save_pubkey(const char *root, const unsigned char pk[32], int64_t version)
{
	char *s;
	char  text[96];
	int   rc = -1;

	if ((s = b64_encode(pk, 32)) == NULL)
		return -1;
	snprintf(text, sizeof(text), "%s\n%lld\n", s, (long long)version);
	/* Written whole and renamed over the old one: never half a key. */
	rc = write_small(root, "cc_ed25519.pub", text);
	free(s);
	return rc;
}

int
state_load_seq(const char *root, int64_t *seq)
{
	char	 *s, *end;
	long long v;
	int	  rc = -1;

	*seq = 0;
	if ((s = read_small(root, "last_seq", 64)) == NULL)
		return errno == ENOENT ? 0 : -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == 0 && end != s && *end == '\0' && v >= 0) {
		*seq = v;
		rc = 0;
	}
	free(s);
	return rc;
}

int
state_save_seq(const char *root, int64_t seq)
{
	char line[32];

	snprintf(line, sizeof(line), "%lld\n", (long long)seq);
	return write_small(root, "last_seq", line);
}

int
spool_name_valid(const char *name)
{
	char id[UUID_STRLEN + 1];

	if (strlen(name) != UUID_STRLEN + 5 ||
	    strcmp(name + UUID_STRLEN, ".json") != 0)
		return 0;
	memcpy(id, name, UUID_STRLEN);
	id[UUID_STRLEN] = '\0';
	return uuid_valid(id);
}

static int
spool_path(char *out, size_t n, const char *root, const char *command_id)
{
	int len;

	if (!uuid_valid(command_id)) {
		errno = EINVAL;
		return -1;
	}
	len = snprintf(out, n, "%s/spool/%s.json", root, command_id);
	if (len < 0 || (size_t)len >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
spool_write(const char *root, const char *command_id, const char *json,
    size_t len)
{
	char p[PATH_MAX];

	if (spool_path(p, sizeof(p), root, command_id) == -1)
		return -1;
	return file_write_atomic(p, json, len, 0600);
}

int
spool_has(const char *root, const char *command_id)
{
	char	    p[PATH_MAX];
	struct stat st;

	return spool_path(p, sizeof(p), root, command_id) == 0 &&
	    stat(p, &st) == 0;
}

struct spool_ent {
	char	       *id;
	struct timespec mtime;
};

static int
ent_cmp(const void *a, const void *b)
{
	const struct spool_ent *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
spool_list(const char *root, char ***ids, size_t *n)
{
	char		  dir[PATH_MAX], p[PATH_MAX];
	DIR		 *d = NULL;
	struct dirent	 *e;
	struct spool_ent *ents = NULL, *ne;
	struct stat	  st;
	size_t		  cnt = 0, cap = 0;
	int		  rc = -1;

	*ids = NULL;
	*n = 0;
	if (path_join(dir, sizeof(dir), root, "spool") == -1 ||
	    (d = opendir(dir)) == NULL)
		goto out;
	while ((e = readdir(d)) != NULL) {
		if (!spool_name_valid(e->d_name) ||
		    path_join(p, sizeof(p), dir, e->d_name) == -1 ||
		    lstat(p, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((ne = reallocarray(ents, cap, sizeof(*ents))) ==
			    NULL)
				goto out;
			ents = ne;
		}
		if ((ents[cnt].id = strndup(e->d_name, UUID_STRLEN)) == NULL)
			goto out;
		ents[cnt++].mtime = st.st_mtim;
	}
	if (cnt > 0)
		qsort(ents, cnt, sizeof(*ents), ent_cmp);
	if ((*ids = calloc(cnt + 1, sizeof(char *))) == NULL)
		goto out;
	for (size_t i = 0; i < cnt; i++)
		(*ids)[i] = ents[i].id;
	*n = cnt;
	cnt = 0;
	rc = 0;
out:
	for (size_t i = 0; i < cnt; i++)
		free(ents[i].id);
	free(ents);
	if (d != NULL)
		closedir(d);
	return rc;
}

void
spool_list_free(char **ids, size_t n)
{
	if (ids == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

char *
spool_read(const char *root, const char *command_id, size_t *len)
{
	char p[PATH_MAX];

	if (spool_path(p, sizeof(p), root, command_id) == -1)
		return NULL;
	return file_read(p, AGENT_BODY_MAX, len);
}

int
spool_delete(const char *root, const char *command_id)
{
	char p[PATH_MAX];

	if (spool_path(p, sizeof(p), root, command_id) == -1)
		return -1;
	if (unlink(p) == -1 && errno != ENOENT)
		return -1;
	return 0;
}
