"""The node agent against a fake command center: configuration, enrollment,
heartbeats, outages, revocation and shutdown (issue 2)."""
import base64
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

sys.dont_write_bytecode = True     # no __pycache__ in the fixtures folder
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "agent_fixtures"))
from fakecc import AGENT_BIN, Agent, FakeCC, wait_for, agents, cc  # noqa: E402,F401

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                     r"[0-9a-f]{12}$")
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def start(agents, tmp_path, cc, **env):
    a = Agent(tmp_path, cc.url, **env).start()
    agents.append(a)
    return a


def test_version_and_help_exit_0():
    out = subprocess.run([AGENT_BIN, "--version"], capture_output=True,
                         text=True, timeout=5)
    assert out.returncode == 0
    assert out.stdout.strip() == "vaultmesh-node-agent 0.1.0"
    out = subprocess.run([AGENT_BIN, "--help"], capture_output=True,
                         text=True, timeout=5)
    assert out.returncode == 0
    for var in ("VAULTMESH_CC_URL", "VAULTMESH_OS_PROFILE", "VAULTMESH_ROOT",
                "VAULTMESH_HEARTBEAT_SECS", "VAULTMESH_ENROLL_SECRET",
                "VAULTMESH_SERVICES", "VAULTMESH_LOG",
                "VAULTMESH_BACKOFF_MAX_SECS", "VAULTMESH_CLOUDFLARED_METRICS",
                "VAULTMESH_CC_PUBKEY"):
        assert var in out.stdout


@pytest.mark.parametrize("var,value", [
    ("VAULTMESH_CC_URL", "ftp://example.org"),
    ("VAULTMESH_CC_URL", "http://"),
    ("VAULTMESH_OS_PROFILE", "bad profile"),
    ("VAULTMESH_OS_PROFILE", "x" * 65),
    ("VAULTMESH_HEARTBEAT_SECS", "0"),
    ("VAULTMESH_HEARTBEAT_SECS", "86401"),
    ("VAULTMESH_HEARTBEAT_SECS", "ten"),
    ("VAULTMESH_SERVICES", "nginx.service,not a unit"),
    ("VAULTMESH_SERVICES", ",".join("u%d.service" % i for i in range(33))),
    ("VAULTMESH_LOG", "verbose"),
    ("VAULTMESH_BACKOFF_MAX_SECS", "3601"),
    ("VAULTMESH_CLOUDFLARED_METRICS", "127.0.0.1"),
    ("VAULTMESH_CLOUDFLARED_METRICS", "127.0.0.1:70000"),
    ("VAULTMESH_CC_PUBKEY", "not-base64!"),
    ("VAULTMESH_CC_PUBKEY", base64.b64encode(b"short").decode()),
])
def test_invalid_config_exits_2_naming_the_variable(tmp_path, var, value):
    env = {"PATH": "/usr/bin:/bin", "VAULTMESH_ROOT": str(tmp_path / "r"),
           var: value}
    out = subprocess.run([AGENT_BIN], env=env, capture_output=True,
                         text=True, timeout=5)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert var in lines[0]
    assert not os.path.exists(tmp_path / "r"), "nothing created on bad config"


