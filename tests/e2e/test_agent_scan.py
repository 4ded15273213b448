"""sovereign-scan end to end (issue 4): the real agent, driven by the fake
CC with signed commands, scans a fixture tree (never this machine) and
reports findings the command center accepts. Package manager and rule
commands are fixture scripts, run by the agent through execve."""
import json
import os
import shutil
import sys

import pytest

sys.dont_write_bytecode = True     # no __pycache__ in the fixtures folder
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "agent_fixtures"))
from fakecc import Agent, FakeCC, wait_for, agents, cc  # noqa: E402,F401

FIXTURES = os.path.join(os.path.dirname(__file__), "agent_fixtures")
SEVERITIES = ("critical", "high", "medium", "low", "info")
EXAMPLE_RULES = os.path.join(os.path.dirname(__file__), "..", "..",
                             "node-agent", "scan-rules.example.json")


def copy_tree(src, dst):
    """A private copy with the modes a root-owned /etc would have (the
    agent refuses rule files others can write, whatever the checkout's
    umask was)."""
    shutil.copytree(src, dst, symlinks=True)
    for d, dirs, files in os.walk(dst):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    return dst


def fixture_bin(tmp_path, name):
    p = str(tmp_path / name)
    shutil.copy(os.path.join(FIXTURES, "scan-bin", name), p)
    os.chmod(p, 0o755)
    return p


def write_rules(tree, name, obj_or_text):
    d = os.path.join(tree, "etc", "vaultmesh", "scan.d")
    os.makedirs(d, mode=0o755, exist_ok=True)
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(obj_or_text if isinstance(obj_or_text, str)
                else json.dumps(obj_or_text))
    os.chmod(p, 0o644)


def start(agents, tmp_path, cc, **env):
    a = Agent(tmp_path, cc.url, **env).start()
    agents.append(a)
    wait_for(lambda: cc.polls_open >= 1, 10, "the agent's long poll")
    return a


def scan(cc, a, seq, timeout=30):
    cid, elem = cc.command(a.node_id(), seq, "sovereign-scan")
    cc.push(elem)
    return wait_for(lambda: (cc.results_for(cid) or [None])[0], timeout,
                    "scan result " + cid)


def assert_cc_shape(findings):
    """What the command center's parse_findings accepts, and a bit more:
    printable UTF-8 without control characters."""
    assert isinstance(findings, list) and len(findings) <= 1000
    for f in findings:
        assert set(f) == {"id", "severity", "title", "detail",
                          "remediation"}, f
        assert f["severity"] in SEVERITIES
        for k, lo, hi in (("id", 1, 128), ("title", 1, 256),
                          ("detail", 0, 4096), ("remediation", 0, 2048)):
            v = f[k]
            assert isinstance(v, str) and lo <= len(v.encode()) <= hi, f
            assert all(ord(c) >= 0x20 and not 0x7f <= ord(c) <= 0x9f
                       for c in v), f


def by_id(findings):
    out = {}
    for f in findings:
        out.setdefault(f["id"], []).append(f)
    return out


def test_root_login_fixture_gives_critical_finding_in_result(
        tmp_path, cc, agents):
    tree = copy_tree(os.path.join(FIXTURES, "scan-rootlogin"),
                     str(tmp_path / "tree"))
    check = fixture_bin(tmp_path, "fake-check")
    with open(os.path.join(tree, "etc", "hosts.equiv"), "w") as f:
        f.write("+\n")
    write_rules(tree, "10-site.json", {"rules": [
        {"id": "legacy.hosts_equiv", "severity": "high",
         "title": "hosts.equiv exists", "remediation": "rm /etc/hosts.equiv",
         "check": {"type": "file_exists", "path": "/etc/hosts.equiv"}},
        {"id": "fw.loaded", "severity": "medium", "title": "no firewall",
         "check": {"type": "command_exit", "argv": [check, "1"],
                   "expected_exit": 0, "timeout_secs": 5}},
        {"id": "fw.ok", "severity": "medium", "title": "never fires",
         "check": {"type": "command_exit", "argv": [check, "0"]}},
    ]})
    a = start(agents, tmp_path, cc, VAULTMESH_SCAN_ROOT=tree,
              VAULTMESH_SCAN_APT=fixture_bin(tmp_path, "fake-apt-get"),
              VAULTMESH_SERVICES="nginx.service")
    r = scan(cc, a, 1)
    assert r["status"] == "ok" and r["exit_code"] == 0, r
    assert_cc_shape(r["findings"])
    f = by_id(r["findings"])

    root = f["ssh.permit_root_login"]
    assert len(root) == 1 and root[0]["severity"] == "critical"
    assert root[0]["detail"] == \
        "PermitRootLogin yes at /etc/ssh/sshd_config.d/20-root.conf:1"
    assert root[0]["remediation"]
    assert "ssh.password_authentication" not in f
    assert f["kernel.randomize_va_space"][0]["severity"] == "high"
    assert "kernel.unprivileged_bpf" not in f
    assert "kernel.ip_forward" not in f
    listen = f["net.listen_all_interfaces"]
    assert len(listen) == 1 and listen[0]["severity"] == "medium"
    assert listen[0]["detail"].startswith("0.0.0.0:5432 ")
    assert f["updates.security"][0]["severity"] == "high"
    assert "libssl3" in f["updates.security"][0]["detail"]
    assert f["updates.pending"][0]["severity"] == "low"
    assert f["rule.legacy.hosts_equiv"][0]["severity"] == "high"
    assert f["rule.legacy.hosts_equiv"][0]["remediation"] == \
        "rm /etc/hosts.equiv"
    assert "exited with status 1" in f["rule.fw.loaded"][0]["detail"]
    assert "rule.fw.ok" not in f
    if not os.path.isdir("/run/systemd/system"):
        assert [x["severity"] for x in f["services.systemd_unavailable"]] \
            == ["info"]
    # The human summary counts what the findings say.
    assert "critical 1" in r["output"]
    assert a.stop()[0] == 0


