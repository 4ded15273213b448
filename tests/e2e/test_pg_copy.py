"""Moving a site from SQLite to PostgreSQL (issue 17): the documented copy
(scripts/sqlite-to-postgresql.sh) into a throwaway cluster, and the same agent
carrying on against the command center on PostgreSQL, without enrolling again."""

import json
import os
import sqlite3
import subprocess

import pytest

from conftest import CC_BIN, PG_BASE, wait_until
from pg import Cluster
from test_commands import agent_up, commands_of, queue_json, wait_command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "sqlite-to-postgresql.sh")

pytestmark = pytest.mark.skipif(PG_BASE is not None,
                                reason="copies from a SQLite file")


def copy(src, dst):
    return subprocess.run(["sh", SCRIPT, src, dst], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, VAULTMESH_CC_BIN=CC_BIN))


def test_a_sqlite_site_copied_to_postgresql_keeps_its_agents_and_history(
        cc, agent, tmp_path):
    # A policy whose scans wait for a second operator: a request comes over.
    pol = tmp_path / "policy.json"
    pol.write_text(json.dumps({"default": ["agent-info", "sovereign-scan"],
                               "require_approval": {"default": ["sovereign-scan"]}}))
    c = cc(env={"VAULTMESH_POLICY_PATH": str(pol)})
    a = agent(c)
    a.wait_heartbeat()
    nid = a.node_id()
    first = queue_json(c, nid, {"command": "agent-info"})
    assert wait_command(c, nid, first["command_id"])["status"] == "ok"
    r = c.post_json(f"/nodes/{nid}/commands",
                    {"command": "sovereign-scan", "reason": "after the move"})
    assert r.status == 202, r
    waiting = r.json()["command_id"]
    # A job too, and a recurring one: they come over with their commands.
    r = c.post_json("/jobs", {"command": "agent-info", "reason": "moved",
                              "every_secs": 3600})
    assert r.status == 201, r
    job_id = r.json()["job_id"]
    wait_until(lambda: c.json_get(f"/jobs/{job_id}")["status"] == "done", 10,
               "the job")
    before = c.node(nid)
    audit = c.json_get("/audit")["entries"]
    assert any(e["action"] == "queue" for e in audit), audit
    port = c.port
    assert c.stop() == 0            # a clean stop folds the heartbeat log

    cluster = Cluster()             # under /tmp: the postgres account must reach it
    try:
        base = cluster.start()
        cluster.psql("CREATE DATABASE moved")
        uri = f"{base}/moved"
        p = copy(c.db_path, uri)
        assert p.returncode == 0, p.stderr
        assert "copied 1 nodes, 2 commands, 1 jobs" in p.stdout, p.stdout
        # The token's hash and the signed command came over as they were.
        assert cluster.psql("SELECT count(*) FROM nodes WHERE token_hash IS NOT "
                            "NULL AND enroll_key_hash IS NOT NULL", "moved").strip() == "1"
        assert cluster.psql("SELECT last_seq FROM nodes", "moved").strip() == "2"

        # A second copy into the same database is refused; it stays as it was.
        p = copy(c.db_path, uri)
        assert p.returncode != 0 and "not empty" in p.stderr, p
        assert cluster.psql("SELECT count(*) FROM commands", "moved").strip() == "2"

        # The same command center, now on PostgreSQL, on the same port.
        c.db_path = uri
        c.start(port=port)
        after = c.node(nid)
        for k in ("hostname", "status", "os_profile", "enrolled_at"):
            assert after[k] == before[k], k
        assert [x["command_id"] for x in commands_of(c, nid)][-1] == first["command_id"]
        j = c.json_get(f"/jobs/{job_id}")
        assert j["status"] == "done" and j["counts"]["ok"] == 1, j
        assert c.json_get(f"/jobs/{job_id}/results")["results"][0]["node_id"] == nid
        assert len(c.json_get("/schedules")["schedules"]) == 1
        # A new job gets the next number (the sequence was moved on).
        r = c.post_json("/jobs", {"command": "agent-info", "reason": "after"})
        assert r.status == 201, r
        assert [x["job_id"] for x in c.json_get("/jobs")["jobs"]][:2] == \
            [r.json()["job_id"], job_id]
        assert any(e["action"] == "queue" for e in c.json_get("/audit")["entries"])
        # The request still waits, and is decided on PostgreSQL.
        (req,) = c.json_get("/approvals")["approvals"]
        assert (req["id"], req["reason"]) == (waiting, "after the move")
        assert c.post_json(f"/commands/{waiting}/reject", {}).status == 200
        # The agent keeps its token and the pinned key: it heartbeats and
        # runs a new command, the node's next seq.
        a.wait_heartbeat(c, after=after["heartbeat"]["sent_at"])
        r = c.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
        assert r.status == 201, r
        assert r.json()["seq"] == 4, r.json()   # 3: the job made after
        cmd = wait_command(c, nid, r.json()["command_id"])
        assert cmd["status"] == "ok", cmd
        wait_until(lambda: a._read_state("last_seq") == "4", 10,
                   "the agent ran seq 4")
    finally:
        c.stop()
        cluster.destroy()


def test_a_sqlite_file_with_heartbeats_in_its_log_is_not_copied(cc, agent, tmp_path):
    c = cc()
    a = agent(c)
    a.wait_heartbeat()

    def logged():
        db = sqlite3.connect(f"file:{c.db_path}?mode=ro", uri=True)
        try:
            return db.execute("SELECT count(*) FROM heartbeat_chunks").fetchone()[0]
        finally:
            db.close()
    wait_until(logged, 5, "the heartbeat in the log")
    c.kill()                        # kill -9: the log is not folded
    cluster = Cluster()             # under /tmp: the postgres account must reach it
    try:
        base = cluster.start()
        cluster.psql("CREATE DATABASE moved")
        p = copy(c.db_path, f"{base}/moved")
        assert p.returncode != 0, p
        assert "stop the command center with SIGTERM first" in p.stderr, p.stderr
        assert cluster.psql("SELECT count(*) FROM pg_tables WHERE tablename = "
                            "'nodes'", "moved").strip() == "0"
    finally:
        cluster.destroy()
