"""Several command centers on one PostgreSQL database act as one (issue 17):
what is queued, enrolled, approved, revoked or deleted on one replica takes
effect on the others; one of them leads (scheduler, expiry, samples)."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import (CC_BIN, PG_BASE, FakeNode, http_request, stays_true,
                      wait_until)
from test_commands import commands_of, queue_json, wait_command
from test_metrics import metric

pytestmark = pytest.mark.skipif(PG_BASE is None,
                                reason="replicas share a PostgreSQL database")


def replicas(cc, n, env=None, db=None):
    """n command centers on one database (db: its URI, else a new one on
    VM_TEST_PG), with one signing key."""
    first = cc(env=env, start=False)
    first.db_path = db or first.db_path
    first.start()
    out = [first]
    for _ in range(n - 1):
        c = cc(env=env, start=False)
        c.db_path = first.db_path
        shutil.copy(first.key_path, c.key_path)
        out.append(c.start())
    return out


def leaders(cs):
    return sum(metric(c.get("/metrics").text, "vaultmesh_replica_leader") or 0
               for c in cs if c.running)


def dispatches(c):
    return metric(c.get("/metrics").text, "vaultmesh_dispatch_delay_seconds_count") or 0


def test_a_command_queued_on_one_replica_wakes_the_poll_parked_on_another(cc, agent):
    a_cc, b_cc = replicas(cc, 2)
    a = agent(a_cc)                      # the agent talks to replica A only
    a.wait_heartbeat()
    nid = a.node_id()
    wait_until(lambda: a_cc.get("/metrics").text.find(
        "vaultmesh_longpolls_waiting 1") >= 0, 10, "the agent's poll parked on A")
    before = dispatches(a_cc)
    body = queue_json(b_cc, nid, {"command": "agent-info"})
    cmd = wait_command(b_cc, nid, body["command_id"])
    assert cmd["status"] == "ok", cmd
    # Delivered by a wake of the parked poll (counted), not at its timeout.
    assert dispatches(a_cc) == before + 1
    # A heard B's notice: its lag is in A's histogram.
    t = a_cc.get("/metrics").text
    assert metric(t, "vaultmesh_replica_notify_lag_seconds_count") >= 1
    assert metric(t, "vaultmesh_replica_read_age_seconds") < 0.75
    # The same command, seen from both, exactly once; seq from the one row.
    assert [x["command_id"] for x in commands_of(a_cc, nid)] == [body["command_id"]]
    second = queue_json(a_cc, nid, {"command": "agent-info"})
    assert second["seq"] == body["seq"] + 1
    assert wait_command(a_cc, nid, second["command_id"])["status"] == "ok"


def test_a_node_enrolled_on_one_replica_is_known_on_the_others_at_once(cc):
    a_cc, b_cc = replicas(cc, 2)
    n = FakeNode(a_cc)
    assert n.enroll(secret=a_cc.secret).status == 200
    n.cc = b_cc                           # its very next request lands on B
    assert n.heartbeat().status == 200
    wait_until(lambda: a_cc.node(n.node_id)["last_heartbeat_at"] is not None, 10,
               "A sees the heartbeat B took")
    assert a_cc.node(n.node_id)["hostname"] == n.hostname


def test_revoking_on_one_replica_refuses_the_token_on_every_replica(cc):
    cs = replicas(cc, 3)
    n = FakeNode(cs[0])
    assert n.enroll(secret=cs[0].secret).status == 200
    for c in cs:
        n.cc = c
        assert n.heartbeat().status == 200
    cs[1].revoke(n.node_id)
    for c in cs:
        n.cc = c
        wait_until(lambda: n.heartbeat().status == 401, 5,
                   f"the revoked token refused on {c.name}")
        assert c.node(n.node_id)["status"] == "revoked"


def test_a_deletion_on_one_replica_leaves_every_replica_and_ends_the_poll(cc):
    a_cc, b_cc = replicas(cc, 2)
    n = FakeNode(a_cc)
    assert n.enroll(secret=a_cc.secret).status == 200
    # A poll parked on B; the node is deleted on A.
    import threading
    got = {}

    def poll():
        got["r"] = http_request(b_cc.port, "GET",
                                f"/api/agent/commands?node_id={n.node_id}&wait=25",
                                headers={"Authorization": f"Bearer {n.token}"},
                                timeout=30)
    t = threading.Thread(target=poll)
    t.start()
    wait_until(lambda: "vaultmesh_longpolls_waiting 1" in b_cc.get("/metrics").text,
               10, "the poll parked on B")
    r = a_cc.request("DELETE", f"/nodes/{n.node_id}")
    assert r.status == 200, r
    t.join(10)
    assert not t.is_alive(), "the parked poll did not end"
    assert got["r"].status == 401, got["r"]
    wait_until(lambda: all(x["node_id"] != n.node_id for x in b_cc.nodes()), 5,
               "B's list drops the node")
    n.cc = b_cc
    assert n.heartbeat().status == 401


def test_one_replica_leads_and_another_takes_over_when_it_dies(cc):
    env = {"VAULTMESH_SCHEDULER_TICK_SECONDS": "1"}
    cs = replicas(cc, 3, env=env)
    wait_until(lambda: leaders(cs) == 1, 10, "one leader")
    n = FakeNode(cs[0])
    assert n.enroll(secret=cs[0].secret).status == 200
    # Never scanned: the leader's scheduler queues one scan; three
    # replicas never queue three.
    wait_until(lambda: any(x["command"] == "sovereign-scan"
                           for x in commands_of(cs[2], n.node_id)), 15,
               "the leader queued the first scan")
    assert stays_true(lambda: len(commands_of(cs[1], n.node_id)) == 1, 3)
    lead = next(c for c in cs if metric(c.get("/metrics").text,
                                        "vaultmesh_replica_leader") == 1)
    lead.kill()
    rest = [c for c in cs if c is not lead]
    wait_until(lambda: leaders(rest) == 1, 15, "another replica leads")


def test_a_second_replica_starts_on_a_database_in_use(cc):
    a_cc, b_cc = replicas(cc, 2)
    for c in (a_cc, b_cc):
        r = c.get("/healthz")
        assert r.status == 200 and r.json()["ok"] is True, r


def test_replicas_run_as_a_role_with_rights_on_the_rows_only(cc, agent):
    """OPERATIONS.md's least privilege: the owner migrates once
    (--migrate); the command centers' own role may read and write rows and
    nothing else (no DDL, no ownership)."""
    first = cc(start=False)
    owner_uri = first.db_path
    p = subprocess.run([CC_BIN, "--migrate"], capture_output=True, text=True,
                       timeout=60, env={"VAULTMESH_DB": owner_uri,
                                        "PATH": os.environ["PATH"]})
    assert p.returncode == 0, p.stderr
    db = owner_uri.rsplit("/", 1)[1]
    role = "app_" + db[-12:]
    for sql in (f"CREATE ROLE {role} LOGIN",
                f"GRANT CONNECT ON DATABASE {db} TO {role}",
                f"GRANT USAGE ON SCHEMA public TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"):
        r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", owner_uri, "-c", sql],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    app_uri = owner_uri.replace("postgresql://vm@", f"postgresql://{role}@")
    cs = replicas(cc, 2, db=app_uri)
    a = agent(cs[0])
    a.wait_heartbeat()
    body = queue_json(cs[1], a.node_id(), {"command": "agent-info"})
    assert wait_command(cs[0], a.node_id(), body["command_id"])["status"] == "ok"
    # The role cannot change the schema.
    r = subprocess.run(["psql", "-XAtq", app_uri, "-c", "DROP TABLE audit"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "must be owner" in r.stderr, r


def test_a_rotation_on_one_replica_signs_and_leads_on_every_replica(cc, agent):
    """Issue 19 over replicas: the keys are the database's. A rotation on
    B is what A signs with before its next delivery (A asks the store for
    the newest key first), the agent on A walks the link A sends, and the
    replaced key is retired once the node has moved."""
    a_cc, b_cc = replicas(cc, 2)
    a = agent(a_cc)                      # the agent talks to replica A only
    a.wait_heartbeat()
    nid = a.node_id()
    k1 = a_cc.json_get("/keys")["current"]
    wait_until(lambda: a_cc.node(nid)["pinned_key_id"] == k1, 15,
               "the node on key 1")
    r = b_cc.post_json("/keys/rotate", {})
    assert r.status == 202, r
    k2 = r.json()["key_id"]
    # Queued on A at once: signed with key 2 by the time it goes out.
    body = queue_json(a_cc, nid, {"command": "agent-info"})
    assert wait_command(a_cc, nid, body["command_id"])["status"] == "ok"
    wait_until(lambda: b_cc.node(nid)["pinned_key_id"] == k2, 15,
               "B to see the node on key 2")
    for c in (a_cc, b_cc):
        wait_until(lambda: {k["key_id"]: k["state"] for k in
                            c.json_get("/keys")["keys"]} ==
                   {k1: "retired", k2: "current"}, 15,
                   "every replica to see key 1 retired")
    # Two rotations at once on two replicas: one wins, one is told.
    import threading
    out = {}

    def go(name, c):
        out[name] = c.post_json("/keys/rotate", {}).status
    ts = [threading.Thread(target=go, args=(n, c))
          for n, c in (("a", a_cc), ("b", b_cc))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(out.values()) in ([202, 202], [202, 409]), out
    versions = sorted(k["version"] for k in a_cc.json_get("/keys")["keys"])
    assert versions == list(range(1, len(versions) + 1))
    body = queue_json(b_cc, nid, {"command": "agent-info"})
    assert wait_command(b_cc, nid, body["command_id"])["status"] == "ok"


def _dash_rows(c, query=""):
    """The dashboard's rows, in order: (level class, node id)."""
    r = c.get("/" + query)
    assert r.status == 200, r
    return re.findall(r'<tr class="lvl-(\w+)"><td><a href="/nodes/([0-9a-f-]{36})"',
                      r.text)


