"""Jobs (issue 18; CONTRACT.md "Operator endpoints, second set"): one command
for the nodes a target selects, each node its own signed command, rolled out
in waves, with a failure threshold, cancellation, offline nodes served on
their return and the policy's exclusions shown with their reason.

The fleet is 30 real agents against one command center, labelled into
groups, shared by the tests of this module (each test leaves every agent
running, as it found it):

    web    10  role=web, site=ams (5) or site=fra (5)
    db     10  role=db, site=ams
    edge    6  role=edge; the 4 whose ids sort first pin a key that is not
               the CC's, so they refuse (reject) every command
    vault   4  role=vault, site=ams, profile "locked": the policy lets it
               run sovereign-scan and service-status only

Every agent reports the same hostname (the machine's), so a job's waves go
in node-id order: the test chooses the ids (an agent keeps the node_id file
it finds) to know which nodes a canary takes.
"""
import base64
import datetime
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import (Agent, CommandCenter, _teardown, assert_error,
                      stays_true, wait_until)

HTML = {"Accept": "text/html"}
JSON_H = {"Content-Type": "application/json"}
POLICY = {"default": ["agent-info", "sovereign-scan", "service-status",
                      "journal-tail"],
          "profiles": {"locked": ["sovereign-scan", "service-status"]}}


def node_uuid(prefix, i):
    return f"{prefix}{i:07x}-0000-4000-8000-{i:012x}"


class Fleet:
    def __init__(self, cc, groups):
        self.cc = cc
        self.groups = groups            # name -> [Agent]
        self.ids = {g: sorted(a.nid for a in ags) for g, ags in groups.items()}

    def agent(self, nid):
        for ags in self.groups.values():
            for a in ags:
                if a.nid == nid:
                    return a
        raise KeyError(nid)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    base = tmp_path_factory.mktemp("jobs")
    pol = base / "policy.json"
    pol.write_text(json.dumps(POLICY))
    cc = CommandCenter(str(base / "cc"), env={
        "VAULTMESH_POLICY_PATH": str(pol),
        "VAULTMESH_JOB_MAX_NODES": "25"})
    made = [cc]
    cc.start()
    wrong_key = base64.b64encode(os.urandom(32)).decode()
    spec = ([("web", {"role": "web", "site": "ams" if i < 5 else "fra"},
              "ArchVault", None, node_uuid("a", i)) for i in range(10)] +
            [("db", {"role": "db", "site": "ams"}, "ArchVault", None,
              node_uuid("b", i)) for i in range(10)] +
            [("edge", {"role": "edge"}, "ArchVault",
              wrong_key if i < 4 else None,
              node_uuid("0" if i < 4 else "f", i)) for i in range(6)] +
            [("vault", {"role": "vault", "site": "ams"}, "locked", None,
              node_uuid("c", i)) for i in range(4)])
    groups = {}
    try:
        for n, (group, labels, profile, key, nid) in enumerate(spec):
            wd = base / f"agent{n}"
            root = wd / "root"
            os.makedirs(root, mode=0o700)
            (root / "node_id").write_text(nid + "\n")
            os.chmod(root / "node_id", 0o600)
            env = {"VAULTMESH_CC_PUBKEY": key} if key else None
            a = Agent(str(wd), cc, os_profile=profile, env=env,
                      name=f"{group}{n}")
            a.nid = nid
            a.labels = labels
            made.append(a)
            a.start()
            groups.setdefault(group, []).append(a)
        for ags in groups.values():
            for a in ags:
                assert a.node_id() == a.nid
                a.wait_heartbeat()
                r = cc.request("PUT", f"/nodes/{a.nid}/labels",
                               body=json.dumps({"labels": a.labels}),
                               headers=JSON_H)
                assert r.status == 200, r
        yield Fleet(cc, groups)
    finally:
        _teardown(made)


def create(cc, body, dry_run=False):
    path = "/jobs?dry_run=1" if dry_run else "/jobs"
    return cc.request("POST", path, body=json.dumps(body), headers=JSON_H)


