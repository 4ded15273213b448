"""Enrollment with the secret, the pending-approval path, and what the
operator sees of an enrolled node (GET /nodes, /, /nodes/<id>)."""

import os
import re
import socket
import stat

from conftest import (AGENT_CC_PUB_FILE, AGENT_NODE_ID_FILE, AGENT_TOKEN_FILE,
                      ENROLL_SECRET, HEARTBEAT_FIELDS, RFC3339_RE, UUID_RE,
                      assert_error, assert_node_shape, b64_32_bytes, wait_until)

SERVICES = ["alpha.service", "beta.service", "gamma.service"]


def pid1_is_systemd():
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "systemd"
    except OSError:
        return False


def test_agent_with_secret_enrolls_heartbeats_and_shows_facts_everywhere(cc, agent):
    c = cc()
    a = agent(c, services=",".join(SERVICES))
    n = a.wait_heartbeat()
    nid = a.node_id()

    # GET /nodes: the contract's fields, approved, sensible heartbeat facts
    assert_node_shape(n)
    assert n["status"] == "approved"
    assert n["hostname"] == socket.gethostname()
    assert n["os_profile"] == "ArchVault"
    assert RFC3339_RE.match(n["last_heartbeat_at"])
    assert n["last_scan_at"] is None
    assert n["findings"] == {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
    assert "never_scanned" in n["attention"]["reasons"]
    assert "heartbeat_stale" not in n["attention"]["reasons"]

    hb = n["heartbeat"]
    for f in HEARTBEAT_FIELDS:
        assert f in hb, f"heartbeat lacks {f}: {hb}"
    assert hb["node_id"] == nid
    assert hb["hostname"] == socket.gethostname()
    assert hb["os_profile"] == "ArchVault"
    assert isinstance(hb["agent_version"], str) and hb["agent_version"]
    assert isinstance(hb["uptime_secs"], (int, float)) and hb["uptime_secs"] > 0
    assert isinstance(hb["load1"], (int, float)) and hb["load1"] >= 0
    assert 0 <= hb["mem_used_pct"] <= 100
    assert 0 < hb["mem_used_pct"], "a running system uses some memory"
    assert 0 <= hb["root_disk_used_pct"] <= 100
    # VAULTMESH_CLOUDFLARED_METRICS points at a port nobody listens on
    assert hb["cloudflare"] == "unknown"
    assert RFC3339_RE.match(hb["sent_at"]) and hb["sent_at"].endswith("Z")
    assert [s["name"] for s in hb["services"]] == SERVICES
    for s in hb["services"]:
        assert isinstance(s["state"], str) and s["state"]
        if not pid1_is_systemd():
            assert s["state"] == "unknown", f"no systemd here, yet {s}"

    # heartbeats keep coming every VAULTMESH_HEARTBEAT_SECS=1
    a.wait_heartbeat(after=hb["sent_at"], timeout=6)

    # dashboard
    r = c.get("/")
    assert r.status == 200
    assert "text/html" in r.headers.get("content-type", "")
    assert socket.gethostname() in r.text
    assert f"/nodes/{nid}" in r.text
    assert "ArchVault" in r.text

    # node page
    r = c.get(f"/nodes/{nid}")
    assert r.status == 200
    assert "text/html" in r.headers.get("content-type", "")
    page = r.text
    assert socket.gethostname() in page
    assert "ArchVault" in page
    assert hb["agent_version"] in page
    for s in SERVICES:
        assert s in page, f"service {s} not on the node page"
    assert "approved" in page.lower()
    assert re.search(r"<form[^>]*method=[\"']?post", page, re.I), "no POST form on node page"
    assert f"/nodes/{nid}/revoke" in page, "no revoke form on an approved node's page"

    # persisted state: root 0700, files 0600, contents match what the CC knows
    assert stat.S_IMODE(os.stat(a.root).st_mode) == 0o700
    for name in (AGENT_NODE_ID_FILE, AGENT_TOKEN_FILE, AGENT_CC_PUB_FILE):
        p = a.state_path(name)
        assert os.path.isfile(p), f"{p} missing"
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, f"{p} mode {oct(os.stat(p).st_mode)}"
    token = a.token()
    assert len(token) >= 43, "a 256-bit token needs at least 43 characters"
    # The pinned key, then its version in the chain (issue 19: rotation).
    key, version = open(a.state_path(AGENT_CC_PUB_FILE)).read().split()
    assert b64_32_bytes(key), key
    assert version == "1"

    # tokens: never logged, stored only as a hash
    assert token not in c.logs, "node token appears in the CC log"
    assert token not in a.logs, "node token appears in the agent log"
    for suffix in ("", "-wal"):
        p = c.db_path + suffix
        if os.path.exists(p):
            assert token.encode() not in open(p, "rb").read(), f"token stored in clear in {p}"
    assert ENROLL_SECRET not in c.logs and ENROLL_SECRET not in a.logs


def test_enroll_with_secret_answers_token_and_key_and_second_enroll_is_409(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    assert n.last_response.status == 200
    doc = n.last_response.json()
    assert set(doc) >= {"node_token", "cc_public_key"}
    assert len(doc["node_token"]) >= 43
    assert b64_32_bytes(doc["cc_public_key"]), doc["cc_public_key"]

    other = enroll_node(c)
    assert other.token != n.token
    assert other.cc_public_key == n.cc_public_key

    # an enrolled node_id is never re-issued a token without operator action
    for secret in (ENROLL_SECRET, None):
        r = n.enroll(secret=secret)
        assert_error(r, 409, "already_enrolled")
    # the first token still works
    r = n.heartbeat()
    assert r.status == 200, r
    assert r.json().items() >= {"ok": True, "pending_commands": 0}.items()
    node = c.node(n.node_id)
    assert node["status"] == "approved"
    assert node["last_heartbeat_at"] is not None
    assert node["heartbeat"]["hostname"] == n.hostname
    assert_node_shape(node)


def test_enroll_without_or_with_wrong_secret_is_pending_until_operator_approves(cc, enroll_node):
    c = cc()
    no_secret = enroll_node(c, secret=None)
    assert no_secret.last_response.json()["status"] == "pending"
    mark = c.mark()
    wrong = enroll_node(c, secret="not-the-secret-XYZ")
    assert wrong.last_response.status == 202
    assert wrong.last_response.json()["status"] == "pending"
    # a wrong secret is logged (but not the secret itself)
    logged = [ln for ln in c.lines_since(mark)
              if wrong.node_id in ln and "secret" in ln.lower()]
    assert logged, "no log line about the wrong enroll secret"
    assert "not-the-secret-XYZ" not in c.logs

    # asking again while pending: still 202, no token
    r = no_secret.enroll()
    assert r.status == 202 and r.json()["status"] == "pending"

    nodes = c.nodes()
    for n in (no_secret, wrong):
        assert nodes[n.node_id]["status"] == "pending"
        assert nodes[n.node_id]["last_heartbeat_at"] is None
        assert nodes[n.node_id]["hostname"] == n.hostname
        assert "heartbeat_stale" in nodes[n.node_id]["attention"]["reasons"]
        assert_node_shape(nodes[n.node_id])

    # the pending node's page offers approval
    r = c.get(f"/nodes/{no_secret.node_id}")
    assert r.status == 200
    assert "pending" in r.text.lower()
    assert f"/nodes/{no_secret.node_id}/approve" in r.text

    # operator approves with a form: 303 back to the node page
    c.approve(no_secret.node_id)
    assert c.node(no_secret.node_id)["status"] == "approved"
    # operator approves with JSON: 200 {"ok":true,"status":"approved"}
    r = c.post_json(f"/nodes/{wrong.node_id}/approve", {})
    assert r.status == 200, r
    assert r.json().items() >= {"ok": True, "status": "approved"}.items()

    # the next enroll of each gets its token once; later enrolls 409
    for n in (no_secret, wrong):
        r = n.enroll()
        assert r.status == 200, r
        assert n.token and len(n.token) >= 43
        assert_error(n.enroll(), 409, "already_enrolled")
        r = n.heartbeat()
        assert r.status == 200, r
    assert no_secret.token != wrong.token
    nodes = c.nodes()
    for n in (no_secret, wrong):
        assert nodes[n.node_id]["status"] == "approved"
        assert nodes[n.node_id]["last_heartbeat_at"] is not None


def test_cc_without_enroll_secret_keeps_every_node_pending(cc, enroll_node):
    c = cc(secret=None)
    n = enroll_node(c, secret="anything", expect=202)
    assert n.last_response.json()["status"] == "pending"
    assert c.node(n.node_id)["status"] == "pending"
    n2 = enroll_node(c, secret="", expect=202)
    assert c.node(n2.node_id)["status"] == "pending"


def test_agent_without_secret_waits_pending_then_heartbeats_after_form_approval(cc, agent):
    c = cc()
    a = agent(c, secret=None)
    nid = a.node_id()
    node = wait_until(lambda: c.node(nid), 10, "the pending node to appear in /nodes")
    assert node["status"] == "pending"
    assert node["last_heartbeat_at"] is None
    assert UUID_RE.match(nid)
    # the agent was answered 202 (the CC logs each request at debug level)
    wait_until(lambda: [e for e in c.events("http") if e.get("path") == "/api/agent/enroll"
                        and e.get("status") == "202"], 10,
               "a 202 answer to the agent's enroll in the CC log")
    assert not os.path.exists(a.state_path(AGENT_TOKEN_FILE))
    assert a.running, "a pending agent must keep running"

    r = c.post_form(f"/nodes/{nid}/approve")
    assert r.status == 303, r
    assert r.headers["location"].endswith(f"/nodes/{nid}")

    n = wait_until(lambda: (lambda x: x if x and x["last_heartbeat_at"] else None)(c.node(nid)),
                   15, "the approved agent's first heartbeat")
    assert n["status"] == "approved"
    assert n["heartbeat"]["node_id"] == nid
    assert os.path.exists(a.state_path(AGENT_TOKEN_FILE))
    assert_node_shape(n)


def test_approved_pending_node_token_goes_only_to_the_agent_with_its_enroll_key(cc, agent):
    """The agent chose an enroll key at its first start and sent it with its
    first enrollment: after the operator approves the pending node, someone
    who learned the node's id gets 403 (with or without the enroll secret),
    and only the real agent receives the token."""
    c = cc()
    a = agent(c, secret=None)
    nid = a.node_id()
    wait_until(lambda: c.node(nid), 10, "the pending node to appear in /nodes")
    key_path = a.state_path("enroll_key")
    st = os.stat(key_path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    with open(key_path) as f:
        key = f.read().strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key), key
    assert key not in a.logs, "the enroll key must never be logged"
    # A malformed key is refused before anything else.
    assert_error(c.enroll(nid, secret=ENROLL_SECRET, enroll_key="short"), 400,
                 "invalid_field")
    # While pending, an impostor is only told "pending".
    other = "x" * 43
    assert c.enroll(nid, enroll_key=other).status == 202
    # Stop the agent so that the impostor is first after the approval.
    a.stop()
    c.approve(nid)
    for extra in ({}, {"enroll_key": other}):
        for secret in (None, ENROLL_SECRET):
            r = c.enroll(nid, secret=secret, **extra)
            assert_error(r, 403, "enroll_key_mismatch")
            assert "node_token" not in r.text
    assert [e for e in c.events("enroll_key_mismatch") if e.get("node_id") == nid]
    # The real agent, back, is the one that gets the token.
    a.start()
    n = wait_until(lambda: (lambda x: x if x and x["last_heartbeat_at"] else None)(c.node(nid)),
                   15, "the real agent's first heartbeat after approval")
    assert n["status"] == "approved"
    assert os.path.exists(a.state_path(AGENT_TOKEN_FILE))
    assert c.enroll(nid, enroll_key=key).status == 409
    metrics = c.get("/metrics").text
    assert 'vaultmesh_enrollments_total{outcome="key_mismatch"} 4' in metrics
