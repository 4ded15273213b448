/*
 * sovereign-scan's built-in checks (scan_host.c) and engine (scan.c),
 * each over a fixture tree in a temporary folder: once where it must fire
 * and once where it must not. Programs (the package managers) are fixture
 * scripts run through the real execve path; systemd is a fake lookup.
 */
#include <sys/stat.h>

#include <signal.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_testlib.h"
#include "state.h"

static char	vmroot[300];
static uint16_t ports[AGENT_SCAN_PORTS_MAX];

/* ---- fixtures ---------------------------------------------------------- */

/* Fake systemd: "unit=ActiveState[/LoadState]" pairs in fake_units. */
static const char *fake_units;
static int	   fake_no_systemd;

static int
fake_unit_prop(void *arg, const char *unit, const char *prop, char *out,
    size_t n, char *err, size_t errlen)
{
	const char *p;
	char	    key[300];
	size_t	    len;

	(void)arg;
	if (fake_no_systemd)
		return SCAN_NO_SYSTEMD;
	snprintf(key, sizeof(key), "%s=", unit);
	if (fake_units == NULL || (p = strstr(fake_units, key)) == NULL) {
		snprintf(err, errlen, "no such unit in the fake");
		return -1;
	}
	p += strlen(key);
	len = strcspn(p, "/ ");
	if (strcmp(prop, "LoadState") == 0) {
		if (p[len] != '/') {
			snprintf(out, n, "loaded");
			return 0;
		}
		p += len + 1;
		len = strcspn(p, " ");
	}
	snprintf(out, n, "%.*s", (int)len, p);
	return 0;
}

/* Fresh tree and options before each test: only fixture state counts. */
static int
fresh(void **state)
{
	(void)state;
	scan_fx_fresh();
	snprintf(vmroot, sizeof(vmroot), "%s/vm", fx.base);
	opts.vm_root = vmroot;
	ports[0] = 22;
	opts.allowed_ports = ports;
	opts.nallowed_ports = 1;
	opts.rules_dir = "/etc/vaultmesh/scan.d";
	opts.packages = "auto";
	opts.apt = "/nonexistent/apt-get";
	opts.pacman = "/nonexistent/pacman";
	opts.unit_prop = fake_unit_prop;
	fake_units = NULL;
	fake_no_systemd = 0;
	return 0;
}

/* Every finding has exactly the five fields the command center takes. */
static void
assert_shape(json_t *findings)
{
	size_t	i;
	json_t *f;

	json_array_foreach(findings, i, f)
	{
		assert_int_equal(json_object_size(f), 5);
		assert_true(str_printable(
		    json_string_value(json_object_get(f, "id")), 128));
		assert_true(str_printable(
		    json_string_value(json_object_get(f, "title")), 256));
		assert_true(str_printable(
		    json_string_value(json_object_get(f, "detail")), 4096));
		assert_true(str_printable(json_string_value(json_object_get(f,
					      "remediation")),
				2048) ||
		    strcmp(json_string_value(json_object_get(f, "remediation")),
			"") == 0);
	}
}

/* ---- sshd ----------------------------------------------------------------- */

static void
sshd_root_login_from_include_fires_with_file_and_line(void **state)
{
	char	p[900];
	json_t *f;

	(void)state;
	put("etc/ssh/sshd_config",
	    "# x\nInclude sshd_config.d/*.conf\n"
	    "PermitRootLogin no\n");
	put("etc/ssh/sshd_config.d/50-a.conf", "PermitEmptyPasswords yes\n");
	put("etc/ssh/sshd_config.d/40-b.conf",
	    "\n# first wins\n"
	    "PermitRootLogin=\"yes\"\n");
	/* A FIFO planted in the tree must not block the scan. */
	snprintf(p, sizeof(p), "%s/etc/ssh/sshd_config.d/30-fifo.conf",
	    fx.tree);
	assert_int_equal(mkfifo(p, 0644), 0);
	f = scan_fx_run("sshd");
	assert_shape(f);
	assert_string_equal(
	    detail(find(f, "ssh.permit_root_login", "critical")),
	    "PermitRootLogin yes at "
	    "/etc/ssh/sshd_config.d/40-b.conf:3");
	assert_non_null(
	    strstr(detail(find(f, "ssh.permit_empty_passwords", "critical")),
		"/etc/ssh/sshd_config.d/50-a.conf:1"));
	/* Not set anywhere: OpenSSH's default is yes. */
	assert_non_null(strstr(
	    detail(find(f, "ssh.password_authentication", "high")), "default"));
	assert_int_equal(json_array_size(f), 3);
	json_decref(f);
}

