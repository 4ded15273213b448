/*
 * sovereign-scan's built-in checks of the host: the agent's own state,
 * sshd's effective configuration, kernel settings, services, listening
 * sockets and pending upgrades. Each reads system files under the scan
 * prefix (scan.h) and reports what it saw, with file and line, never a
 * guess: what cannot be read is skipped or reported as "info".
 *
 * Finding ids are stable, dotted "<area>.<what>": the command center and
 * operators key on them, so an id is never reused for something else.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "defs.h"
#include "scan.h"

/* ---- the agent's own state ------------------------------------------- */

#define WALK_DEPTH_MAX 6
#define WALK_ENTRIES_MAX 10000
#define WALK_REPORT_MAX 20

struct walk {
	struct scan_ctx *s;
	size_t		 entries;
	size_t		 reported;
	size_t		 more; /* world-writable, not reported */
};

/* Reports world-writable entries under dir (symlinks not followed). */
static void
walk_writable(struct walk *w, const char *dir, int depth)
{
	DIR	      *d = NULL;
	struct dirent *e;
	struct stat    st;
	char	       p[AGENT_PATH_MAX + 256];

	if (depth > WALK_DEPTH_MAX || (d = opendir(dir)) == NULL)
		goto out;
	while ((e = readdir(d)) != NULL && w->entries < WALK_ENTRIES_MAX) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		w->entries++;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
			(int)sizeof(p) ||
		    lstat(p, &st) == -1)
			continue;
		/* A symlink's own mode means nothing; its target is elsewhere. */
		if (!S_ISLNK(st.st_mode) && (st.st_mode & S_IWOTH) != 0) {
			if (w->reported < WALK_REPORT_MAX) {
				scan_finding(w->s, "agent.world_writable",
				    "high",
				    "A file under VAULTMESH_ROOT is world-writable",
				    "Remove write permission for others (chmod "
				    "o-w) and check who changed it.",
				    "%s has mode %04o", p,
				    (unsigned)(st.st_mode & 07777));
				w->reported++;
			} else
				w->more++;
		}
		if (S_ISDIR(st.st_mode))
			walk_writable(w, p, depth + 1);
	}
out:
	if (d != NULL)
		closedir(d);
}

void
scan_check_agent(struct scan_ctx *s)
{
	/* The state files whose exposure matters, and how. */
	static const struct {
		const char *name;
		mode_t	    bad; /* permission bits that must be off */
		const char *id;
		const char *severity;
		const char *title;
		const char *remediation;
	} files[] = {
		{ "node_token", 077, "agent.token_exposed", "high",
		    "The node token is readable or writable by other users",
		    "chmod 0600 the token; anyone who read it can act as this "
		    "node: revoke and re-approve the node on the command center." },
		{ "cc_ed25519.pub", 022, "agent.pinned_key_writable", "high",
		    "The pinned command center key is writable by other users",
		    "chmod 0600 the key and compare it with the command center's; "
		    "whoever can replace it can sign commands for this node." },
		{ "last_seq", 022, "agent.seq_writable", "medium",
		    "The replay counter is writable by other users",
		    "chmod 0600 the file; lowering it would let old commands "
		    "replay." },
	};
	struct walk w;
	struct stat st;
	char	    p[AGENT_PATH_MAX + 64];
	const char *root = s->o->vm_root;

	/* stat: a symlinked root is used through its link, so judge the target. */
	if (root == NULL || stat(root, &st) == -1)
		return; /* no state yet: nothing to judge */
	if ((st.st_mode & 077) != 0)
		scan_finding(s, "agent.root_exposed", "high",
		    "The VaultMesh state folder is open to other users",
		    "chmod 0700 the folder (the agent creates it so).",
		    "%s has mode %04o; expected 0700", root,
		    (unsigned)(st.st_mode & 07777));
	if (st.st_uid != geteuid())
		scan_finding(s, "agent.root_owner", "medium",
		    "The VaultMesh state folder belongs to another user",
		    "chown the folder to the user the agent runs as.",
		    "%s is owned by uid %u, the agent runs as uid %u", root,
		    (unsigned)st.st_uid, (unsigned)geteuid());
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, files[i].name);
		if (lstat(p, &st) == -1)
			continue;
		if (S_ISLNK(st.st_mode))
			scan_finding(s, "agent.state_symlink", "high",
			    "A VaultMesh state file is a symbolic link",
			    "Replace the link by the file it points to, after "
			    "checking that file; the agent never makes links.",
			    "%s is a symlink", p);
		else if ((st.st_mode & files[i].bad) != 0)
			scan_finding(s, files[i].id, files[i].severity,
			    files[i].title, files[i].remediation,
			    "%s has mode %04o%s", p,
			    (unsigned)(st.st_mode & 07777),
			    (st.st_mode & 004) ? " (world-readable)" : "");
	}
	memset(&w, 0, sizeof(w));
	w.s = s;
	walk_writable(&w, root, 0);
	if (w.more > 0)
		scan_finding(s, "agent.world_writable", "high",
		    "More files under VAULTMESH_ROOT are world-writable",
		    "Run find on the folder with -perm -0002 and fix them all.",
		    "%zu more world-writable entries under %s", w.more, root);
}

