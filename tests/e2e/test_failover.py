"""Failure tests of the replicas (issue 17): three command centers on one
PostgreSQL database behind HAProxy, a dozen real agents under heartbeat and
command load, and one replica killed with SIGKILL; then the database itself
stopped for ten seconds under load."""

import collections
import os
import subprocess
import threading
import time

import pytest

from conftest import (PG_BASE, CommandCenter, FakeNode, parse_rfc3339,
                      wait_until)
from lb import LoadBalancer
from pg import Cluster
from test_metrics import metric
from test_replicas import replicas

pytestmark = pytest.mark.skipif(PG_BASE is None,
                                reason="replicas share a PostgreSQL database")

AGENTS = 12


class Front(CommandCenter):
    """The load balancer, spoken to as if it were one command center."""

    def __init__(self, lb):   # no daemon of its own
        self.port = lb.port
        self.name = "haproxy"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


def psql(uri, sql):
    p = subprocess.run(["psql", "-XAtq", uri, "-c", sql], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def accepted(agents):
    """command_id -> how many times an agent accepted it (ran it)."""
    seen = collections.Counter()
    for a in agents:
        for ev in a.events("command_accepted"):
            seen[ev["command_id"]] += 1
    return seen


def beat_since(front, nids, t):
    """Every node's last heartbeat, as the balancer's replica says, is after t."""
    ns = front.nodes()
    return all(ns.get(n) and ns[n]["last_heartbeat_at"] and
               parse_rfc3339(ns[n]["last_heartbeat_at"]).timestamp() > t
               for n in nids)


def waiting(cs):
    return sum(metric(c.get("/metrics").text, "vaultmesh_longpolls_waiting") or 0
               for c in cs if c.running)


def dispatched(cs):
    return sum(metric(c.get("/metrics").text,
                      "vaultmesh_dispatch_delay_seconds_count") or 0
               for c in cs if c.running)


@pytest.fixture
def fleet(cc, agent, tmp_path):
    env = {"VAULTMESH_DELIVERY_LEASE_SECONDS": "5"}
    cs = replicas(cc, 3, env=env)
    lb = LoadBalancer(str(tmp_path / "lb"), cs).start()
    front = Front(lb)
    agents = [agent(front, name=f"agent{i + 1}") for i in range(AGENTS)]
    try:
        for a in agents:
            a.wait_heartbeat(front, timeout=30)
        yield cs, lb, front, agents
    finally:
        lb.stop()


def queue_load(front, nids, rounds, acked, stop):
    """Queues agent-info for every node, rounds times, through the balancer;
    acked gets each command the command centers acknowledged (201)."""
    for _ in range(rounds):
        for nid in nids:
            if stop.is_set():
                return
            try:
                r = front.post_json(f"/nodes/{nid}/commands",
                                    {"command": "agent-info"})
            except OSError:
                continue              # cut with its replica: not acknowledged
            if r.status == 201:
                acked.append((nid, r.json()["command_id"], r.json()["seq"]))


def test_killing_one_of_three_replicas_loses_nothing_and_runs_nothing_twice(fleet):
    cs, lb, front, agents = fleet
    nids = [a.node_id() for a in agents]
    acked, stop = [], threading.Event()
    loader = threading.Thread(target=queue_load,
                              args=(front, nids, 6, acked, stop))
    loader.start()
    wait_until(lambda: len(acked) >= 2 * AGENTS, 60, "load under way")
    victim = cs[1]
    at_kill = len(acked)
    victim.kill()                                   # SIGKILL, mid-load
    loader.join(120)
    assert not loader.is_alive()
    survivors = [c for c in cs if c is not victim]
    wait_until(lambda: lb.states().get(victim.name) == "DOWN", 10,
               "HAProxy marks the dead replica down")

    # Every acknowledged command is stored once, and ran, once.
    uri = cs[0].db_path

    ids = ",".join(f"'{cid}'" for _, cid, _ in acked)

    def all_done():
        return psql(uri, f"SELECT count(*) FROM commands WHERE command_id IN "
                         f"({ids}) AND status IN ('ok', 'rejected')") == str(len(acked))
    wait_until(all_done, 90, "every acknowledged command answered")
    # Every one ran: a command whose answer died with its replica goes out
    # again when its lease ends, and no newer one of its node overtook it
    # meanwhile (it would have been refused as a replay).
    refused = psql(uri, f"SELECT command_id || ' ' || coalesce(output, '') "
                        f"FROM commands WHERE command_id IN ({ids}) "
                        f"AND status <> 'ok'")
    assert refused == "", refused
    print(f"re-offered after their lease: "
          f"{sum('command_reoffered' in ln for c in survivors for ln in c.lines_since(0))}")
    print(f"\nfailover: {len(acked)} commands acknowledged ({at_kill} before "
          f"the kill), {len(acked) - at_kill} after it")
    assert psql(uri, "SELECT count(*) - count(DISTINCT command_id) FROM commands") == "0"
    ran = accepted(agents)
    assert [cid for cid, k in ran.items() if k > 1] == []
    for _, cid, _ in acked:
        assert ran[cid] <= 1, cid
    # seq stays strictly increasing per node, with no gap and no repeat.
    for nid in nids:
        seqs = [int(x) for x in psql(
            uri, f"SELECT seq FROM commands WHERE node_id = '{nid}' "
                 f"ORDER BY seq").split()]
        assert seqs == list(range(1, len(seqs) + 1)), (nid, seqs)

    # Agents carry on through the survivors: heartbeats and parked polls.
    t0 = time.time()
    wait_until(lambda: beat_since(front, nids, t0), 30,
               "every node heartbeats after the kill")
    wait_until(lambda: waiting(survivors) == AGENTS, 60,
               "every agent's poll parked on a survivor")
    # A command queued now wakes a parked poll (counted as a dispatch)
    # instead of waiting for the poll's end.
    before = dispatched(survivors)
    late = []
    for nid in nids:
        r = front.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
        assert r.status == 201, r
        late.append(r.json()["command_id"])
    ids = ",".join(f"'{cid}'" for cid in late)
    wait_until(lambda: psql(uri, f"SELECT count(*) FROM commands WHERE command_id "
                                 f"IN ({ids}) AND status = 'ok'") == str(AGENTS),
               30, "the commands queued after the kill ran")
    assert dispatched(survivors) >= before + AGENTS


def test_the_database_stopped_for_ten_seconds_under_load(cc, agent, tmp_path):
    cluster = Cluster()               # its own: this test stops it
    lb = None
    try:
        base = cluster.start()
        cluster.psql("CREATE DATABASE fleet")
        uri = f"{base}/fleet"
        cs = replicas(cc, 2, db=uri)
        lb = LoadBalancer(str(tmp_path / "lb"), cs).start()
        front = Front(lb)
        agents = [agent(front, name=f"agent{i + 1}") for i in range(4)]
        for a in agents:
            a.wait_heartbeat(front, timeout=30)
        fake = FakeNode(cs[0])
        assert fake.enroll(secret=cs[0].secret).status == 200
        # Acknowledged before the stop: a command and a heartbeat.
        nid = agents[0].node_id()
        r = front.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
        assert r.status == 201, r
        before_cmd = r.json()["command_id"]
        last = fake.body()
        assert fake.cc.heartbeat(fake.token, last).status == 200

        cluster.stop("fast")
        t_stop = time.monotonic()
        # Both replicas say so, with Retry-After; HAProxy takes them out.
        for c in cs:
            wait_until(lambda: c.get("/healthz").status == 503, 5,
                       f"{c.name}'s /healthz reports the database down")
            h = c.get("/healthz")
            assert h.json() == {"ok": False, "store": "down"}, h
            assert h.headers.get("retry-after"), h.headers
            r = fake.cc.heartbeat(fake.token, fake.body())
            assert r.status == 503 and r.headers.get("retry-after"), r
            r = c.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
            assert r.status == 503 and r.headers.get("retry-after"), r
        wait_until(lambda: set(lb.states().values()) == {"DOWN"}, 5,
                   "HAProxy sees every replica down")
        # Ten seconds of outage under the agents' load; nobody crashes.
        time.sleep(max(0.0, 10 - (time.monotonic() - t_stop)))
        assert all(c.running for c in cs)
        assert all(a.running for a in agents)

        cluster.start(port=cluster.port)
        t_back = time.time()
        wait_until(lambda: set(lb.states().values()) == {"UP"}, 30,
                   "HAProxy sees the replicas up again")
        # Nothing acknowledged before the stop is lost.
        assert wait_command_ok(uri, before_cmd)
        doc = cs[1].node(fake.node_id)
        assert doc["heartbeat"]["sent_at"] == last["sent_at"], doc
        # Everything resumes by itself: agents heartbeat and run commands.

        wait_until(lambda: beat_since(front, [a.node_id() for a in agents], t_back),
                   30, "every agent heartbeats again")
        r = front.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
        assert r.status == 201, r
        assert wait_command_ok(uri, r.json()["command_id"])
    finally:
        if lb is not None:
            lb.stop()
        cluster.destroy()


def wait_command_ok(uri, cid, timeout=30):
    return wait_until(lambda: psql(uri, f"SELECT status FROM commands WHERE "
                                        f"command_id = '{cid}'") == "ok",
                      timeout, f"command {cid} ok")


def test_a_standby_promoted_after_the_primary_stops_takes_over(cc, agent, tmp_path):
    primary, standby = Cluster(), Cluster()
    lb = None
    try:
        primary.start()
        primary.psql("CREATE DATABASE fleet")
        standby.start_standby_of(primary)
        # libpq's multi-host form: whichever host takes writes now.
        uri = (f"postgresql://vm@127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
               f"/fleet?target_session_attrs=read-write&connect_timeout=2")
        cs = replicas(cc, 2, db=uri)
        lb = LoadBalancer(str(tmp_path / "lb"), cs).start()
        front = Front(lb)
        agents = [agent(front, name=f"agent{i + 1}") for i in range(3)]
        for a in agents:
            a.wait_heartbeat(front, timeout=30)
        nid = agents[0].node_id()
        r = front.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
        assert r.status == 201, r
        before = r.json()["command_id"]
        wait_command_ok(uri, before)

        primary.stop("fast")
        wait_until(lambda: set(lb.states().values()) == {"DOWN"}, 10,
                   "the replicas report the database down")
        standby.promote()
        t_back = time.time()
        wait_until(lambda: set(lb.states().values()) == {"UP"}, 30,
                   "the replicas reconnect to the new primary by themselves")
        assert all(c.running for c in cs)
        # The fleet keeps working: what was there is there; heartbeats,
        # a new command (the node's next seq), on the promoted server.
        assert psql(uri, f"SELECT status FROM commands WHERE command_id = "
                         f"'{before}'") == "ok"

        wait_until(lambda: beat_since(front, [a.node_id() for a in agents], t_back),
                   30, "every agent heartbeats again")
        r = front.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
        assert r.status == 201, r
        assert r.json()["seq"] == 2
        assert wait_command_ok(uri, r.json()["command_id"])
        assert psql(f"{standby.uri()}/fleet", "SELECT pg_is_in_recovery()") == "f"
    finally:
        if lb is not None:
            lb.stop()
        standby.destroy()
        primary.destroy()