static void
sshd_hardened_config_and_match_blocks_do_not_fire(void **state)
{
	(void)state;
	put("etc/ssh/sshd_config",
	    "Include /etc/ssh/sshd_config.d/*.conf\n"
	    "PasswordAuthentication no\nPermitEmptyPasswords no\n"
	    "Match Address 10.0.0.0/8\n  PermitRootLogin yes\n"
	    "  PasswordAuthentication yes\n  Include /etc/ssh/evil.conf\n");
	put("etc/ssh/sshd_config.d/10-root.conf", "PermitRootLogin no\n");
	put("etc/ssh/evil.conf", "PermitEmptyPasswords yes\n");
	scan_fx_expect("sshd", 0);
}

static void
sshd_match_in_dropin_ends_with_its_file(void **state)
{
	json_t *f;

	(void)state;
	/* sshd restores the global context after an Include. */
	put("etc/ssh/sshd_config",
	    "Include sshd_config.d/*.conf\n"
	    "PasswordAuthentication no\nPermitRootLogin yes\n");
	put("etc/ssh/sshd_config.d/10-m.conf",
	    "Match User backup\n"
	    "PermitRootLogin no\n");
	f = scan_fx_run("sshd");
	assert_string_equal(
	    detail(find(f, "ssh.permit_root_login", "critical")),
	    "PermitRootLogin yes at /etc/ssh/sshd_config:3");
	assert_int_equal(json_array_size(f), 1);
	json_decref(f);
}

static void
sshd_absent_gives_nothing(void **state)
{
	(void)state;
	scan_fx_expect("sshd", 0);
}

/* ---- kernel ----------------------------------------------------------------- */

static void
kernel_weak_settings_fire(void **state)
{
	json_t *f;

	(void)state;
	put("proc/sys/kernel/randomize_va_space", "0\n");
	put("proc/sys/kernel/unprivileged_bpf_disabled", "0\n");
	put("proc/sys/net/ipv4/ip_forward", "1\n");
	put("proc/sys/net/ipv6/conf/all/forwarding", "1\n");
	f = scan_fx_run("kernel");
	assert_shape(f);
	assert_non_null(
	    strstr(detail(find(f, "kernel.randomize_va_space", "high")),
		"randomize_va_space is 0"));
	assert_non_null(find(f, "kernel.unprivileged_bpf", "medium"));
	assert_non_null(strstr(detail(find(f, "kernel.ip_forward", "medium")),
	    "ip_forward is 1"));
	assert_non_null(find(f, "kernel.ipv6_forwarding", "medium"));
	assert_int_equal(json_array_size(f), 4);
	json_decref(f);

	/* Partial randomisation is medium. */
	put("proc/sys/kernel/randomize_va_space", "1\n");
	f = scan_fx_run("kernel");
	assert_non_null(find(f, "kernel.randomize_va_space", "medium"));
	json_decref(f);
}

static void
kernel_hardened_settings_do_not_fire(void **state)
{
	(void)state;
	put("proc/sys/kernel/randomize_va_space", "2\n");
	put("proc/sys/kernel/unprivileged_bpf_disabled", "2\n");
	put("proc/sys/net/ipv4/ip_forward", "0\n");
	put("proc/sys/net/ipv6/conf/all/forwarding", "0\n");
	scan_fx_expect("kernel", 0);

	/* Forwarding where the profile allows it is no finding. */
	put("proc/sys/net/ipv4/ip_forward", "1\n");
	opts.forwarding_allowed = 1;
	scan_fx_expect("kernel", 0);

	/* No /proc in the tree, or garbage: skipped, never guessed. */
	tl_tree_empty(&fx);
	put("proc/sys/kernel/randomize_va_space", "banana\n");
	opts.forwarding_allowed = 0;
	scan_fx_expect("kernel", 0);
}

