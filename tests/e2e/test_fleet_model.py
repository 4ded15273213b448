"""The fleet operation model through the real command center (issue 4):
scan findings turn a node red, the dashboard orders and filters by
attention, and the scheduler keeps scans fresh within the policy."""

import base64
import json
import os
import re

from conftest import stays_true, wait_until

FIXTURES = os.path.join(os.path.dirname(__file__), "agent_fixtures")


def poll(c, n):
    r = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=0",
                  headers={"Authorization": f"Bearer {n.token}"})
    assert r.status == 200, r
    return [json.loads(base64.b64decode(x["payload"])) for x in r.json()["commands"]]


def scan_result(c, n, findings):
    """Queues a scan for fake node n, takes it, reports findings."""
    assert c.post_json(f"/nodes/{n.node_id}/commands",
                       {"command": "sovereign-scan"}).status == 201
    (cmd,) = poll(c, n)
    body = {"node_id": n.node_id, "command_id": cmd["command_id"], "status": "ok",
            "exit_code": 0, "output": f"{len(findings)} findings",
            "started_at": "2026-11-27T10:00:00Z",
            "finished_at": "2026-11-27T10:00:02Z", "findings": findings}
    r = c.post_json("/api/agent/command-result", body, token=n.token)
    assert r.status == 200, r
    return cmd["command_id"]


CRITICAL = {"id": "ssh.permit_root_login", "severity": "critical",
            "title": "sshd permits root login",
            "detail": "/etc/ssh/sshd_config:3 PermitRootLogin yes",
            "remediation": "Set PermitRootLogin no"}


def test_agent_scanning_a_root_login_fixture_turns_the_node_red(cc, agent):
    c = cc()
    a = agent(c, env={"VAULTMESH_SCAN_ROOT": os.path.join(FIXTURES, "scan-bad")})
    a.wait_heartbeat()
    nid = a.node_id()
    assert c.post_form(f"/nodes/{nid}/commands",
                       {"command": "sovereign-scan"}).status == 303
    n = wait_until(lambda: (c.node(nid) or {}).get("last_scan_at") and c.node(nid),
                   20, "the scan result")
    assert n["findings"]["critical"] >= 1, n["findings"]
    assert n["attention"]["level"] == "red"
    assert "critical_findings" in n["attention"]["reasons"]
    assert "never_scanned" not in n["attention"]["reasons"]
    page = c.get(f"/nodes/{nid}").text
    assert 'id="critical_findings"' in page
    assert "PermitRootLogin" in page or "permit" in page.lower()
    assert 'id="scans"' in page
    dash = c.get("/").text
    assert f'/nodes/{nid}#critical_findings' in dash


def test_dashboard_orders_red_first_and_filters(cc, enroll_node):
    c = cc()
    green = enroll_node(c, hostname="zz-green")
    red = enroll_node(c, hostname="aa-red")
    yellow = enroll_node(c, hostname="mm-yellow")
    for n in (green, red, yellow):
        assert n.heartbeat().status == 200
    scan_result(c, green, [])
    scan_result(c, red, [CRITICAL])
    scan_result(c, yellow, [dict(CRITICAL, severity="high", id="x.high")])
    levels = {n["hostname"]: n["attention"]["level"] for n in c.nodes_list()}
    assert levels == {"zz-green": "green", "aa-red": "red", "mm-yellow": "yellow"}

    dash = c.get("/").text
    order = [m for m in re.findall(r'>(zz-green|aa-red|mm-yellow)</a>', dash)]
    assert order == ["aa-red", "mm-yellow", "zz-green"], order
    assert "1 red" in dash and "1 yellow" in dash and "1 green" in dash

    only_red = c.get("/?attention=red").text
    assert "aa-red" in only_red and "zz-green" not in only_red
    assert "mm-yellow" not in only_red
    q = c.get("/?q=YELLOW").text
    assert "mm-yellow" in q and "aa-red" not in q and "zz-green" not in q
    assert c.get("/?attention=purple").status == 400
    assert "No node matches" in c.get("/?q=nothing-like-this").text


def test_all_green_fleet_says_so(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    n.heartbeat()
    scan_result(c, n, [])
    assert "Green fleet" in c.get("/").text


def test_scheduler_scans_a_fresh_node_without_operator_action(cc, agent):
    c = cc(env={"VAULTMESH_SCHEDULER_TICK_SECONDS": "1",
                "VAULTMESH_SCAN_INTERVAL_HOURS": "1"})
    a = agent(c, env={"VAULTMESH_SCAN_ROOT": os.path.join(FIXTURES, "scan-good")})
    a.wait_heartbeat()
    nid = a.node_id()
    n = wait_until(lambda: (c.node(nid) or {}).get("last_scan_at") and c.node(nid),
                   20, "the scheduler's scan")
    assert "never_scanned" not in n["attention"]["reasons"]
    cmds = c.get(f"/nodes/{nid}/commands").json()["commands"]
    assert [x["queued_by"] for x in cmds] == ["scheduler"], cmds
    assert "decision=due" in c.logs
    # Scanned now: the next ticks do not queue another within the interval.
    assert stays_true(lambda: len(c.get(f"/nodes/{nid}/commands").json()["commands"]) == 1,
                      2.5)


def test_scheduler_never_queues_a_scan_the_policy_forbids(cc, enroll_node, tmp_path):
    pol = tmp_path / "policy.json"
    pol.write_text(json.dumps({"default": ["agent-info"]}))
    c = cc(env={"VAULTMESH_SCHEDULER_TICK_SECONDS": "1",
                "VAULTMESH_POLICY_PATH": str(pol)})
    n = enroll_node(c)
    wait_until(lambda: "decision=forbidden_by_policy" in c.logs,
               10, "the scheduler to decide about the node")
    assert c.get(f"/nodes/{n.node_id}/commands").json()["commands"] == []
    assert poll(c, n) == []


def test_nodes_list_is_streamed_whole_past_one_batch(cc, enroll_node):
    c = cc()
    ids = {enroll_node(c, hostname=f"n{i:04d}").node_id for i in range(600)}
    r = c.get("/nodes")
    assert r.status == 200
    assert r.headers.get("transfer-encoding") == "chunked"
    doc = r.json()
    assert len(doc) == 600 and {n["node_id"] for n in doc} == ids