def job(cc, job_id):
    r = cc.get(f"/jobs/{job_id}")
    assert r.status == 200, r
    return r.json()


def results(cc, job_id):
    out, after = [], None
    while True:
        r = cc.get(f"/jobs/{job_id}/results?limit=7" +
                   (f"&after={after}" if after else ""))
        assert r.status == 200, r
        d = r.json()
        out += d["results"]
        if d["next"] is None:
            return out
        after = d["next"]


def wait_status(cc, job_id, status, timeout=30):
    return wait_until(lambda: (j := job(cc, job_id))["status"] == status and j,
                      timeout, f"job {job_id} {status}")


def job_commands(cc, node_id, job_id):
    """The node's commands that belong to the job (from its history)."""
    cmds = cc.json_get(f"/nodes/{node_id}/commands")["commands"]
    ids = {r["command_id"] for r in results(cc, job_id)
           if r["node_id"] == node_id and r["command_id"]}
    return [c for c in cmds if c["command_id"] in ids]


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def test_a_job_by_label_reaches_exactly_the_selected_nodes(fleet):
    cc = fleet.cc
    fra = sorted(a.nid for a in fleet.groups["web"] if a.labels["site"] == "fra")
    target = {"labels": {"role": "web", "site": "fra"}}
    pre = create(cc, {"command": "agent-info", "target": target}, dry_run=True)
    assert pre.status == 200, pre
    p = pre.json()
    assert p["selected"] == 5 and p["excluded"] == [] and p["offline"] == 0
    assert sorted(p["nodes"]) == fra
    # The dashboard with the same selector shows the same nodes.
    page = cc.get("/?labels=role%3Dweb%2Csite%3Dfra", headers=HTML).text
    assert all(nid in page for nid in fra)
    assert not any(nid in page for nid in fleet.ids["db"] + fleet.ids["edge"])
    assert 'href="/jobs/new?labels=role%3Dweb%2Csite%3Dfra' in page
    r = create(cc, {"command": "agent-info", "reason": "inventory of fra",
                    "target": target})
    assert r.status == 201, r
    body = r.json()
    assert body["status"] == "running" and body["selected"] == 5
    j = wait_status(cc, body["job_id"], "done")
    assert j["counts"]["ok"] == 5 and j["selected"] == 5
    assert sum(j["counts"].values()) == 5 and j["not_started"] == 0
    assert j["created_by"] == "local" and j["reason"] == "inventory of fra"
    res = results(cc, body["job_id"])
    assert sorted(x["node_id"] for x in res) == fra
    for x in res:
        assert x["status"] == "ok" and x["exit_code"] == 0
        assert json.loads(x["output"])["node_id"] == x["node_id"]
    # Each node ran its own signed command, with its own seq.
    for nid in fra:
        (c,) = job_commands(cc, nid, body["job_id"])
        assert c["command"] == "agent-info" and c["status"] == "ok"
    for nid in fleet.ids["db"][:3]:
        assert job_commands(cc, nid, body["job_id"]) == []
    # The job and its end are in the audit log.
    audit = cc.json_get("/audit?action=job_create")["entries"]
    assert any(e["target"] == body["job_id"] and "inventory of fra" in
               e["detail"] for e in audit)
    assert any(e["target"] == body["job_id"] for e in
               cc.json_get("/audit?action=job_done")["entries"])
    # The list has it, the page shows every node.
    listed = cc.json_get("/jobs")["jobs"]
    assert listed[0]["job_id"] == body["job_id"]
    html = cc.get(f"/jobs/{body['job_id']}", headers=HTML).text
    assert html.count('class="badge green">ok<') == 5