/* ---- the agent's own state ---------------------------------------------------- */

static void
make_vmroot(unsigned root_mode, unsigned token_mode, unsigned key_mode)
{
	char p[900];

	assert_int_equal(tl_rmtree(vmroot), 0);
	snprintf(p, sizeof(p), "%s/spool", vmroot);
	tl_mkdirs(p);
	assert_int_equal(chmod(vmroot, root_mode), 0);
	assert_int_equal(state_save_token(vmroot, "t0k3n"), 0);
	snprintf(p, sizeof(p), "%s/node_token", vmroot);
	assert_int_equal(chmod(p, token_mode), 0);
	snprintf(p, sizeof(p), "%s/cc_ed25519.pub", vmroot);
	assert_int_equal(file_write_atomic(p, "x", 1, 0600), 0);
	assert_int_equal(chmod(p, key_mode), 0);
}

static void
agent_state_open_to_others_fires(void **state)
{
	char	p[900];
	json_t *f;

	(void)state;
	make_vmroot(0755, 0644, 0666);
	snprintf(p, sizeof(p), "%s/spool/x.json", vmroot);
	assert_int_equal(file_write_atomic(p, "{}", 2, 0600), 0);
	assert_int_equal(chmod(p, 0666), 0);
	f = scan_fx_run("agent");
	assert_shape(f);
	assert_non_null(
	    strstr(detail(find(f, "agent.root_exposed", "high")), "mode 0755"));
	assert_non_null(strstr(detail(find(f, "agent.token_exposed", "high")),
	    "world-readable"));
	assert_non_null(find(f, "agent.pinned_key_writable", "high"));
	/* The key file and the spool entry are both world-writable. */
	assert_int_equal(tl_count_findings(f, "agent.world_writable"), 2);
	assert_non_null(
	    strstr(detail(find(f, "agent.world_writable", NULL)), "0666"));
	json_decref(f);
}

static void
agent_state_private_does_not_fire(void **state)
{
	char link[900];

	(void)state;
	make_vmroot(0700, 0600, 0600);
	scan_fx_expect("agent", 0);

	/* A symlinked root is judged by what it points to. */
	snprintf(link, sizeof(link), "%s/vm-link", fx.base);
	(void)unlink(link);
	assert_int_equal(symlink(vmroot, link), 0);
	opts.vm_root = link;
	scan_fx_expect("agent", 0);
}

/* ---- services ------------------------------------------------------------------- */

/* VAULTMESH_SERVICES as the scan gets it: the units in list. */
static void
set_services(const char *list)
{
	static char  names[256];
	static char *units[8];
	char	    *p = names;
	size_t	     n = 0;

	snprintf(names, sizeof(names), "%s", list);
	while (*p != '\0' && n < TL_NITEMS(units)) {
		units[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	opts.services = units;
	opts.nservices = n;
}

static void
services_not_active_fire(void **state)
{
	json_t *f;

	(void)state;
	set_services("nginx.service ssh.service");
	fake_units = "cloudflared.service=inactive/not-found "
		     "nginx.service=failed ssh.service=active";
	f = scan_fx_run("services");
	assert_shape(f);
	assert_string_equal(
	    detail(find(f, "services.cloudflared_inactive", "high")),
	    "cloudflared.service is inactive (LoadState=not-found)");
	assert_string_equal(detail(find(f, "services.unit_inactive", "medium")),
	    "nginx.service is failed (LoadState=loaded); it is in "
	    "VAULTMESH_SERVICES");
	assert_int_equal(json_array_size(f), 2);
	json_decref(f);
}

static void
services_active_do_not_fire(void **state)
{
	(void)state;
	set_services("nginx.service cloudflared.service");
	fake_units = "cloudflared.service=active nginx.service=reloading";
	scan_fx_expect("services", 0);
}

static void
services_without_systemd_give_one_info(void **state)
{
	json_t *f;

	(void)state;
	set_services("nginx.service");
	fake_no_systemd = 1;
	f = scan_fx_count("services", 1);
	assert_non_null(find(f, "services.systemd_unavailable", "info"));
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(f, 0), "title")),
	    "systemd not available; service checks skipped");
	json_decref(f);

	/* The real lookup (probes.c) in a container without systemd. */
	if (access("/run/systemd/system/", F_OK) == 0)
		skip();
	opts.unit_prop = NULL;
	scan_fx_expect_one("services", "services.systemd_unavailable", "info");
}

