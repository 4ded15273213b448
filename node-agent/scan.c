/*
 * sovereign-scan: a table of checks, each adding findings
 * {"id", "severity", "title", "detail"} to one array. To add a check, write
 * a function and add a row to checks[] (or a row to sshd_rules[] for an
 * sshd_config keyword).
 *
 * System files are read under a prefix (VAULTMESH_SCAN_ROOT, "/" normally)
 * so tests can scan fixture trees. Files are opened only when lstat() says
 * they are regular files of bounded size: a FIFO or a huge file planted in
 * the tree cannot stall or bloat the scan.
 */
#include <sys/stat.h>

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"

#define SCAN_FILE_MAX	(1024 * 1024)
#define SSHD_DEPTH_MAX	8

struct scan_ctx {
	char		 prefix[AGENT_PATH_MAX];	/* "" for "/" */
	const char	*vm_root;
	json_t		*findings;
	int		 failed;
};

static void __attribute__((format(printf, 5, 6)))
finding(struct scan_ctx *s, const char *id, const char *severity,
    const char *title, const char *fmt, ...)
{
	char	 detail[512];
	char	*clean;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* Paths come from the file system: keep the JSON valid UTF-8. */
	if ((clean = utf8_sanitize(detail, strlen(detail))) == NULL ||
	    json_array_append_new(s->findings, json_pack("{s:s,s:s,s:s,s:s}",
	    "id", id, "severity", severity, "title", title, "detail",
	    clean)) == -1)
		s->failed = 1;
	free(clean);
}

/* ---- the agent's own state ------------------------------------------- */

static void
check_vm_root(struct scan_ctx *s)
{
	static const struct {
		const char	*name;
		mode_t		 bad;		/* permission bits that must be off */
		const char	*id;
		const char	*severity;
		const char	*title;
	} files[] = {
		{ "node_token", 077, "vaultmesh_token_exposed", "high",
		  "The node token is readable or writable by other users" },
		{ "cc_ed25519.pub", 022, "vaultmesh_pinned_key_writable", "high",
		  "The pinned command center key is writable by other users" },
		{ "last_seq", 022, "vaultmesh_seq_writable", "medium",
		  "The replay counter is writable by other users" },
	};
	struct stat	 st;
	char		 p[PATH_MAX];

	if (lstat(s->vm_root, &st) == -1)
		return;
	if ((st.st_mode & 077) != 0)
		finding(s, "vaultmesh_root_open", "high",
		    "The VaultMesh state folder is open to other users",
		    "%s has mode %04o; expected 0700", s->vm_root,
		    (unsigned)(st.st_mode & 07777));
	if (st.st_uid != geteuid())
		finding(s, "vaultmesh_root_owner", "medium",
		    "The VaultMesh state folder belongs to another user",
		    "%s is owned by uid %u, the agent runs as uid %u",
		    s->vm_root, (unsigned)st.st_uid, (unsigned)geteuid());
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", s->vm_root, files[i].name);
		if (lstat(p, &st) == -1)
			continue;
		if (S_ISLNK(st.st_mode))
			finding(s, "vaultmesh_state_symlink", "high",
			    "A VaultMesh state file is a symbolic link",
			    "%s is a symlink", p);
		else if ((st.st_mode & files[i].bad) != 0)
			finding(s, files[i].id, files[i].severity,
			    files[i].title, "%s has mode %04o%s", p,
			    (unsigned)(st.st_mode & 07777),
			    (st.st_mode & 004) ? " (world-readable)" : "");
	}
}

/* ---- sshd_config --------------------------------------------------------- */

/* One keyword: a finding when its effective value is bad. */
static const struct sshd_rule {
	const char	*keyword;
	const char	*bad;		/* case-insensitive value */
	const char	*deflt;		/* OpenSSH's default */
	const char	*id;
	const char	*severity;
	const char	*title;
} sshd_rules[] = {
	{ "PermitRootLogin", "yes", "prohibit-password", "ssh_root_login",
	  "critical", "SSH allows root to log in with a password" },
	{ "PermitEmptyPasswords", "yes", "no", "ssh_empty_passwords", "high",
	  "SSH accepts empty passwords" },
	{ "PasswordAuthentication", "yes", "yes", "ssh_password_auth",
	  "medium", "SSH accepts password logins" },
};
#define SSHD_NRULES (sizeof(sshd_rules) / sizeof(sshd_rules[0]))

struct sshd_conf {
	char	 val[SSHD_NRULES][64];
	char	 where[SSHD_NRULES][128];
	int	 stop;		/* a Match block: the rest is conditional */
	int	 files;
};

