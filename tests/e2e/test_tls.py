"""The agent over https, as in production behind Cloudflare: a TLS front
(tlsproxy.py) with a test CA before the real command center. The agent
verifies the CC with VAULTMESH_CA_FILE or with a hashed VAULTMESH_CA_PATH
(the default, /etc/ssl/certs, does not know the test CA: refused), then
enrolls, heartbeats and runs a signed command through its long poll."""
import os
import subprocess

import pytest

from conftest import AGENT_BIN, wait_until
from test_commands import wait_command
from tlsproxy import TlsProxy, make_ca


@pytest.fixture
def tls_front(tmp_path):
    certs = make_ca(str(tmp_path / "pki"))
    made = []

    def make(cc_):
        p = TlsProxy(certs, cc_.port)
        made.append(p)
        return p
    make.certs = certs
    yield make
    for p in made:
        p.close()


def _runs_a_command(c, a):
    a.wait_heartbeat(cc=c)
    nid = a.node_id()
    r = c.post_json(f"/nodes/{nid}/commands", {"command": "agent-info", "args": {}})
    assert r.status == 201, r
    cmd = wait_command(c, nid, r.json()["command_id"])
    assert cmd["status"] == "ok", cmd
    assert nid in cmd["output"]


def test_agent_over_https_with_ca_file(cc, agent, tls_front):
    c = cc()
    front = tls_front(c)
    a = agent(front.url, env={"VAULTMESH_CA_FILE": tls_front.certs["ca"]})
    _runs_a_command(c, a)
    assert front.handshakes >= 1 and front.failed_handshakes == 0


def test_agent_over_https_with_hashed_ca_path(cc, agent, tls_front):
    c = cc()
    front = tls_front(c)
    a = agent(front.url, env={"VAULTMESH_CA_PATH": tls_front.certs["cadir"]})
    _runs_a_command(c, a)
    assert front.failed_handshakes == 0


def test_agent_refuses_a_cc_its_cas_do_not_vouch_for(cc, agent, tls_front):
    c = cc()
    front = tls_front(c)
    # The system's CAs (the default path) do not know the test CA.
    a = agent(front.url)
    ev = wait_until(lambda: a.events("cc_unreachable"), 15,
                    "the agent to report the CC unreachable")
    assert "certificate" in ev[0].get("error", "").lower(), ev[0]
    # The front counts the refusal when it reads the agent's alert.
    wait_until(lambda: front.failed_handshakes >= 1, 5, "the refused handshake")
    assert c.nodes_list() == [], "nothing reached the CC"
    assert a.running


@pytest.mark.parametrize("var,value,why", [
    ("VAULTMESH_CA_FILE", "relative/ca.pem", "absolute path"),
    ("VAULTMESH_CA_FILE", "/nonexistent/ca.pem", "not a readable file"),
    ("VAULTMESH_CA_FILE", "/", "not a readable file"),
    ("VAULTMESH_CA_PATH", "/nonexistent/certs", "not a directory"),
    ("VAULTMESH_CA_PATH", "certs", "absolute path"),
    ("VAULTMESH_CA_PATH", "EMPTY_DIR", "no hashed certificates"),
    ("VAULTMESH_CA_FILE", "/etc/hostname", "not both"),
])
def test_bad_ca_settings_are_configuration_errors(tmp_path, var, value, why):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "VAULTMESH_ROOT": str(tmp_path / "root"), var: value}
    if value == "EMPTY_DIR":
        env[var] = str(tmp_path)
    if why == "not both":
        env["VAULTMESH_CA_PATH"] = str(tmp_path)
    p = subprocess.run([AGENT_BIN], env=env, capture_output=True, text=True,
                       timeout=10)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert len(lines) == 1 and var in lines[0] and why in lines[0], lines