/* ---- network ---------------------------------------------------------------------- */

static const char tcp_head[] =
    "  sl  local_address rem_address   st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

static void
network_wildcard_listeners_outside_allow_list_fire(void **state)
{
	char	text[2048];
	json_t *f, *e;

	(void)state;
	snprintf(text, sizeof(text),
	    "%s"
	    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000   105        0 2 1 0000000000000000 100 0 0 10 0\n"
	    "   2: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000   105        0 3 1 0000000000000000 100 0 0 10 0\n"
	    "   3: 00000000:1F90 0100007F:C350 01 00000000:00000000 00:00000000 "
	    "00000000   105        0 4 1 0000000000000000 100 0 0 10 0\n"
	    "garbage line\n",
	    tcp_head);
	put("proc/net/tcp", text);
	snprintf(text, sizeof(text),
	    "%s"
	    "   0: 00000000000000000000000000000000:1538 "
	    "00000000000000000000000000000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 5 1\n"
	    "   1: 00000000000000000000000000000000:20FB "
	    "00000000000000000000000000000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 6 1\n"
	    "   2: 00000000000000000000000001000000:0CEA "
	    "00000000000000000000000000000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 7 1\n",
	    tcp_head);
	put("proc/net/tcp6", text);
	f = scan_fx_run("network");
	assert_shape(f);
	/* 5432 (both families, medium) and 8443 (IPv6, low); not 22,
	 * not 127.0.0.1:6379, not an established 8080, not [::1]:3306. */
	assert_int_equal(json_array_size(f), 2);
	e = json_array_get(f, 0);
	assert_string_equal(json_string_value(json_object_get(e, "severity")),
	    "medium");
	assert_string_equal(detail(e),
	    "0.0.0.0:5432 (/proc/net/tcp line 3) "
	    "and [::]:5432 (/proc/net/tcp6 line 2), PostgreSQL should not face "
	    "every network; allowed ports: 22");
	e = json_array_get(f, 1);
	assert_string_equal(json_string_value(json_object_get(e, "severity")),
	    "low");
	assert_string_equal(detail(e),
	    "[::]:8443 (/proc/net/tcp6 line 3); "
	    "allowed ports: 22");
	json_decref(f);
}

static void
network_allowed_or_local_listeners_do_not_fire(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text),
	    "%s"
	    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 1 1\n"
	    "   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 1 1\n"
	    "   2: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 1 1\n",
	    tcp_head);
	put("proc/net/tcp", text);
	ports[1] = 443;
	opts.nallowed_ports = 2;
	scan_fx_expect("network", 0);

	/* Something that is not a file there: said, not guessed. */
	snprintf(text, sizeof(text), "%s/proc/net/tcp6", fx.tree);
	tl_mkdirs(text);
	scan_fx_expect_one("network", "net.unreadable", "info");
}

static void
note_port(void *arg, unsigned port, unsigned lineno)
{
	unsigned *seen = arg;

	seen[0]++;
	seen[1] = port;
	seen[2] = lineno;
}

static void
proc_tcp_parser_skips_what_does_not_parse(void **state)
{
	unsigned seen[3] = { 0, 0, 0 };

	(void)state;
	assert_int_equal(scan_parse_proc_tcp("", 0, note_port, seen), 0);
	assert_int_equal(
	    scan_parse_proc_tcp("0: 0000:0016 00000000:0000 0A\n"
				"   1: 00000000:00ZZ 00000000:0000 0A\n"
				"   2: 00000000:0050 00000000:0000 0A",
		0, note_port, seen),
	    1);
	assert_int_equal(seen[1], 80);
	assert_int_equal(seen[2], 3);
	/* An IPv4 line given as tcp6 does not parse. */
	assert_int_equal(scan_parse_proc_tcp("   0: 00000000:0016 "
					     "00000000:0000 0A\n",
			     1, note_port, seen),
	    0);
}