/* The next whitespace- or '='-separated word of *sp, unquoted. */
static char *
next_word(char **sp)
{
	char *s = *sp, *w;

	while (*s == ' ' || *s == '\t' || *s == '=')
		s++;
	if (*s == '\0')
		return NULL;
	if (*s == '"') {
		w = ++s;
		while (*s != '\0' && *s != '"')
			s++;
	} else {
		w = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '=')
			s++;
	}
	if (*s != '\0')
		*s++ = '\0';
	*sp = s;
	return w;
}

static void sshd_file(struct scan_ctx *, const char *, struct sshd_conf *,
    int);

/* Include: relative patterns are under /etc/ssh, as sshd does. */
static void
sshd_include(struct scan_ctx *s, const char *pat, struct sshd_conf *c,
    int depth)
{
	char	 p[PATH_MAX];
	glob_t	 g;

	snprintf(p, sizeof(p), "%s%s%s", s->prefix,
	    pat[0] == '/' ? "" : "/etc/ssh/", pat);
	memset(&g, 0, sizeof(g));
	if (glob(p, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc && !c->stop; i++)
			sshd_file(s, g.gl_pathv[i], c, depth + 1);
	globfree(&g);
}

static void
sshd_file(struct scan_ctx *s, const char *path, struct sshd_conf *c,
    int depth)
{
	struct stat	 st;
	char		*text = NULL, *line, *next, *kw, *v;

	if (depth > SSHD_DEPTH_MAX || lstat(path, &st) == -1 ||
	    !S_ISREG(st.st_mode) || st.st_size > SCAN_FILE_MAX ||
	    (text = file_read(path, SCAN_FILE_MAX, NULL)) == NULL)
		goto out;
	c->files++;
	for (line = text; line != NULL && !c->stop; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		str_rtrim(line);
		if ((kw = next_word(&line)) == NULL || kw[0] == '#')
			continue;
		if (strcasecmp(kw, "Match") == 0) {
			c->stop = 1;
			break;
		}
		if (strcasecmp(kw, "Include") == 0) {
			while ((v = next_word(&line)) != NULL && !c->stop)
				sshd_include(s, v, c, depth);
			continue;
		}
		if ((v = next_word(&line)) == NULL)
			continue;
		/* sshd keeps the first value it reads for a keyword. */
		for (size_t i = 0; i < SSHD_NRULES; i++)
			if (strcasecmp(kw, sshd_rules[i].keyword) == 0 &&
			    c->val[i][0] == '\0') {
				snprintf(c->val[i], sizeof(c->val[i]), "%s", v);
				snprintf(c->where[i], sizeof(c->where[i]), "%s",
				    path + strlen(s->prefix));
			}
	}
out:
	free(text);
}

static void
check_sshd(struct scan_ctx *s)
{
	struct sshd_conf	 c;
	char			 p[PATH_MAX];

	memset(&c, 0, sizeof(c));
	snprintf(p, sizeof(p), "%s/etc/ssh/sshd_config", s->prefix);
	sshd_file(s, p, &c, 0);
	if (c.files == 0)
		return;		/* no sshd configuration: nothing to judge */
	for (size_t i = 0; i < SSHD_NRULES; i++) {
		const struct sshd_rule	*r = &sshd_rules[i];
		const char		*v = c.val[i][0] != '\0' ? c.val[i] :
					    r->deflt;

		if (strcasecmp(v, r->bad) != 0)
			continue;
		if (c.val[i][0] != '\0')
			finding(s, r->id, r->severity, r->title, "%s %s in %s",
			    r->keyword, v, c.where[i]);
		else
			finding(s, r->id, r->severity, r->title, "%s is not set "
			    "and OpenSSH defaults to %s", r->keyword, v);
	}
}

/* ---- the table ------------------------------------------------------------ */

static const struct scan_check {
	const char	*name;
	void		(*run)(struct scan_ctx *);
} checks[] = {
	{ "vaultmesh_root", check_vm_root },
	{ "sshd_config", check_sshd },
};

json_t *
scan_run(const char *scan_root, const char *vm_root, char *err,
    size_t errlen)
{
	struct scan_ctx	 s;
	size_t		 n;
	json_t		*out = NULL;

	memset(&s, 0, sizeof(s));
	n = strlen(scan_root);
	while (n > 0 && scan_root[n - 1] == '/')
		n--;
	if (n >= sizeof(s.prefix)) {
		snprintf(err, errlen, "scan root too long");
		goto out;
	}
	memcpy(s.prefix, scan_root, n);
	s.prefix[n] = '\0';
	s.vm_root = vm_root;
	if ((s.findings = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		checks[i].run(&s);
	if (s.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	out = s.findings;
	s.findings = NULL;
out:
	json_decref(s.findings);
	return out;
}
