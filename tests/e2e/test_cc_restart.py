"""Durability across command-center restarts (SIGTERM and kill -9) and the
agent's recovery when the CC goes away for a while."""

import os
import stat
import time

from conftest import ENROLL_SECRET, assert_error, assert_node_shape


def _fleet(c, enroll_node):
    """Three heartbeating approved nodes, one pending, one revoked."""
    live = [enroll_node(c, hostname=f"live-{i}") for i in range(3)]
    for i, n in enumerate(live):
        r = n.heartbeat(uptime_secs=1000 + i, load1=0.5 + i,
                        cloudflare=("up", "down", "unknown")[i])
        assert r.status == 200, r
    pending = enroll_node(c, secret=None, hostname="waiting")
    revoked = enroll_node(c, hostname="gone")
    assert revoked.heartbeat().status == 200
    c.revoke(revoked.node_id)
    return live, pending, revoked


def _by_id(nodes):
    return {k: v for k, v in sorted(nodes.items())}


def test_cc_restart_after_sigterm_keeps_every_node_heartbeat_and_token(cc, enroll_node):
    c = cc()
    live, pending, revoked = _fleet(c, enroll_node)
    before = c.nodes()
    assert len(before) == 5
    pub_before = live[0].cc_public_key

    rc = c.restart(same_port=False)
    assert rc == 0, f"SIGTERM exit status {rc}"
    assert c.events("listening")

    after = c.nodes()
    assert _by_id(after) == _by_id(before)
    for n in after.values():
        assert_node_shape(n)
    assert after[pending.node_id]["status"] == "pending"
    assert after[revoked.node_id]["status"] == "revoked"
    assert after[live[1].node_id]["heartbeat"]["cloudflare"] == "down"

    # tokens still work, revoked stays refused, pending can still be approved
    for n in live:
        r = n.heartbeat()
        assert r.status == 200, r
    assert_error(revoked.heartbeat(), 401, "unauthorized")
    assert_error(revoked.enroll(), 403, "node_revoked")
    assert_error(live[0].enroll(secret=ENROLL_SECRET), 409, "already_enrolled")
    c.approve(pending.node_id)
    assert pending.enroll().status == 200
    assert pending.heartbeat().status == 200

    # the signing key was persisted (0600) and is the same after restart
    assert stat.S_IMODE(os.stat(c.key_path).st_mode) == 0o600
    fresh = enroll_node(c)
    assert fresh.cc_public_key == pub_before


def test_cc_kill_9_keeps_enrolled_nodes_tokens_and_settled_heartbeats(cc, enroll_node):
    c = cc()
    live, pending, revoked = _fleet(c, enroll_node)
    # heartbeat data may lag on disk by at most one second: let it settle
    time.sleep(1.5)
    settled = c.nodes()
    # an enrollment acknowledged right before the kill must survive too
    last = enroll_node(c, hostname="last-second")

    rc = c.restart(same_port=True, kill=True)
    assert rc == -9

    after = c.nodes()
    assert set(after) == set(settled) | {last.node_id}
    for nid, n in settled.items():
        assert after[nid]["status"] == n["status"], nid
        assert after[nid]["hostname"] == n["hostname"]
        assert after[nid]["last_heartbeat_at"] == n["last_heartbeat_at"], nid
        assert after[nid]["heartbeat"] == n["heartbeat"], nid
    assert after[last.node_id]["status"] == "approved"
    for n in live + [last]:
        r = n.heartbeat()
        assert r.status == 200, f"token of {n.hostname} after kill -9: {r!r}"
    assert_error(revoked.heartbeat(), 401, "unauthorized")
    assert after[pending.node_id]["status"] == "pending"
    assert c.node(last.node_id)["last_heartbeat_at"] is not None


def test_agent_recovers_by_itself_after_cc_was_down_for_a_while(cc, agent):
    c = cc()
    a = agent(c)
    n = a.wait_heartbeat()
    nid = a.node_id()
    port = c.port

    assert c.stop() == 0
    # the CC stays away for a few heartbeat intervals; the agent must keep
    # running and backing off (its cap is VAULTMESH_BACKOFF_MAX_SECS=2)
    down_for = 3.0
    t_end = time.monotonic() + down_for
    while time.monotonic() < t_end:
        assert a.running, f"agent exited while the CC was down:\n{a.log_tail(20)}"
        time.sleep(0.2)

    c.start(port=port)
    last_before = c.node(nid)["heartbeat"]["sent_at"]
    # backoff cap 2 s (+ jitter) plus one heartbeat interval
    n2 = a.wait_heartbeat(after=last_before, timeout=8)
    assert n2["status"] == "approved"
    assert n2["heartbeat"]["sent_at"] != n["heartbeat"]["sent_at"]
    assert a.running
    # and it keeps going
    a.wait_heartbeat(after=n2["heartbeat"]["sent_at"], timeout=6)