/* ---- updates ---------------------------------------------------------------------- */

static const char apt_out[] =
    "cat <<'EOF'\n"
    "NOTE: This is only a simulation!\n"
    "Reading package lists...\n"
    "Inst libssl3 [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 "
    "Debian-Security:12/stable-security [amd64])\n"
    "Inst openssl [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian:12.5/stable, "
    "Debian-Security:12/stable-security [amd64])\n"
    "Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable "
    "[all])\n"
    "Conf libssl3 (3.0.13-1~deb12u1 Debian-Security:12/stable-security "
    "[amd64])\n"
    "EOF\n";

static void
updates_apt_counts_upgrades_and_security_ones(void **state)
{
	char	args[900], *seen;
	json_t *f;
	char	body[2048];

	(void)state;
	put("var/lib/dpkg/status", "");
	snprintf(args, sizeof(args), "%s/apt-args", fx.base);
	snprintf(body, sizeof(body), "echo \"$@ LC_ALL=$LC_ALL\" > '%s'\n%s",
	    args, apt_out);
	opts.apt = script("apt-get", body);
	f = scan_fx_run("updates");
	assert_shape(f);
	assert_string_equal(detail(find(f, "updates.security", "high")),
	    "2 of 3 upgrades come from a -security suite: libssl3, openssl");
	assert_string_equal(detail(find(f, "updates.pending", "low")),
	    "1 other upgrades (apt-get -s upgrade): tzdata");
	assert_int_equal(json_array_size(f), 2);
	json_decref(f);
	/* Simulation only, on the scanned tree, in the C locale. */
	seen = file_read(args, 4096, NULL);
	assert_non_null(seen);
	assert_non_null(strstr(seen, "-s -q -o Dir="));
	assert_non_null(strstr(seen, "upgrade LC_ALL=C"));
	free(seen);
}

static void
updates_apt_nothing_pending_does_not_fire(void **state)
{
	(void)state;
	put("var/lib/dpkg/status", "");
	opts.apt = script("apt-get",
	    "echo 'Reading package lists...'\n"
	    "echo '0 upgraded, 0 newly installed, 0 to remove.'\n");
	scan_fx_expect("updates", 0);
}

static void
updates_missing_tool_is_info_and_none_is_silent(void **state)
{
	(void)state;
	/* The program exists but the tree has no dpkg database. */
	opts.apt = script("apt-get", "exit 0\n");
	scan_fx_expect_one("updates", "updates.unavailable", "info");

	put("var/lib/dpkg/status", "");
	opts.apt = "/nonexistent/apt-get";
	scan_fx_expect_one("updates", "updates.unavailable", "info");

	opts.packages = "none";
	scan_fx_expect("updates", 0);
}

static void
updates_failing_tool_is_info(void **state)
{
	json_t *f;

	(void)state;
	put("var/lib/dpkg/status", "");
	opts.apt = script("apt-get",
	    "echo 'E: Could not get lock' >&2\n"
	    "exit 100\n");
	f = scan_fx_count("updates", 1);
	assert_string_equal(detail(find(f, "updates.check_failed", "info")),
	    "apt-get -s upgrade: exit status 100");
	json_decref(f);
}

static void
updates_pacman_pending_fire_and_none_do_not(void **state)
{
	json_t *f;

	(void)state;
	tl_mkdirs(fx.tree);
	put("var/lib/pacman/local/ALPM_DB_VERSION", "9\n");
	opts.packages = "pacman";
	opts.pacman = script("pacman",
	    "echo 'linux 6.9.1-1 -> 6.9.2-1'\n"
	    "echo 'openssl 3.3.0-1 -> 3.3.1-1'\n");
	f = scan_fx_run("updates");
	assert_string_equal(detail(find(f, "updates.pending", "medium")),
	    "2 upgrades (pacman -Qu): linux, openssl");
	assert_int_equal(json_array_size(f), 1);
	json_decref(f);

	/* pacman -Qu exits 1 when nothing is to be upgraded. */
	opts.pacman = script("pacman", "exit 1\n");
	scan_fx_expect("updates", 0);
}

