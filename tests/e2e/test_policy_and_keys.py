"""The command policy file (per-profile lists, default, SIGHUP reload) and
the command-signing key file rules (issue 3)."""

import json
import os
import signal
import stat
import subprocess

from conftest import CC_BIN, assert_error, wait_until


def run_cc(tmp_path, **env):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "VAULTMESH_LISTEN": "127.0.0.1:0",
         "VAULTMESH_DB": str(tmp_path / "cc.db"),
         "VAULTMESH_CC_KEY_PATH": str(tmp_path / "cc.key")}
    e.update(env)
    return subprocess.run([CC_BIN], env=e, capture_output=True, text=True,
                          timeout=20)


def write_policy(path, doc):
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_policy_file_allows_per_profile_and_default(cc, enroll_node, tmp_path):
    pol = write_policy(tmp_path / "policy.json", {
        "default": ["agent-info"],
        "profiles": {"ArchVault": ["service-restart", "agent-info"]}})
    c = cc(env={"VAULTMESH_POLICY_PATH": pol})
    arch = enroll_node(c, os_profile="ArchVault")
    other = enroll_node(c, os_profile="Edge")
    r = c.post_json(f"/nodes/{arch.node_id}/commands",
                    {"command": "service-restart", "args": {"unit": "a.service"}})
    assert r.status == 201, r
    r = c.post_json(f"/nodes/{arch.node_id}/commands", {"command": "sovereign-scan"})
    assert_error(r, 403, "command_not_allowed")
    r = c.post_json(f"/nodes/{other.node_id}/commands",
                    {"command": "service-restart", "args": {"unit": "a.service"}})
    assert_error(r, 403, "command_not_allowed")
    assert c.post_json(f"/nodes/{other.node_id}/commands",
                       {"command": "agent-info"}).status == 201
    # The node page offers only what the profile allows.
    page = c.get(f"/nodes/{other.node_id}").text
    assert 'value="agent-info"' in page
    assert 'value="service-restart"' not in page and 'value="sovereign-scan"' not in page


def test_malformed_policy_stops_the_cc_with_line_and_reason(tmp_path):
    bad = write_policy(tmp_path / "bad.json", '{\n  "default": ["agent-info",\n}\n')
    r = run_cc(tmp_path, VAULTMESH_POLICY_PATH=bad)
    assert r.returncode == 2, r
    line = r.stderr.strip()
    assert "\n" not in line and "VAULTMESH_POLICY_PATH" in line
    assert "bad.json:3" in line, line
    for doc, why in ((["agent-info"], "object"),
                     ({"default": ["rm"]}, "rm"),
                     ({"profiles": {"A": "agent-info"}}, "array"),
                     ({"profiles": {"bad profile": []}}, "profile"),
                     ({"defaults": []}, "unknown key")):
        p = write_policy(tmp_path / "p.json", doc)
        r = run_cc(tmp_path, VAULTMESH_POLICY_PATH=p)
        assert r.returncode == 2 and why in r.stderr, (doc, r.stderr)
    r = run_cc(tmp_path, VAULTMESH_POLICY_PATH=str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "missing.json" in r.stderr


def test_sighup_reloads_the_policy_and_a_bad_reload_keeps_the_old(cc, enroll_node, tmp_path):
    path = tmp_path / "policy.json"
    write_policy(path, {"default": ["agent-info"]})
    c = cc(env={"VAULTMESH_POLICY_PATH": str(path)})
    n = enroll_node(c)
    assert_error(c.post_json(f"/nodes/{n.node_id}/commands",
                             {"command": "sovereign-scan"}), 403, "command_not_allowed")
    write_policy(path, {"default": ["agent-info", "sovereign-scan"]})
    mark = c.mark()
    c.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any("event=policy_reloaded" in ln for ln in c.lines_since(mark)),
               5, "policy_reloaded")
    assert c.post_json(f"/nodes/{n.node_id}/commands",
                       {"command": "sovereign-scan"}).status == 201
    write_policy(path, "{ not json")
    mark = c.mark()
    c.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any("event=policy_reload_failed" in ln
                           for ln in c.lines_since(mark)), 5, "policy_reload_failed")
    # The old (second) policy stays in force.
    assert c.post_json(f"/nodes/{n.node_id}/commands",
                       {"command": "sovereign-scan"}).status == 201
    assert c.running


def test_signing_key_is_created_0600_and_reused(cc, enroll_node):
    c = cc()
    n1 = enroll_node(c)
    mode = stat.S_IMODE(os.stat(c.key_path).st_mode)
    assert mode == 0o600, oct(mode)
    c.restart()
    n2 = enroll_node(c)
    assert n1.cc_public_key == n2.cc_public_key, "same key after a restart"


def test_key_readable_by_others_or_corrupt_stops_the_cc(tmp_path):
    key = tmp_path / "cc.key"
    g = subprocess.run([CC_BIN, "--generate-key", str(key)], capture_output=True,
                       text=True, timeout=10)
    assert g.returncode == 0, g.stderr
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    os.chmod(key, 0o644)
    r = run_cc(tmp_path, VAULTMESH_CC_KEY_PATH=str(key))
    assert r.returncode == 2 and "VAULTMESH_CC_KEY_PATH" in r.stderr, r
    assert "chmod 600" in r.stderr
    os.chmod(key, 0o600)
    key.write_text("not base64 at all!\n")
    r = run_cc(tmp_path, VAULTMESH_CC_KEY_PATH=str(key))
    assert r.returncode == 2 and "corrupt" in r.stderr, r
    key.write_text("AAAA\n")     # valid base64, wrong length
    r = run_cc(tmp_path, VAULTMESH_CC_KEY_PATH=str(key))
    assert r.returncode == 2 and "corrupt" in r.stderr, r