/* ---- sshd_config ------------------------------------------------------- */

#define SSHD_DEPTH_MAX 16 /* as sshd's READCONF_MAX_DEPTH */
#define SSHD_FILES_MAX 256

/* One keyword: a finding when its effective value is the bad one. */
static const struct sshd_rule {
	const char *keyword;
	const char *bad;   /* case-insensitive value */
	const char *deflt; /* OpenSSH's default */
	const char *id;
	const char *severity;
	const char *title;
	const char *remediation;
} sshd_rules[] = {
	{ "PermitRootLogin", "yes", "prohibit-password",
	    "ssh.permit_root_login", "critical",
	    "SSH allows root to log in with a password",
	    "Set PermitRootLogin no (or prohibit-password) in the first file "
	    "sshd reads it from, then: sshd -t && systemctl reload ssh" },
	{ "PasswordAuthentication", "yes", "yes", "ssh.password_authentication",
	    "high", "SSH accepts password logins",
	    "Set PasswordAuthentication no once every user has a key, then: "
	    "sshd -t && systemctl reload ssh" },
	{ "PermitEmptyPasswords", "yes", "no", "ssh.permit_empty_passwords",
	    "critical", "SSH accepts empty passwords",
	    "Set PermitEmptyPasswords no, then: sshd -t && systemctl reload "
	    "ssh" },
};
#define SSHD_NRULES (sizeof(sshd_rules) / sizeof(sshd_rules[0]))