static void
apt_parser_counts_inst_lines_only(void **state)
{
	size_t total, sec;
	char   names[20], secnames[64];

	(void)state;
	scan_parse_apt(
	    "Inst a [1] (2 X:1/stable-security [all])\n"
	    "Inst bbbbbbbbbbbbbbbbbbbbbbbb [1] (2 X:1/stable [all])\n"
	    "Inst c (2 X:1/stable [all]) -security\n"
	    "Conf a (2 X:1/stable-security [all])\nInst",
	    &total, &sec, names, sizeof(names), secnames, sizeof(secnames));
	assert_int_equal(total, 3);
	assert_int_equal(sec, 1);
	assert_string_equal(secnames, "a");
	assert_string_equal(names, "..."); /* capped, marked */
}

/* ---- the engine ---------------------------------------------------------------------- */

static void
exec_timeout_kills_the_whole_group(void **state)
{
	struct scan_ctx s;
	const char     *argv[2];
	char		err[256], pidfile[900], body[1000], *pid;
	int		status, gc;
	int64_t		t0;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.o = &opts;
	s.deadline_ms = mono_ms() + 60000;
	snprintf(pidfile, sizeof(pidfile), "%s/gc.pid", fx.base);
	snprintf(body, sizeof(body), "sleep 30 & echo $! > '%s'\nwait\n",
	    pidfile);
	argv[0] = script("hang", body);
	argv[1] = NULL;
	t0 = mono_ms();
	assert_int_equal(
	    scan_exec(&s, argv, 1, 0, NULL, NULL, &status, err, sizeof(err)),
	    SCAN_EXEC_TIMEOUT);
	assert_true(mono_ms() - t0 >= 1000 && mono_ms() - t0 < 5000);
	assert_string_equal(err, "killed after 1 s");
	pid = file_read(pidfile, 64, NULL);
	assert_non_null(pid);
	gc = atoi(pid);
	free(pid);
	assert_true(gc > 0);
	/* The grandchild went with its group (it may linger as a zombie). */
	for (int i = 0; i < 300; i++) {
		char path[64], *st;
		int  gone;

		snprintf(path, sizeof(path), "/proc/%d/stat", gc);
		st = file_read(path, 4096, NULL);
		gone = st == NULL || strstr(st, ") Z ") != NULL;
		free(st);
		if (gone)
			return;
		usleep(10000);
	}
	fail_msg("grandchild %d survived the group kill", gc);
}

static void
exec_budget_and_missing_programs(void **state)
{
	struct scan_ctx s;
	const char     *argv[2] = { NULL, NULL };
	char		err[256], *out = NULL;
	int		status, trunc;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.o = &opts;
	s.deadline_ms = mono_ms() + 60000;
	argv[0] = "relative/prog";
	assert_int_equal(
	    scan_exec(&s, argv, 5, 0, NULL, NULL, &status, err, sizeof(err)),
	    SCAN_EXEC_NOTFOUND);
	argv[0] = "/nonexistent/prog";
	assert_int_equal(
	    scan_exec(&s, argv, 5, 0, NULL, NULL, &status, err, sizeof(err)),
	    SCAN_EXEC_NOTFOUND);
	/* Output is capped; stdin is /dev/null; the status comes back. */
	argv[0] = script("chatty",
	    "cat; head -c 10000 /dev/zero | tr '\\0' x;"
	    " exit 7\n");
	assert_int_equal(scan_exec(&s, argv, 5, 100, &out, &trunc, &status, err,
			     sizeof(err)),
	    SCAN_EXEC_EXITED);
	assert_int_equal(status, 7);
	assert_int_equal(strlen(out), 100);
	assert_true(trunc);
	free(out);
	/* A used-up scan budget runs nothing. */
	s.deadline_ms = mono_ms() - 1;
	assert_int_equal(
	    scan_exec(&s, argv, 5, 0, NULL, NULL, &status, err, sizeof(err)),
	    SCAN_EXEC_TIMEOUT);
	assert_non_null(strstr(err, "budget"));
}