def test_a_canary_wave_runs_first_then_the_waves(fleet):
    cc = fleet.cc
    db = fleet.ids["db"]
    r = create(cc, {"command": "agent-info", "reason": "canary first",
                    "target": {"labels": {"role": "db"}},
                    "rollout": {"canary": 2, "wave_size": 4, "pause_secs": 2}})
    assert r.status == 201, r
    jid = r.json()["job_id"]
    j = job(cc, jid)
    # The canary is out; the other waves wait for it and its pause.
    assert j["waves"] == 3 and j["wave"] == 1 and j["not_started"] == 8, j
    j = wait_status(cc, jid, "done", timeout=40)
    assert j["counts"]["ok"] == 10 and j["wave"] == 3
    res = {x["node_id"]: x for x in results(cc, jid)}
    waves = {w: sorted(n for n, x in res.items() if x["wave"] == w)
             for w in (1, 2, 3)}
    assert waves[1] == db[:2] and waves[2] == db[2:6] and waves[3] == db[6:]
    done = {}
    queued = {}
    for nid in db:
        (c,) = job_commands(cc, nid, jid)
        done[nid] = ts(c["finished_at"])
        queued[nid] = ts(c["queued_at"])
    # Each wave was queued after the one before had finished, and paused.
    for w in (2, 3):
        assert min(queued[n] for n in waves[w]) >= \
            int(max(done[n] for n in waves[w - 1])) + 1, (w, queued, done)
    waves_audited = [e for e in cc.json_get("/audit?action=job_wave")["entries"]
                     if e["target"] == jid]
    assert len(waves_audited) == 2


def test_a_job_with_failures_stops_at_its_threshold(fleet):
    cc = fleet.cc
    edge = fleet.ids["edge"]            # the 4 that reject sort first
    bad, good = edge[:4], edge[4:]
    r = create(cc, {"command": "agent-info", "reason": "threshold",
                    "target": {"labels": {"role": "edge"}},
                    "rollout": {"canary": 3, "wave_size": 3,
                                "max_failure_pct": 50}})
    assert r.status == 201, r
    jid = r.json()["job_id"]
    j = wait_status(cc, jid, "stopped")
    c = j["counts"]
    assert c["ok"] == 0 and c["rejected"] >= 1, j
    assert c["rejected"] + c["cancelled"] == 6 and j["not_started"] == 0, j
    res = {x["node_id"]: x for x in results(cc, jid)}
    for nid in good + bad[3:]:          # the second wave never started
        assert res[nid]["status"] == "cancelled" and \
            res[nid]["command_id"] is None, res[nid]
        assert job_commands(cc, nid, jid) == []
    assert all(res[n]["status"] in ("rejected", "cancelled") for n in bad[:3])
    # Identical answers are grouped on the page.
    html = cc.get(f"/jobs/{jid}", headers=HTML).text
    assert f"<strong>{c['rejected']} node" in html
    assert "Stopped at its failure threshold" in html
    stop = [e for e in cc.json_get("/audit?action=job_stop")["entries"]
            if e["target"] == jid]
    assert len(stop) == 1 and "over 50%" in stop[0]["detail"]


def test_cancel_stops_what_was_not_delivered(fleet):
    cc = fleet.cc
    db = fleet.ids["db"]
    away = fleet.agent(db[0])
    assert away.stop() == 0           # its command will wait, undelivered
    try:
        r = create(cc, {"command": "agent-info", "reason": "to cancel",
                        "target": {"labels": {"role": "db"}}})
        assert r.status == 201, r
        jid = r.json()["job_id"]
        wait_until(lambda: job(cc, jid)["counts"]["ok"] == 9, 20,
                   "the 9 online nodes answered")
        j = job(cc, jid)
        assert j["status"] == "running" and j["counts"]["queued"] == 1
        r = cc.request("POST", f"/jobs/{jid}/cancel")
        assert r.status == 200, r
        assert r.json()["cancelled"] == 1
        j = job(cc, jid)
        assert j["status"] == "cancelled"
        assert j["counts"]["ok"] == 9 and j["counts"]["cancelled"] == 1
        assert_error(cc.request("POST", f"/jobs/{jid}/cancel"), 409,
                     "job_ended")
        html = cc.get(f"/jobs/{jid}", headers=HTML).text
        assert "9 had already run" in html and "1 were cancelled" in html
    finally:
        away.start()
    away.wait_heartbeat()
    # Back, the node is not given the cancelled command.
    def cancelled():
        return [c for c in cc.json_get(f"/nodes/{db[0]}/commands")["commands"]
                if c["status"] == "cancelled" and c["delivered_at"] is None]
    assert stays_true(lambda: len(cancelled()) == 1, 2.0)
    # Both the cancellation and the refused second one are audited.
    assert sorted(e["result"] for e in
                  cc.json_get("/audit?action=job_cancel")["entries"]
                  if e["target"] == jid) == ["job_ended", "ok"]