struct sshd_conf {
	char val[SSHD_NRULES][64];
	char where[SSHD_NRULES][AGENT_PATH_MAX + 16]; /* file:line */
	int  files;
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

static void sshd_file(struct scan_ctx *, const char *, struct sshd_conf *, int);

/*
 * Include: patterns are glob(3)bed in order, relative ones under /etc/ssh
 * as sshd does, all under the prefix (whose own glob characters are
 * escaped, so a fixture path cannot turn into a pattern).
 */
static void
sshd_include(struct scan_ctx *s, const char *pat, struct sshd_conf *c,
    int depth)
{
	char   p[2 * AGENT_PATH_MAX + 64];
	size_t o = 0;
	glob_t g;

	for (const char *q = s->prefix; *q != '\0' && o + 2 < sizeof(p); q++) {
		if (strchr("*?[]\\", *q) != NULL)
			p[o++] = '\\';
		p[o++] = *q;
	}
	p[o] = '\0';
	if (snprintf(p + o, sizeof(p) - o, "%s%s",
		pat[0] == '/' ? "" : "/etc/ssh/", pat) >= (int)(sizeof(p) - o))
		return;
	memset(&g, 0, sizeof(g));
	if (glob(p, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			sshd_file(s, g.gl_pathv[i], c, depth + 1);
	globfree(&g);
}

/*
 * One file of sshd's configuration. A Match block lasts to the end of the
 * file it is in (sshd restores the global context after an Include), and
 * its lines, Includes too, are conditional: they never set the global
 * value, which is what matters for everyone (as `sshd -T` without -C).
 */
static void
sshd_file(struct scan_ctx *s, const char *path, struct sshd_conf *c, int depth)
{
	char	*text = NULL, *cur, *line, *kw, *v;
	unsigned lineno = 0;

	if (depth > SSHD_DEPTH_MAX || c->files >= SSHD_FILES_MAX ||
	    (text = scan_read(path, SCAN_FILE_MAX, NULL)) == NULL)
		goto out;
	c->files++;
	cur = text;
	while ((line = scan_next_line(&cur, &lineno)) != NULL) {
		if ((kw = next_word(&line)) == NULL || kw[0] == '#')
			continue;
		if (strcasecmp(kw, "Match") == 0)
			break;
		if (strcasecmp(kw, "Include") == 0) {
			while ((v = next_word(&line)) != NULL)
				sshd_include(s, v, c, depth);
			continue;
		}
		if ((v = next_word(&line)) == NULL)
			continue;
		/* sshd keeps the first value it reads for these keywords. */
		for (size_t i = 0; i < SSHD_NRULES; i++)
			if (strcasecmp(kw, sshd_rules[i].keyword) == 0 &&
			    c->val[i][0] == '\0') {
				snprintf(c->val[i], sizeof(c->val[i]), "%s", v);
				snprintf(c->where[i], sizeof(c->where[i]),
				    "%s:%u", scan_shown(s, path), lineno);
			}
	}
out:
	free(text);
}

void
scan_check_sshd(struct scan_ctx *s)
{
	struct sshd_conf *c = NULL;
	char		  p[AGENT_PATH_MAX + 64];

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		s->failed = 1;
		goto out;
	}
	if (scan_path(s, "/etc/ssh/sshd_config", p, sizeof(p)) == -1)
		goto out;
	sshd_file(s, p, c, 0);
	if (c->files == 0)
		goto out; /* no sshd configuration: nothing to judge */
	for (size_t i = 0; i < SSHD_NRULES; i++) {
		const struct sshd_rule *r = &sshd_rules[i];
		const char *v = c->val[i][0] != '\0' ? c->val[i] : r->deflt;

		if (strcasecmp(v, r->bad) != 0)
			continue;
		if (c->val[i][0] != '\0')
			scan_finding(s, r->id, r->severity, r->title,
			    r->remediation, "%s %s at %s", r->keyword, v,
			    c->where[i]);
		else
			scan_finding(s, r->id, r->severity, r->title,
			    r->remediation,
			    "%s is not set in /etc/ssh/"
			    "sshd_config or its Includes, and OpenSSH's default "
			    "is %s",
			    r->keyword, v);
	}
out:
	free(c);
}

/* ---- kernel settings ------------------------------------------------------ */

void
scan_check_kernel(struct scan_ctx *s)
{
	long v;

	/* Missing files (a fixture tree, another kernel) are skipped. */
	if (scan_read_long(s, "/proc/sys/kernel/randomize_va_space", &v) == 0 &&
	    v != 2)
		scan_finding(s, "kernel.randomize_va_space",
		    v == 1 ? "medium" : "high",
		    v == 1 ? "Address space randomisation is partial" :
			     "Address space randomisation is off",
		    "sysctl -w kernel.randomize_va_space=2 and set it in "
		    "/etc/sysctl.d/ so it survives a reboot.",
		    "/proc/sys/kernel/randomize_va_space is %ld; expected 2 "
		    "(full randomisation)",
		    v);
	if (scan_read_long(s, "/proc/sys/kernel/unprivileged_bpf_disabled",
		&v) == 0 &&
	    v == 0)
		scan_finding(s, "kernel.unprivileged_bpf", "medium",
		    "Unprivileged users may load BPF programs",
		    "sysctl -w kernel.unprivileged_bpf_disabled=1 (or 2) and "
		    "set it in /etc/sysctl.d/.",
		    "/proc/sys/kernel/unprivileged_bpf_disabled is 0");
	/*
	 * Forwarding where the profile forbids it is medium: the host can
	 * route between the networks it touches and so become a pivot, a
	 * real widening of exposure (more than low), yet nothing is exposed
	 * by it alone (less than high). Container hosts need it: they say
	 * VAULTMESH_SCAN_FORWARDING=allowed.
	 */
	if (s->o->forwarding_allowed)
		return;
	if (scan_read_long(s, "/proc/sys/net/ipv4/ip_forward", &v) == 0 &&
	    v != 0)
		scan_finding(s, "kernel.ip_forward", "medium",
		    "IPv4 forwarding is on where the profile forbids it",
		    "sysctl -w net.ipv4.ip_forward=0 and remove it from "
		    "/etc/sysctl.d/; or, if this host routes on purpose, set "
		    "VAULTMESH_SCAN_FORWARDING=allowed.",
		    "/proc/sys/net/ipv4/ip_forward is %ld and "
		    "VAULTMESH_SCAN_FORWARDING is forbidden",
		    v);
	if (scan_read_long(s, "/proc/sys/net/ipv6/conf/all/forwarding", &v) ==
		0 &&
	    v != 0)
		scan_finding(s, "kernel.ipv6_forwarding", "medium",
		    "IPv6 forwarding is on where the profile forbids it",
		    "sysctl -w net.ipv6.conf.all.forwarding=0; or set "
		    "VAULTMESH_SCAN_FORWARDING=allowed if this host routes.",
		    "/proc/sys/net/ipv6/conf/all/forwarding is %ld and "
		    "VAULTMESH_SCAN_FORWARDING is forbidden",
		    v);
}

/* ---- services ------------------------------------------------------------- */

#define CF_UNIT "cloudflared.service"

/*
 * One unit: 0 checked, 1 no systemd (stop). The state comes from systemd
 * only; a unit whose state cannot be read gets an info finding.
 */
static int
check_unit(struct scan_ctx *s, const char *unit, int cloudflared)
{
	char active[AGENT_STATE_LEN], load[AGENT_STATE_LEN], err[256];
	int  r;

	r = s->o->unit_prop(s->o->unit_arg, unit, "ActiveState", active,
	    sizeof(active), err, sizeof(err));
	if (r == SCAN_NO_SYSTEMD)
		return 1;
	if (r == -1) {
		scan_finding(s, "services.state_unknown", "info",
		    "A unit's state could not be read",
		    "Check that the agent may talk to systemd on the system "
		    "bus.",
		    "%s: %s", unit, err);
		return 0;
	}
	/* "reloading" is a running service; anything else is not serving. */
	if (strcmp(active, "active") == 0 || strcmp(active, "reloading") == 0)
		return 0;
	if (s->o->unit_prop(s->o->unit_arg, unit, "LoadState", load,
		sizeof(load), err, sizeof(err)) != 0)
		snprintf(load, sizeof(load), "unknown");
	if (cloudflared)
		scan_finding(s, "services.cloudflared_inactive", "high",
		    "cloudflared is not active",
		    "systemctl status cloudflared; journalctl -u cloudflared. "
		    "Without the tunnel this node is unreachable for operators.",
		    "%s is %s (LoadState=%s)", unit, active, load);
	else
		scan_finding(s, "services.unit_inactive", "medium",
		    "A watched service is not active",
		    "systemctl status the unit and its journal; restart it "
		    "with service-restart once the cause is known.",
		    "%s is %s (LoadState=%s); it is in VAULTMESH_SERVICES",
		    unit, active, load);
	return 0;
}

void
scan_check_services(struct scan_ctx *s)
{
	int no_systemd;

	if ((no_systemd = check_unit(s, CF_UNIT, 1)) == 0)
		for (size_t i = 0; i < s->o->nservices && !no_systemd; i++)
			if (strcmp(s->o->services[i], CF_UNIT) != 0)
				no_systemd =
				    check_unit(s, s->o->services[i], 0);
	if (no_systemd)
		scan_finding(s, "services.systemd_unavailable", "info",
		    "systemd not available; service checks skipped",
		    "None needed in a container or CI; on a server, run the "
		    "agent under systemd.",
		    "/run/systemd/system does not exist: cloudflared and "
		    "VAULTMESH_SERVICES (%zu units) were not checked",
		    s->o->nservices);
}

/* ---- listening sockets ------------------------------------------------------ */

/* Ports that should never face every network: medium, the rest low. */
static const struct {
	unsigned    port;
	const char *what;
} sensitive_ports[] = {
	{ 21, "FTP" },
	{ 23, "telnet" },
	{ 111, "rpcbind" },
	{ 139, "NetBIOS" },
	{ 445, "SMB" },
	{ 2049, "NFS" },
	{ 2375, "Docker API" },
	{ 2376, "Docker API" },
	{ 2379, "etcd" },
	{ 3306, "MySQL" },
	{ 3389, "RDP" },
	{ 5432, "PostgreSQL" },
	{ 5900, "VNC" },
	{ 5984, "CouchDB" },
	{ 6379, "Redis" },
	{ 8086, "InfluxDB" },
	{ 8500, "Consul" },
	{ 9200, "Elasticsearch" },
	{ 10250, "kubelet" },
	{ 11211, "memcached" },
	{ 27017, "MongoDB" },
};

static unsigned
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

/* Parses n hex digits at *p into *v (all zero noted in *zero). */
static int
hexfield(const char **p, size_t n, unsigned *v, int *zero)
{
	*v = 0;
	*zero = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = hexval((*p)[i]);

		if (d == 16)
			return -1;
		if (d != 0)
			*zero = 0;
		*v = (*v << 4 | d) & 0xffff; /* ports: the low 16 bits */
	}
	*p += n;
	return 0;
}

size_t
scan_parse_proc_tcp(const char *text, int			 v6,
    void (*fn)(void *arg, unsigned port, unsigned lineno), void *arg)
{
	const char *p = text;
	size_t	    alen = v6 ? 32 : 8, found = 0;
	unsigned    lineno = 0, port, rport, state, dummy;
	int	    zero, z;

	/*
	 * "  sl  local_address rem_address   st ...", then one socket a line:
	 * "   0: 00000000:0016 00000000:0000 0A ..." (tcp6: 32 hex digits).
	 */
	while (p != NULL && *p != '\0') {
		const char *next = strchr(p, '\n');

		lineno++;
		while (*p == ' ')
			p++;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p++ != ':' || *p++ != ' ')
			goto skip;
		if (hexfield(&p, alen, &dummy, &zero) == -1 || *p++ != ':' ||
		    hexfield(&p, 4, &port, &z) == -1 || *p++ != ' ' ||
		    hexfield(&p, alen, &dummy, &z) == -1 || *p++ != ':' ||
		    hexfield(&p, 4, &rport, &z) == -1 || *p++ != ' ' ||
		    hexfield(&p, 2, &state, &z) == -1)
			goto skip;
		if (state == 0x0a && zero && port != 0) {
			fn(arg, port, lineno);
			found++;
		}
	skip:
		p = next != NULL ? next + 1 : NULL;
	}
	return found;
}