static void
findings_are_printable_capped_and_truncated(void **state)
{
	struct scan_ctx s;
	char		big[3000];
	json_t	       *e;
	const char     *d;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.o = &opts;
	s.findings = json_array();
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* A path with a newline, a tab, an invalid byte and a C1 control. */
	scan_finding(&s, "t.x", "low", "T", NULL, "f\nile\t\xff\xc2\x85:%s",
	    big);
	e = json_array_get(s.findings, 0);
	d = detail(e);
	assert_int_equal(strlen(d), SCAN_DETAIL_MAX);
	assert_true(strncmp(d, "f ile ???:aaa", 13) == 0);
	assert_string_equal(d + strlen(d) - 3, "...");
	assert_string_equal(
	    json_string_value(json_object_get(e, "remediation")), "");
	assert_shape(s.findings);
	for (int i = 0; i < 5000; i++)
		scan_finding(&s, "t.many", "info", "Many", "r", "%d", i);
	assert_int_equal(json_array_size(s.findings), SCAN_FINDINGS_MAX);
	e = json_array_get(s.findings, SCAN_FINDINGS_MAX - 1);
	assert_string_equal(json_string_value(json_object_get(e, "id")),
	    "scan.truncated");
	assert_false(s.failed);
	/* And the bytes stay within the runner's output cap. */
	json_array_clear(s.findings);
	s.full = 0;
	s.bytes = 0;
	for (int i = 0; i < 1000; i++)
		scan_finding(&s, "t.big", "info", "Big", big, "%s", big);
	{
		char *dump = json_dumps(s.findings, JSON_COMPACT);

		assert_non_null(dump);
		assert_true(strlen(dump) < 256 * 1024 - 1024);
		free(dump);
	}
	assert_non_null(find(s.findings, "scan.truncated", "medium"));
	json_decref(s.findings);
}

static void
whole_scan_of_a_clean_tree_has_only_info(void **state)
{
	char	err[256];
	json_t *f, *e;
	size_t	i;

	(void)state;
	fake_no_systemd = 1;
	put("etc/ssh/sshd_config",
	    "PermitRootLogin no\n"
	    "PasswordAuthentication no\n");
	make_vmroot(0700, 0600, 0600);
	f = scan_fx_run(NULL);
	assert_shape(f);
	json_array_foreach(f, i, e) assert_string_equal(
	    json_string_value(json_object_get(e, "severity")), "info");
	assert_non_null(find(f, "services.systemd_unavailable", "info"));
	assert_non_null(find(f, "updates.unavailable", "info"));
	json_decref(f);
	/* An unknown check name is the caller's error. */
	opts.only = "nope";
	assert_null(scan_run(&opts, err, sizeof(err)));
	assert_string_equal(err, "no check named nope");
}

/* ---- configuration ----------------------------------------------------------- */

static const char *const scan_vars[] = { "VAULTMESH_SCAN_FORWARDING",
	"VAULTMESH_SCAN_ALLOWED_PORTS", "VAULTMESH_SCAN_RULES_DIR",
	"VAULTMESH_SCAN_PACKAGES", "VAULTMESH_SCAN_APT",
	"VAULTMESH_SCAN_PACMAN", NULL };