def test_hardened_tree_has_nothing_above_info(tmp_path, cc, agents):
    tree = copy_tree(os.path.join(FIXTURES, "scan-good"),
                     str(tmp_path / "tree"))
    for rel, val in (("proc/sys/kernel/randomize_va_space", "2"),
                     ("proc/sys/kernel/unprivileged_bpf_disabled", "2"),
                     ("proc/sys/net/ipv4/ip_forward", "1")):
        p = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(val + "\n")
    # The example rule set ships with the agent: it must parse here.
    write_rules(tree, "example.json", open(EXAMPLE_RULES).read())
    os.makedirs(os.path.join(tree, "etc", "sysctl.d"))
    with open(os.path.join(tree, "etc", "sysctl.d", "90-vaultmesh.conf"),
              "w") as f:
        f.write("net.ipv4.tcp_syncookies = 1\n")
    a = start(agents, tmp_path, cc, VAULTMESH_SCAN_ROOT=tree,
              VAULTMESH_SCAN_FORWARDING="allowed",
              VAULTMESH_SCAN_PACKAGES="none")
    r = scan(cc, a, 1)
    assert r["status"] == "ok", r
    assert_cc_shape(r["findings"])
    f = by_id(r["findings"])
    assert "scan.rules.invalid" not in f, f
    # The example's nft rule may not run here; that is a low "error".
    above = [x for x in r["findings"] if x["severity"] != "info" and
             x["id"] not in ("scan.rules.error", "rule.firewall.nft_filter")]
    assert above == [], r["findings"]
    assert "updates.unavailable" not in f     # "none": not asked at all
    assert a.stop()[0] == 0


def test_broken_rule_file_is_a_finding_and_agent_keeps_working(
        tmp_path, cc, agents):
    tree = copy_tree(os.path.join(FIXTURES, "scan-good"),
                     str(tmp_path / "tree"))
    write_rules(tree, "10-broken.json", '{"rules": [\n  {"id": "x",\n}')
    write_rules(tree, "20-regex.json", {"rules": [
        {"id": "re", "severity": "low", "title": "t",
         "check": {"type": "line_matches", "path": "/etc/ssh/sshd_config",
                   "pattern": "(["}}]})
    a = start(agents, tmp_path, cc, VAULTMESH_SCAN_ROOT=tree,
              VAULTMESH_SCAN_PACKAGES="none")
    r = scan(cc, a, 1)
    assert r["status"] == "ok", r
    assert_cc_shape(r["findings"])
    bad = by_id(r["findings"])["scan.rules.invalid"]
    assert [x["severity"] for x in bad] == ["medium", "medium"]
    assert bad[0]["detail"].startswith("/etc/vaultmesh/scan.d/10-broken.json:3")
    assert "20-regex.json: rules[0] (id re)" in bad[1]["detail"]
    # Still alive and serving: the next command runs.
    cid, elem = cc.command(a.node_id(), 2, "agent-info")
    cc.push(elem)
    r2 = wait_for(lambda: (cc.results_for(cid) or [None])[0], 10, "info")
    assert r2["status"] == "ok"
    cfg = json.loads(r2["output"])["config"]
    assert cfg["scan_packages"] == "none"
    assert cfg["scan_allowed_ports"] == [22]
    assert a.stop()[0] == 0