struct tcp_arg {
	unsigned char *fam;
	unsigned      *line; /* first line per port and family */
	int	       bit;
};

static void
note_listener(void *arg, unsigned port, unsigned lineno)
{
	struct tcp_arg *t = arg;

	if ((t->fam[port] & t->bit) == 0)
		t->line[port * 2 + (t->bit == 2)] = lineno;
	t->fam[port] |= (unsigned char)t->bit;
}

void
scan_check_network(struct scan_ctx *s)
{
	static const char *const files[2] = { "/proc/net/tcp",
		"/proc/net/tcp6" };
	struct tcp_arg		 t; /* fam: per port, 1 IPv4 and 2 IPv6 */
	char   p[AGENT_PATH_MAX + 64], allowed[512], both[160];
	char  *text = NULL;
	size_t o = 0;

	memset(&t, 0, sizeof(t));
	if ((t.fam = calloc(65536, 1)) == NULL ||
	    (t.line = calloc(65536 * 2, sizeof(unsigned))) == NULL) {
		s->failed = 1;
		goto out;
	}
	for (int v6 = 0; v6 < 2; v6++) {
		if (scan_path(s, files[v6], p, sizeof(p)) == -1)
			continue;
		if ((text = scan_read(p, SCAN_FILE_MAX * 8, NULL)) == NULL) {
			/* No /proc/net here, or no IPv6: nothing to say. */
			if (errno != ENOENT && errno != ENOTDIR)
				scan_finding(s, "net.unreadable", "info",
				    "Listening sockets could not be read",
				    "Check the host with ss -ltn.", "%s: %s",
				    files[v6],
				    errno == EFBIG ? "larger than "
						     "8 MiB" :
						     strerror(errno));
			continue;
		}
		t.bit = v6 ? 2 : 1;
		scan_parse_proc_tcp(text, v6, note_listener, &t);
		free(text);
		text = NULL;
	}
	allowed[0] = '\0';
	for (size_t i = 0; i < s->o->nallowed_ports; i++) {
		t.fam[s->o->allowed_ports[i]] = 0;
		o += (size_t)snprintf(allowed + o,
		    o < sizeof(allowed) ? sizeof(allowed) - o : 0, "%s%u",
		    i ? "," : "", (unsigned)s->o->allowed_ports[i]);
		if (o >= sizeof(allowed))
			o = sizeof(allowed) - 1;
	}
	for (unsigned port = 1; port < 65536; port++) {
		const char *what = NULL;

		if (t.fam[port] == 0)
			continue;
		for (size_t i = 0;
		     i < sizeof(sensitive_ports) / sizeof(sensitive_ports[0]);
		     i++)
			if (sensitive_ports[i].port == port)
				what = sensitive_ports[i].what;
		both[0] = '\0';
		if (t.fam[port] & 1)
			snprintf(both, sizeof(both),
			    "0.0.0.0:%u (/proc/net/tcp line %u)", port,
			    t.line[port * 2]);
		if (t.fam[port] & 2)
			snprintf(both + strlen(both),
			    sizeof(both) - strlen(both),
			    "%s[::]:%u (/proc/net/tcp6 line %u)",
			    both[0] != '\0' ? " and " : "", port,
			    t.line[port * 2 + 1]);
		scan_finding(s, "net.listen_all_interfaces",
		    what != NULL ? "medium" : "low",
		    "A TCP port listens on all interfaces",
		    "Bind the service to 127.0.0.1 or the one interface it "
		    "serves, or firewall it; if it must be public, add the "
		    "port to VAULTMESH_SCAN_ALLOWED_PORTS.",
		    "%s%s%s%s; allowed ports: %s", both,
		    what != NULL ? ", " : "", what != NULL ? what : "",
		    what != NULL ? " should not face every network" : "",
		    allowed[0] != '\0' ? allowed : "none");
	}
out:
	free(text);
	free(t.fam);
	free(t.line);
}