def test_enrolls_persists_state_and_sends_contract_heartbeats(
        tmp_path, cc, agents):
    a = start(agents, tmp_path, cc, VAULTMESH_ENROLL_SECRET="s3cret-value",
              VAULTMESH_SERVICES="vaultmesh-test-a.service, ssh.service",
              VAULTMESH_ROOT=str(tmp_path / "deep" / "root"))
    a.root = str(tmp_path / "deep" / "root")
    wait_for(lambda: cc.heartbeat_count() >= 2, 10, "two heartbeats")
    node_id = a.node_id()
    assert UUID_RE.match(node_id)

    enroll = cc.enrolls[0]
    assert enroll["node_id"] == node_id
    assert enroll["os_profile"] == "TestVault"
    assert enroll["agent_version"] == "0.1.0"
    assert enroll["enroll_secret"] == "s3cret-value"
    assert enroll["hostname"]

    assert stat.S_IMODE(os.stat(a.root).st_mode) == 0o700
    for name in ("node_id", "node_token", "cc_ed25519.pub"):
        st = os.stat(os.path.join(a.root, name))
        assert stat.S_IMODE(st.st_mode) == 0o600, name
    with open(os.path.join(a.root, "node_token")) as f:
        assert f.read().strip() == cc.token
    with open(os.path.join(a.root, "cc_ed25519.pub")) as f:
        # The key, then its version: 0, this fake CC tells none.
        assert f.read().split() == [cc.pubkey_b64, "0"]

    headers, hb = cc.heartbeats[-1]
    assert headers["Authorization"] == "Bearer " + cc.token
    assert hb["node_id"] == node_id
    assert hb["os_profile"] == "TestVault"
    assert hb["agent_version"] == "0.1.0"
    assert isinstance(hb["hostname"], str) and hb["hostname"]
    assert isinstance(hb["uptime_secs"], int) and hb["uptime_secs"] >= 0
    assert isinstance(hb["load1"], (int, float)) and hb["load1"] >= 0
    assert 0 <= hb["mem_used_pct"] <= 100
    assert 0 <= hb["root_disk_used_pct"] <= 100
    assert hb["cloudflare"] in ("up", "down", "unknown")
    assert [s["name"] for s in hb["services"]] == [
        "vaultmesh-test-a.service", "ssh.service"]
    if not os.path.exists("/run/dbus/system_bus_socket"):
        # No system bus here: the states are unknown, never invented.
        assert all(s["state"] == "unknown" for s in hb["services"])
        assert hb["cloudflare"] == "unknown"
    assert RFC3339_RE.match(hb["sent_at"])

    log = a.log()
    assert cc.token not in log and "s3cret-value" not in log
    rc, secs = a.stop()
    assert rc == 0


class ReadyServer:
    """A stand-in for cloudflared's metrics server (/ready)."""

    def __init__(self, status):
        st = status

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(st if self.path == "/ready" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [200, 503])
def test_a_ready_endpoint_nothing_vouches_for_is_unknown(tmp_path, cc, agents,
                                                         status):
    # No cloudflared.service on this host: a /ready server any local user
    # could start is neither "up" nor "down" (the unit tests drive the real
    # up and down through a fake /proc and systemd's word).
    ready = ReadyServer(status)
    try:
        start(agents, tmp_path, cc,
              VAULTMESH_CLOUDFLARED_METRICS="127.0.0.1:9," + ready.addr)
        wait_for(lambda: cc.heartbeat_count() >= 1, 10, "a heartbeat")
        assert cc.heartbeats[-1][1]["cloudflare"] == "unknown"
    finally:
        ready.close()


def test_pending_enrollment_waits_for_approval(tmp_path, cc, agents):
    cc.enroll_mode = "pending"
    a = start(agents, tmp_path, cc)
    wait_for(lambda: len(cc.enrolls) >= 2, 10, "enroll retried while pending")
    assert "event=enroll_pending" in a.log()
    assert cc.heartbeat_count() == 0
    assert not os.path.exists(os.path.join(a.root, "node_token"))
    cc.enroll_mode = "approve"
    wait_for(lambda: cc.heartbeat_count() >= 1, 10, "heartbeat after approval")
    assert a.log().count("event=enroll_pending") == 1
    assert a.stop()[0] == 0


def test_enroll_conflict_tells_operator_to_reapprove(tmp_path, cc, agents):
    cc.enroll_mode = "conflict"
    a = start(agents, tmp_path, cc)
    wait_for(lambda: "event=enroll_conflict" in a.log(), 10, "conflict log")
    line = [l for l in a.log().splitlines() if "event=enroll_conflict" in l][0]
    assert "level=error" in line and "re-approve" in line
    assert a.proc.poll() is None
    assert a.stop()[0] == 0


def test_restart_keeps_identity_and_token(tmp_path, cc, agents):
    a = start(agents, tmp_path, cc)
    wait_for(lambda: cc.heartbeat_count() >= 1, 10, "heartbeat")
    first_id = a.node_id()
    assert a.stop()[0] == 0
    n = cc.heartbeat_count()
    b = start(agents, tmp_path, cc)
    wait_for(lambda: cc.heartbeat_count() > n, 10, "heartbeat after restart")
    assert b.node_id() == first_id
    assert len(cc.enrolls) == 1, "a persisted token skips enrollment"
    assert b.stop()[0] == 0