def test_an_offline_node_gets_its_command_when_it_returns(fleet):
    cc = fleet.cc
    nid = fleet.ids["web"][0]
    away = fleet.agent(nid)
    assert away.stop() == 0
    try:
        r = create(cc, {"command": "agent-info", "reason": "offline one",
                        "target": {"node_ids": [nid]}})
        assert r.status == 201, r
        jid = r.json()["job_id"]
        # Waiting, not failed: the job runs on, the command stays queued.
        for _ in range(3):
            j = job(cc, jid)
            assert j["status"] == "running" and j["counts"]["queued"] == 1
        (x,) = results(cc, jid)
        assert x["status"] == "queued" and x["exit_code"] is None
    finally:
        away.start()
    j = wait_status(cc, jid, "done", timeout=30)
    assert j["counts"]["ok"] == 1


def test_the_policy_excludes_what_it_must_with_the_reason(fleet):
    cc = fleet.cc
    vault = fleet.ids["vault"]
    target = {"labels": {"site": "ams"}}
    p = create(cc, {"command": "agent-info", "target": target},
               dry_run=True).json()
    assert p["selected"] == 15          # web ams 5 + db 10
    assert sorted(x["node_id"] for x in p["excluded"]) == vault
    for x in p["excluded"]:
        assert x["reason"] == "policy: profile locked may not run agent-info"
    # A node named by id that is not there is excluded too, with why.
    ghost = "12345678-1234-4234-8234-123456789abc"
    p = create(cc, {"command": "sovereign-scan",
                    "target": {"node_ids": vault[:2] + [ghost]}},
               dry_run=True).json()
    assert p["selected"] == 2
    assert p["excluded"] == [{"node_id": ghost, "reason": "no node with this id"}]
    # Nothing to run: refused; a policy refusal is no failure, nothing queued.
    assert_error(create(cc, {"command": "agent-info", "reason": "x",
                             "target": {"labels": {"role": "vault"}}}),
                 409, "no_nodes_selected")
    # The page shows the excluded nodes with the reason.
    r = cc.post_form("/jobs", {"command": "agent-info", "labels": "site=ams",
                               "dry_run": "1"})
    assert r.status == 200, r
    assert "15</strong> nodes selected" in r.text
    assert "policy: profile locked may not run agent-info" in r.text