/* ---- pending upgrades ------------------------------------------------------- */

#define PKG_TIMEOUT_SECS 60
#define PKG_OUTPUT_MAX (4 * 1024 * 1024)

/* Appends word to a ", "-separated list that ends in "..." when full. */
static void
list_add(char *list, size_t n, const char *word, size_t wlen)
{
	size_t have = strlen(list);

	if (n == 0 || (have > 0 && strcmp(list + have - 3, "...") == 0))
		return;
	if (have + wlen + 2 + 4 >= n) {
		snprintf(list + have, n - have, "%s...", have > 0 ? ", " : "");
		return;
	}
	snprintf(list + have, n - have, "%s%.*s", have > 0 ? ", " : "",
	    (int)wlen, word);
}

void
scan_parse_apt(const char *text, size_t *total, size_t *security, char *names,
    size_t namelen, char *secnames, size_t secnamelen)
{
	const char *p = text;

	*total = *security = 0;
	if (namelen > 0)
		names[0] = '\0';
	if (secnamelen > 0)
		secnames[0] = '\0';
	/*
	 * "Inst libssl3 [3.0.2-1] (3.0.2-2 Debian-Security:12/stable-security
	 * [amd64])": the package, then the suites it comes from in (...).
	 */
	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n'), *name, *open, *close;
		size_t	    len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		size_t	    nlen;

		if (len > 5 && strncmp(p, "Inst ", 5) == 0) {
			name = p + 5;
			nlen = strcspn(name, " \n");
			(*total)++;
			open = memchr(p, '(', len);
			close = open != NULL ?
			    memchr(open, ')', len - (size_t)(open - p)) :
			    NULL;

			if (open != NULL && close != NULL &&
			    memmem(open, (size_t)(close - open), "-security",
				9) != NULL) {
				(*security)++;
				list_add(secnames, secnamelen, name, nlen);
			} else
				list_add(names, namelen, name, nlen);
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
}

/*
 * The package manager could not list upgrades: it exited with status
 * (rc SCAN_EXEC_EXITED), or did not run or finish (err says why).
 */
static void
pkg_failed(struct scan_ctx *s, const char *tool, int rc, int status,
    const char *err)
{
	char why[300];

	if (rc == SCAN_EXEC_EXITED)
		snprintf(why, sizeof(why), "exit status %d", status);
	else
		snprintf(why, sizeof(why), "%s", err);
	scan_finding(s, "updates.check_failed", "info",
	    "Pending upgrades could not be listed",
	    "Run the package manager by hand to see why (a held lock, a "
	    "broken source list).",
	    "%s: %s", tool, why);
}

static void
run_apt(struct scan_ctx *s)
{
	const char	 *argv[8];
	char		  dir[AGENT_PATH_MAX + 8], err[256];
	char		  names[512], secnames[512];
	char		 *out = NULL;
	size_t		  total, security;
	int		  status, truncated, n = 0;
	enum scan_exec_rc rc;

	/* Simulate only; for a tree other than /, apt reads that tree's state. */
	argv[n++] = s->o->apt;
	argv[n++] = "-s";
	argv[n++] = "-q";
	if (s->prefix[0] != '\0') {
		snprintf(dir, sizeof(dir), "Dir=%s/", s->prefix);
		argv[n++] = "-o";
		argv[n++] = dir;
	}
	argv[n++] = "upgrade";
	argv[n] = NULL;
	rc = scan_exec(s, argv, PKG_TIMEOUT_SECS, PKG_OUTPUT_MAX, &out,
	    &truncated, &status, err, sizeof(err));
	if (rc != SCAN_EXEC_EXITED || status != 0) {
		pkg_failed(s, "apt-get -s upgrade", rc, status, err);
		goto out;
	}
	scan_parse_apt(out, &total, &security, names, sizeof(names), secnames,
	    sizeof(secnames));
	/*
	 * Security upgrades fix known, published holes: high. Other
	 * upgrades are hygiene: low.
	 */
	if (security > 0)
		scan_finding(s, "updates.security", "high",
		    "Security upgrades are pending",
		    "apt-get update && apt-get upgrade (or enable "
		    "unattended-upgrades).",
		    "%zu%s of %zu upgrades come from a -security suite: %s",
		    security, truncated ? "+" : "", total, secnames);
	if (total > security)
		scan_finding(s, "updates.pending", "low",
		    "Package upgrades are pending",
		    "apt-get update && apt-get upgrade at the next maintenance "
		    "window.",
		    "%zu%s other upgrades (apt-get -s upgrade): %s",
		    total - security, truncated ? "+" : "", names);
out:
	free(out);
}

static void
run_pacman(struct scan_ctx *s)
{
	const char	 *argv[6];
	char		  db[AGENT_PATH_MAX + 32], err[256];
	char		  names[512];
	char		 *out = NULL, *cur, *line;
	unsigned	  lineno = 0;
	size_t		  total = 0;
	int		  status, truncated, n = 0;
	enum scan_exec_rc rc;

	argv[n++] = s->o->pacman;
	argv[n++] = "-Qu";
	if (s->prefix[0] != '\0') {
		snprintf(db, sizeof(db), "%s/var/lib/pacman", s->prefix);
		argv[n++] = "--dbpath";
		argv[n++] = db;
	}
	argv[n] = NULL;
	names[0] = '\0';
	rc = scan_exec(s, argv, PKG_TIMEOUT_SECS, PKG_OUTPUT_MAX, &out,
	    &truncated, &status, err, sizeof(err));
	/* pacman -Qu exits 1 when there is nothing to upgrade. */
	if (rc != SCAN_EXEC_EXITED ||
	    (status != 0 &&
		!(status == 1 && out[strspn(out, " \n")] == '\0'))) {
		pkg_failed(s, "pacman -Qu", rc, status, err);
		goto out;
	}
	/* "name oldver -> newver" a line. */
	cur = out;
	while ((line = scan_next_line(&cur, &lineno)) != NULL)
		if (strstr(line, " -> ") != NULL) {
			total++;
			list_add(names, sizeof(names), line,
			    strcspn(line, " "));
		}
	/*
	 * pacman does not say which upgrades fix security holes, and Arch
	 * ships fixes only as ordinary upgrades: medium, between apt's low
	 * (known not security) and high (known security).
	 */
	if (total > 0)
		scan_finding(s, "updates.pending", "medium",
		    "Package upgrades are pending",
		    "pacman -Syu at the next maintenance window; pacman cannot "
		    "tell which are security fixes.",
		    "%zu%s upgrades (pacman -Qu): %s", total,
		    truncated ? "+" : "", names);
out:
	free(out);
}

/* 1 if the program is executable and the tree has that package database. */
static int
pkg_present(struct scan_ctx *s, const char *prog, const char *db)
{
	struct stat st;
	char	    p[AGENT_PATH_MAX + 64];

	return prog != NULL && prog[0] == '/' && access(prog, X_OK) == 0 &&
	    scan_path(s, db, p, sizeof(p)) == 0 && stat(p, &st) == 0;
}

void
scan_check_updates(struct scan_ctx *s)
{
	const char *want = s->o->packages != NULL ? s->o->packages : "auto";
	int	    any = strcmp(want, "auto") == 0;

	if (strcmp(want, "none") == 0)
		return; /* the profile has no package manager to ask */
	if ((any || strcmp(want, "apt") == 0) &&
	    pkg_present(s, s->o->apt, "/var/lib/dpkg/status"))
		run_apt(s);
	else if ((any || strcmp(want, "pacman") == 0) &&
	    pkg_present(s, s->o->pacman, "/var/lib/pacman/local"))
		run_pacman(s);
	else
		scan_finding(s, "updates.unavailable", "info",
		    "No package manager found; pending upgrades not checked",
		    "Set VAULTMESH_SCAN_PACKAGES to none if this host has no "
		    "package manager, or point VAULTMESH_SCAN_APT or "
		    "VAULTMESH_SCAN_PACMAN at it.",
		    "looked for %s with /var/lib/dpkg/status, and %s with "
		    "/var/lib/pacman/local (VAULTMESH_SCAN_PACKAGES=%s)",
		    s->o->apt != NULL ? s->o->apt : "apt-get",
		    s->o->pacman != NULL ? s->o->pacman : "pacman", want);
}