def test_outage_backs_off_logs_once_and_recovers(tmp_path, cc, agents):
    a = start(agents, tmp_path, cc)
    wait_for(lambda: cc.heartbeat_count() >= 1, 10, "heartbeat")
    cc.heartbeat_status = 503
    n0 = cc.heartbeat_count()
    wait_for(lambda: cc.heartbeat_count() >= n0 + 5, 20, "retries during outage")
    # Backoff: 1 s, 2 s (cap) with jitter in [d/2, d]: never faster than 0.5 s.
    times = cc.heartbeat_times[n0:n0 + 5]
    gaps = [b - a_ for a_, b in zip(times, times[1:])]
    assert min(gaps) >= 0.45, gaps
    cc.heartbeat_status = 200
    n1 = cc.heartbeat_count()
    wait_for(lambda: "event=cc_recovered" in a.log(), 10, "recovery log")
    wait_for(lambda: cc.heartbeat_count() >= n1 + 2, 10, "heartbeats again")
    log = a.log()
    info = [l for l in log.splitlines() if "event=cc_unreachable" in l and
            "level=debug" not in l]
    assert len(info) == 1, info
    assert log.count("event=cc_recovered") == 1
    assert a.stop()[0] == 0


def test_cc_down_at_start_then_up(tmp_path, agents):
    probe = FakeCC()                 # learn a free port, then free it
    url, port = probe.url, probe.server.server_address[1]
    probe.close()
    a = Agent(tmp_path, url).start()
    agents.append(a)
    wait_for(lambda: "event=cc_unreachable" in a.log(), 10, "unreachable log")
    assert a.proc.poll() is None
    cc = FakeCC(port)
    try:
        wait_for(lambda: cc.heartbeat_count() >= 1, 15, "heartbeat after CC up")
        assert "event=cc_recovered" in a.log()
        assert a.stop()[0] == 0
    finally:
        cc.close()


def test_revoked_token_stops_then_sighup_reenrolls(tmp_path, cc, agents):
    a = start(agents, tmp_path, cc)
    wait_for(lambda: cc.heartbeat_count() >= 1 and cc.polls >= 1, 10,
             "heartbeat and poll")
    old = cc.token
    with cc.cond:
        cc.valid_tokens.clear()             # the operator revoked the node
        cc.enroll_mode = "revoked"
    wait_for(lambda: "event=revoked" in a.log(), 10, "revoked log")
    line = [l for l in a.log().splitlines() if "event=revoked" in l][0]
    assert "level=error" in line
    hb, polls, enrolls = cc.heartbeat_count(), cc.polls, len(cc.enrolls)
    # Observe a window of three heartbeat periods: nothing is sent.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        assert cc.heartbeat_count() == hb
        assert len(cc.enrolls) == enrolls
        time.sleep(0.05)
    assert cc.polls == polls or cc.polls == polls + 1  # one in flight at most
    assert a.proc.poll() is None, "stays running, idle"

    # The operator approves again: a SIGHUP makes it enroll for a new token.
    with cc.cond:
        cc.token = "new-" + old
        cc.valid_tokens.add(cc.token)
        cc.enroll_mode = "approve"
    a.signal(signal.SIGHUP)
    wait_for(lambda: cc.heartbeat_count() > hb, 10, "heartbeats after SIGHUP")
    assert cc.heartbeats[-1][0]["Authorization"] == "Bearer " + cc.token
    with open(os.path.join(a.root, "node_token")) as f:
        assert f.read().strip() == cc.token
    assert a.stop()[0] == 0


def test_sigterm_during_long_poll_exits_promptly(tmp_path, cc, agents):
    a = start(agents, tmp_path, cc)
    wait_for(lambda: cc.polls_open >= 1, 10, "a long poll held open")
    rc, secs = a.stop()
    assert rc == 0
    assert secs < 1.5, secs
    assert "event=stopped" in a.log()


def test_sigterm_during_backoff_exits_promptly(tmp_path, cc, agents):
    cc.enroll_mode = "500"
    a = start(agents, tmp_path, cc, VAULTMESH_BACKOFF_MAX_SECS="3600")
    wait_for(lambda: len(cc.enrolls) >= 3, 15, "enroll retries")
    rc, secs = a.stop()
    assert rc == 0 and secs < 1.5, secs