def test_a_big_job_needs_confirming_and_bad_input_is_refused(fleet):
    cc = fleet.cc
    # 30 nodes, every one may ask a unit's state: more than
    # VAULTMESH_JOB_MAX_NODES=25.
    body = {"command": "service-status", "args": {"unit": "alpha.service"},
            "reason": "all of them"}
    r = create(cc, body)
    assert_error(r, 409, "confirm_required")
    assert "30 nodes" in r.json()["message"]
    r = create(cc, dict(body, target={"labels": {"role": "nope"}}))
    assert_error(r, 409, "no_nodes_selected")
    for bad, code in [
            ({"command": "rm-rf", "reason": "x"}, "unknown_command"),
            ({"command": "agent-info"}, "invalid_field"),              # reason
            ({"command": "agent-info", "reason": ""}, "invalid_field"),
            ({"command": "agent-info", "reason": "x" * 501}, "invalid_field"),
            ({"command": "agent-info", "reason": "x", "args": []}, "invalid_args"),
            ({"command": "journal-tail", "reason": "x", "args": {"unit": "a;b"}},
             "invalid_args"),
            ({"command": "agent-info", "reason": "x", "target": []}, "invalid_field"),
            ({"command": "agent-info", "reason": "x",
              "target": {"labels": {"Role": "db"}}}, "invalid_field"),
            ({"command": "agent-info", "reason": "x",
              "target": {"attention": ["purple"]}}, "invalid_field"),
            ({"command": "agent-info", "reason": "x",
              "target": {"node_ids": ["not-a-uuid"]}}, "invalid_field"),
            ({"command": "agent-info", "reason": "x", "target": {"tags": 1}},
             "invalid_field"),
            ({"command": "agent-info", "reason": "x",
              "rollout": {"canary": "200%"}}, "invalid_field"),
            ({"command": "agent-info", "reason": "x",
              "rollout": {"max_failure_pct": 101}}, "invalid_field"),
            ({"command": "agent-info", "reason": "x",
              "rollout": {"wave_size": 0}}, "invalid_field"),
            ({"command": "agent-info", "reason": "x",
              "rollout": {"waves": 2}}, "invalid_field")]:
        assert_error(create(cc, bad), 400, code)
    assert_error(cc.request("POST", "/jobs", body="{not json",
                            headers=JSON_H), 400)
    assert_error(cc.get("/jobs/not-a-uuid"), 400, "invalid_job_id")
    assert_error(cc.get("/jobs/12345678-1234-4234-8234-123456789abc"), 404,
                 "unknown_job")
    assert_error(cc.get("/jobs?status=odd"), 400, "invalid_field")
    assert_error(cc.get("/jobs/12345678-1234-4234-8234-123456789abc/results"
                        "?after=zzz"), 400, "invalid_field")
    # Confirmed, it goes: every selectable node, at once.
    r = create(cc, dict(body, confirm=True))
    assert r.status == 201 and r.json()["selected"] == 30, r
    j = wait_status(cc, r.json()["job_id"], "done", timeout=90)
    # ok with a system bus, error without one; the 4 edge nodes refuse it.
    assert j["counts"]["ok"] + j["counts"]["error"] == 26, j
    assert j["counts"]["rejected"] == 4


def test_a_form_creates_a_job_and_its_page_lists_and_links(fleet):
    cc = fleet.cc
    r = cc.post_form("/jobs", {"command": "agent-info", "reason": "from a form",
                               "labels": "role=web", "hostname": "*",
                               "canary": "20%", "wave_size": "8"})
    assert r.status == 303, r
    loc = r.headers["location"]
    jid = loc.rsplit("/", 1)[1]
    j = wait_status(cc, jid, "done")
    assert j["waves"] == 2 and j["counts"]["ok"] == 10
    assert j["rollout"] == {"canary": "20%", "wave_size": 8, "pause_secs": 0}
    assert j["target"] == {"labels": {"role": "web"}, "hostname": "*"}
    page = cc.get("/jobs", headers=HTML).text
    assert f'href="/jobs/{jid}"' in page and "from a form" in page
    # The list keeps itself up to date: its poller asks for the table alone.
    assert 'hx-get="/jobs?fragment=live"' in page
    live = cc.get("/jobs?fragment=live", headers=HTML).text
    assert live.startswith('<div id="jobs-list"') and 'hx-swap-oob="true"' in live
    assert f'href="/jobs/{jid}"' in live and "<html" not in live
    assert_error(cc.get("/jobs?fragment=all"), 400, "invalid_field")
    new = cc.get("/jobs/new?labels=role%3Dweb&attention=red", headers=HTML).text
    assert 'value="role=web"' in new and 'value="red"' in new
    r = cc.post_form("/jobs", {"command": "agent-info", "labels": "role=web"})
    assert r.status == 400 and "reason: required" in r.text


# ---- recurring jobs, and the scheduler's scans as one ---------------------

