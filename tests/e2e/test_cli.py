"""Command line: --help and --version exit 0; invalid configuration exits 2
with one stderr line naming the variable."""

import os
import subprocess

import pytest

from conftest import AGENT_BIN, CC_BIN, _clean_env

BINARIES = {"command-center": CC_BIN, "node-agent": AGENT_BIN}


def run(binary, args=(), env=None, cwd=None, timeout=5):
    if not os.path.exists(binary):
        pytest.fail(f"binary not built: {binary}")
    e = _clean_env()
    e.update(env or {})
    try:
        return subprocess.run([binary, *args], env=e, cwd=cwd, timeout=timeout,
                              stdin=subprocess.DEVNULL, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{binary} {' '.join(args)} still running after {timeout}s")


@pytest.mark.parametrize("which", sorted(BINARIES))
def test_help_and_version_exit_0(which, tmp_path):
    b = BINARIES[which]
    r = run(b, ["--help"], cwd=tmp_path)
    assert r.returncode == 0, r
    out = (r.stdout + r.stderr).decode()
    assert "VAULTMESH_" in out, "--help should list the configuration variables"
    r = run(b, ["--version"], cwd=tmp_path)
    assert r.returncode == 0, r
    out = (r.stdout + r.stderr).decode()
    assert any(ch.isdigit() for ch in out), f"--version prints no version: {out!r}"
    assert list(tmp_path.iterdir()) == [], "--help/--version created files"


CC_BAD = [
    ("VAULTMESH_LISTEN", "nonsense"),
    ("VAULTMESH_LISTEN", "127.0.0.1:99999"),
    ("VAULTMESH_HEARTBEAT_STALE_MINUTES", "abc"),
    ("VAULTMESH_HEARTBEAT_STALE_MINUTES", "-3"),
    ("VAULTMESH_SCAN_INTERVAL_HOURS", "12x"),
    ("VAULTMESH_LOG", "loud"),
]
AGENT_BAD = [
    ("VAULTMESH_HEARTBEAT_SECS", "abc"),
    ("VAULTMESH_HEARTBEAT_SECS", "0"),
    ("VAULTMESH_BACKOFF_MAX_SECS", "x"),
    ("VAULTMESH_CC_URL", "not a url"),
    ("VAULTMESH_LOG", "loud"),
]


def _check_config_error(binary, var, value, base_env, tmp_path):
    env = dict(base_env)
    env[var] = value
    r = run(binary, env=env, cwd=tmp_path)
    lines = [ln for ln in r.stderr.decode(errors="replace").splitlines() if ln.strip()]
    assert r.returncode == 2, f"{var}={value!r}: exit {r.returncode}, stderr {lines}"
    assert len(lines) == 1, f"{var}={value!r}: expected one stderr line, got {lines}"
    assert var in lines[0], f"{var}={value!r}: line does not name the variable: {lines[0]!r}"


@pytest.mark.parametrize("var,value", CC_BAD)
def test_command_center_invalid_config_exits_2_naming_variable(var, value, tmp_path):
    base = {"VAULTMESH_LISTEN": "127.0.0.1:0",
            "VAULTMESH_DB": str(tmp_path / "cc.db"),
            "VAULTMESH_CC_KEY_PATH": str(tmp_path / "cc.key")}
    _check_config_error(CC_BIN, var, value, base, tmp_path)


@pytest.mark.parametrize("var,value", AGENT_BAD)
def test_node_agent_invalid_config_exits_2_naming_variable(var, value, tmp_path):
    base = {"VAULTMESH_CC_URL": "http://127.0.0.1:9",
            "VAULTMESH_ROOT": str(tmp_path / "root"),
            "VAULTMESH_OS_PROFILE": "ArchVault",
            "VAULTMESH_HEARTBEAT_SECS": "1"}
    _check_config_error(AGENT_BIN, var, value, base, tmp_path)


def test_sigterm_stops_command_center_and_agent_cleanly_with_status_0(cc, agent):
    c = cc()
    a = agent(c)
    a.wait_heartbeat()
    assert a.stop() == 0, f"agent exit status on SIGTERM:\n{a.log_tail(10)}"
    assert c.stop() == 0, f"command center exit status on SIGTERM:\n{c.log_tail(10)}"


def test_agent_restart_keeps_its_identity_and_token_without_a_new_node(cc, agent):
    c = cc()
    a = agent(c)
    a.wait_heartbeat()
    nid, token = a.node_id(), a.token()
    assert a.stop() == 0
    a.start()
    n = a.wait_heartbeat(after=c.node(nid)["heartbeat"]["sent_at"])
    assert a.node_id() == nid and a.token() == token
    assert list(c.nodes()) == [nid], "a restarted agent must not enroll as a new node"
    assert n["status"] == "approved"