static void
scan_config_defaults_values_and_errors(void **state)
{
	static const struct {
		const char *var, *value, *err;
	} bad[] = {
		{ "VAULTMESH_SCAN_FORWARDING", "maybe",
		    "VAULTMESH_SCAN_FORWARDING: must be forbidden or allowed" },
		{ "VAULTMESH_SCAN_ALLOWED_PORTS", "22,70000",
		    "VAULTMESH_SCAN_ALLOWED_PORTS: \"70000\" is not a port" },
		{ "VAULTMESH_SCAN_ALLOWED_PORTS", "ssh",
		    "VAULTMESH_SCAN_ALLOWED_PORTS: \"ssh\" is not a port" },
		{ "VAULTMESH_SCAN_RULES_DIR", "scan.d",
		    "VAULTMESH_SCAN_RULES_DIR: must be an absolute path" },
		{ "VAULTMESH_SCAN_PACKAGES", "yum",
		    "VAULTMESH_SCAN_PACKAGES: must be auto, apt, pacman or none" },
		{ "VAULTMESH_SCAN_APT", "apt-get",
		    "VAULTMESH_SCAN_APT: must be an absolute path" },
	};
	struct agent_config c;
	struct scan_opts    o;
	char		    err[256];

	(void)state;
	for (const char *const *v = scan_vars; *v != NULL; v++)
		unsetenv(*v);
	unsetenv("VAULTMESH_ENROLL_SECRET");
	setenv("VAULTMESH_LOG", "error", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.scan_forwarding_allowed, 0);
	assert_int_equal(c.nscan_ports, 1);
	assert_int_equal(c.scan_ports[0], 22);
	assert_string_equal(c.scan_rules_dir, "/etc/vaultmesh/scan.d");
	assert_string_equal(c.scan_packages, "auto");
	assert_string_equal(c.scan_apt, "/usr/bin/apt-get");
	assert_string_equal(c.scan_pacman, "/usr/bin/pacman");
	scan_opts_from_config(&o, &c);
	assert_ptr_equal(o.allowed_ports, c.scan_ports);
	assert_null(o.unit_prop);
	config_free(&c);

	setenv("VAULTMESH_SCAN_FORWARDING", "allowed", 1);
	setenv("VAULTMESH_SCAN_ALLOWED_PORTS", " 443, 22,443 ,", 1);
	setenv("VAULTMESH_SCAN_PACKAGES", "pacman", 1);
	setenv("VAULTMESH_SCAN_PACMAN", "/opt/pacman", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.scan_forwarding_allowed, 1);
	assert_int_equal(c.nscan_ports, 2);
	assert_int_equal(c.scan_ports[0], 443);
	assert_int_equal(c.scan_ports[1], 22);
	assert_string_equal(c.scan_packages, "pacman");
	assert_string_equal(c.scan_pacman, "/opt/pacman");
	config_free(&c);

	setenv("VAULTMESH_SCAN_ALLOWED_PORTS", "none", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nscan_ports, 0);
	config_free(&c);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (const char *const *v = scan_vars; *v != NULL; v++)
			unsetenv(*v);
		setenv(bad[i].var, bad[i].value, 1);
		assert_int_equal(config_load(&c, err, sizeof(err)), -1);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("%s=%s: got \"%s\"", bad[i].var, bad[i].value,
			    err);
	}
	for (const char *const *v = scan_vars; *v != NULL; v++)
		unsetenv(*v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup(fn, fresh)
		T(sshd_root_login_from_include_fires_with_file_and_line),
		T(sshd_hardened_config_and_match_blocks_do_not_fire),
		T(sshd_match_in_dropin_ends_with_its_file),
		T(sshd_absent_gives_nothing),
		T(kernel_weak_settings_fire),
		T(kernel_hardened_settings_do_not_fire),
		T(agent_state_open_to_others_fires),
		T(agent_state_private_does_not_fire),
		T(services_not_active_fire),
		T(services_active_do_not_fire),
		T(services_without_systemd_give_one_info),
		T(network_wildcard_listeners_outside_allow_list_fire),
		T(network_allowed_or_local_listeners_do_not_fire),
		T(proc_tcp_parser_skips_what_does_not_parse),
		T(updates_apt_counts_upgrades_and_security_ones),
		T(updates_apt_nothing_pending_does_not_fire),
		T(updates_missing_tool_is_info_and_none_is_silent),
		T(updates_failing_tool_is_info),
		T(updates_pacman_pending_fire_and_none_do_not),
		T(apt_parser_counts_inst_lines_only),
		T(exec_timeout_kills_the_whole_group),
		T(exec_budget_and_missing_programs),
		T(findings_are_printable_capped_and_truncated),
		T(whole_scan_of_a_clean_tree_has_only_info),
		T(scan_config_defaults_values_and_errors),
#undef T
	};

	return cmocka_run_group_tests(tests, scan_fx_setup, scan_fx_teardown);
}