def db_exec(c, sql):
    """Runs sql on the CC's database behind its back (a test's shortcut to
    make a recurring job due now)."""
    if c.db_path.startswith("postgres"):
        p = subprocess.run(["psql", "-XAtq", c.db_path, "-c", sql],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return
    db = sqlite3.connect(c.db_path, timeout=10)
    with db:
        db.execute(sql)
    db.close()


def test_a_recurring_job_runs_again_for_the_same_target(cc, agent):
    c = cc()
    a, b = agent(c), agent(c)
    for x in (a, b):
        x.wait_heartbeat()
    r = create(c, {"command": "agent-info", "reason": "hourly inventory",
                   "every_secs": 3600})
    assert r.status == 201, r
    first, sid = r.json()["job_id"], r.json()["schedule_id"]
    assert wait_status(c, first, "done")["counts"]["ok"] == 2
    (s,) = c.json_get("/schedules")["schedules"]
    assert s["schedule_id"] == sid and s["every_secs"] == 3600
    assert s["last_job_id"] == first and s["target"] == {}
    assert c.json_get("/schedules")["builtin"][0]["command"] == "sovereign-scan"

    def run_now():
        before = {j["job_id"] for j in c.json_get("/jobs")["jobs"]}
        db_exec(c, f"UPDATE job_schedules SET next_at = 1 "
                   f"WHERE schedule_id = '{sid}'")
        new = wait_until(lambda: [j for j in c.json_get("/jobs")["jobs"]
                                  if j["job_id"] not in before], 10,
                         "the recurring job's next run")
        assert len(new) == 1
        return new[0]

    j = run_now()
    assert j["reason"] == f"hourly inventory (recurring {sid[:8]})"
    assert wait_status(c, j["job_id"], "done")["counts"]["ok"] == 2
    (s,) = c.json_get("/schedules")["schedules"]
    assert s["last_job_id"] == j["job_id"]
    assert ts(s["next_at"]) > ts(s["created_at"]) + 3000
    # A node still running the last run's command is not given another.
    assert b.stop() == 0
    j3 = run_now()
    wait_until(lambda: job(c, j3["job_id"])["counts"]["ok"] == 1, 10, "a's run")
    j4 = run_now()
    assert j4["selected"] == 1
    b.start()
    assert wait_status(c, j3["job_id"], "done")["counts"]["ok"] == 2
    # Deleted, it runs no more; its jobs stay.
    r = c.request("DELETE", f"/schedules/{sid}")
    assert r.status == 200, r
    assert c.json_get("/schedules")["schedules"] == []
    assert_error(c.request("DELETE", f"/schedules/{sid}"), 404,
                 "unknown_schedule")
    assert_error(c.request("DELETE", "/schedules/nope"), 400)
    assert job(c, first)["status"] == "done"
    acts = [e["action"] for e in c.json_get("/audit")["entries"]
            if e["target"] == sid]
    assert acts.count("schedule_delete") == 2 and "schedule_add" in acts
    page = c.get("/schedules", headers=HTML).text
    assert "built in" in page
    assert_error(create(c, {"command": "agent-info", "reason": "x",
                            "every_secs": 59}), 400, "invalid_field")


def test_the_scheduler_scans_are_a_built_in_job(cc, agent):
    c = cc(env={"VAULTMESH_SCHEDULER_TICK_SECONDS": "1",
                "VAULTMESH_SCAN_INTERVAL_HOURS": "1"})
    a = agent(c, env={"VAULTMESH_SCAN_ROOT": os.path.join(
        os.path.dirname(__file__), "agent_fixtures", "scan-good")})
    a.wait_heartbeat()
    jobs = wait_until(lambda: [j for j in c.json_get("/jobs")["jobs"]
                               if j["created_by"] == "scheduler"], 20,
                      "the scheduler's job")
    j = wait_status(c, jobs[-1]["job_id"], "done")
    assert j["command"] == "sovereign-scan" and j["selected"] == 1
    assert j["target"] == {"builtin": "scheduled-scan"}
    assert j["reason"].startswith("scheduled scan")
    (x,) = results(c, j["job_id"])
    assert x["node_id"] == a.node_id() and x["status"] == "ok"