def _db_order(db):
    """The dashboard's order as the database keeps it."""
    r = subprocess.run(
        ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", db, "-c",
         "SELECT CASE attn_rank WHEN 3 THEN 'revoked' WHEN 0 THEN 'red'"
         " WHEN 1 THEN 'yellow' ELSE 'green' END || ' ' || node_id FROM nodes"
         " WHERE deleted_at IS NULL ORDER BY attn_rank, hostname COLLATE \"C\","
         " node_id COLLATE \"C\""],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return [tuple(x.split(" ")) for x in r.stdout.splitlines()]


def test_every_replica_reads_the_dashboard_and_nodes_from_the_database(cc):
    """The dashboard's order, counts and pages and GET /nodes come from the
    database (the attention kept beside each row), so every replica gives
    the same answer the moment a change is in, wherever it was made, and
    the levels follow time with no heartbeat (a stale node turns red)."""
    env = {"VAULTMESH_HEARTBEAT_STALE_MINUTES": "1"}
    a_cc, b_cc = replicas(cc, 2, env=env)
    nodes = []
    for i in range(130):                  # two pages of 100
        n = FakeNode(a_cc, hostname=f"host-{(i * 37) % 130:03d}")
        assert n.enroll(secret=a_cc.secret).status == 200
        nodes.append(n)
    revoked, deleted = nodes[5], nodes[6]
    for i, n in enumerate(nodes):
        if n in (revoked, deleted):
            continue
        n.cc = b_cc if i % 2 else a_cc    # heartbeats land on either replica
        assert n.heartbeat(cloudflare="down" if i % 7 == 0 else "up").status == 200
    assert a_cc.post_json(f"/nodes/{revoked.node_id}/revoke", {}).status == 200
    assert b_cc.request("DELETE", f"/nodes/{deleted.node_id}").status == 200

    def same_everywhere():
        want = _db_order(a_cc.db_path)
        pages = [_dash_rows(c) + _dash_rows(c, "?page=2") for c in (a_cc, b_cc)]
        return pages[0] == want and pages[1] == want
    wait_until(same_everywhere, 10, "both replicas show the database's order")
    order = _db_order(a_cc.db_path)
    assert len(order) == 129 and ("revoked", revoked.node_id) == order[-1]
    levels = [lv for lv, _ in order]
    assert levels.count("red") == len([i for i in range(130) if i % 7 == 0
                                       and i not in (5, 6)])
    assert deleted.node_id not in {nid for _, nid in order}
    for c in (a_cc, b_cc):
        red = _dash_rows(c, "?attention=red")
        assert red == [x for x in order if x[0] == "red"]
        assert _dash_rows(c, "?q=HOST-12") == [
            x for x in order if "host-12" in next(
                n.hostname for n in nodes if n.node_id == x[1])]
        listed = c.json_get("/nodes")
        assert sorted(n["node_id"] for n in listed) == sorted(nid for _, nid in order)
        by_id = {n["node_id"]: n for n in listed}
        # 7 % 7 == 0: Cloudflare down, told to B; 8's heartbeat went to A
        assert by_id[nodes[7].node_id]["attention"]["level"] == "red"
        assert by_id[nodes[8].node_id]["heartbeat"]["cloudflare"] == "up"
    # A minute on, with no heartbeat anywhere, every node is stale: red on
    # both, without either replica being told anything.
    wait_until(lambda: all(lv in ("red", "revoked") for lv, _ in
                           _dash_rows(b_cc) + _dash_rows(b_cc, "?page=2")),
               90, "every node turned red with time", interval=1)
    assert _dash_rows(a_cc) + _dash_rows(a_cc, "?page=2") == _db_order(a_cc.db_path)
    # A page is the database's rows themselves: a hostname changed there,
    # behind both replicas' backs, is what both show at once.
    r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", a_cc.db_path, "-c",
                        "UPDATE nodes SET hostname = 'renamed-in-db' WHERE node_id"
                        f" = '{nodes[0].node_id}'"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    for c in (a_cc, b_cc):
        assert _dash_rows(c, "?q=RENAMED-in") == [("red", nodes[0].node_id)]
