"""Two-person approval (issue 19, part 2).

The policy's "require_approval" (shaped like the allow lists) makes a command
wait for a second operator, per profile; "job_approval_over" does so for a job
selecting more nodes, and a job running such a command waits too. A request
is signed and queued only when an approver other than the requester approves
it; it can be rejected with a reason and expires after
VAULTMESH_APPROVAL_TTL_SECONDS. The audit log keeps both identities.
"""

import json
import threading

from conftest import assert_error, wait_until
from test_access import H, access_cc, certs_server, good  # noqa: F401
from test_roles import role_required

ROLES = {"admin": ["boss@example.com"],
         "approver": ["carol@example.org", "erin@example.org"],
         "operator": ["dave@elsewhere.net"]}
DAVE = {"email": "dave@elsewhere.net"}        # operator: asks
CAROL = {"email": "carol@example.org"}        # approver
ERIN = {"email": "Erin@Example.org"}          # approver (case differs)
VIEWER = {"email": "nobody@elsewhere.net"}
POLICY = {"default": ["agent-info", "service-status", "sovereign-scan"],
          "require_approval": {"default": ["agent-info"],
                               "profiles": {"lab": []}},
          "job_approval_over": 2}


def tok(srv, who):
    return H(good(srv, **who))


def start(access_cc, tmp_path, policy=POLICY, env=None):
    pol = tmp_path / "policy.json"
    pol.write_text(json.dumps(policy))
    return access_cc(roles=ROLES, env={"VAULTMESH_POLICY_PATH": str(pol),
                                       **(env or {})})


def commands(c, srv, node_id):
    return c.get(f"/nodes/{node_id}/commands",
                 headers=tok(srv, CAROL)).json()["commands"]


def approvals(c, srv, status="awaiting_approval"):
    r = c.get(f"/approvals?status={status}", headers=tok(srv, VIEWER))
    assert r.status == 200, r
    return r.json()["approvals"]


def ask(c, srv, node_id, who=DAVE, reason="rotate the logs", command="agent-info"):
    body = {"command": command}
    if reason is not None:
        body["reason"] = reason
    return c.post_json(f"/nodes/{node_id}/commands", body, headers=tok(srv, who))


def test_a_command_waits_for_another_operator_then_runs_on_the_agent(
        access_cc, agent, tmp_path):
    c, srv = start(access_cc, tmp_path)
    a = agent(c)
    nid = a.node_id()
    wait_until(lambda: any(x["node_id"] == nid and x["last_heartbeat_at"]
                           for x in c.get("/nodes", headers=tok(srv, VIEWER)).json()),
               15, "the agent's first heartbeat")
    # No reason: refused, nothing stored.
    assert_error(ask(c, srv, nid, reason=None), 400, "reason_required")
    assert approvals(c, srv) == []
    r = ask(c, srv, nid)
    assert r.status == 202, r
    cid = r.json()["command_id"]
    assert r.json()["status"] == "awaiting_approval"
    # Nothing is queued or signed yet; the request is listed.
    assert commands(c, srv, nid) == []
    (req,) = approvals(c, srv)
    assert (req["id"], req["kind"], req["node_id"], req["command"],
            req["requested_by"], req["reason"]) == (
        cid, "command", nid, "agent-info", "dave@elsewhere.net",
        "rotate the logs")
    # A viewer may not decide; the requester's own approval is refused
    # even when the requester is an approver.
    role_required(c.post_json(f"/commands/{cid}/approve", {},
                              headers=tok(srv, VIEWER)), "approver")
    r2 = ask(c, srv, nid, who=CAROL, reason="mine")
    assert r2.status == 202
    assert_error(c.post_json(f"/commands/{r2.json()['command_id']}/approve", {},
                             headers=tok(srv, CAROL)), 403, "self_approval")
    # Another approver approves: signed, queued, run by the agent.
    r = c.post_json(f"/commands/{cid}/approve", {"reason": "looks fine"},
                    headers=tok(srv, ERIN))
    assert r.status == 200 and r.json()["status"] == "approved", r
    wait_until(lambda: any(x["command_id"] == cid and x["status"] == "ok"
                           for x in commands(c, srv, nid)), 30,
               "the approved command to run on the agent")
    # Decided once.
    assert_error(c.post_json(f"/commands/{cid}/approve", {},
                             headers=tok(srv, CAROL)), 409, "not_awaiting")
    (done,) = [x for x in approvals(c, srv, "approved") if x["id"] == cid]
    assert done["decided_by"] == "Erin@Example.org"
    assert done["decision_reason"] == "looks fine"
    # The audit keeps both identities.
    e = c.get("/audit?limit=100", headers=tok(srv, ERIN)).json()["entries"]
    acts = {(x["action"], x["who"], x["target"], x["result"]) for x in e}
    assert ("approval_request", "dave@elsewhere.net", cid, "ok") in acts
    assert ("approval_approve", "Erin@Example.org", cid, "ok") in acts
    assert ("approval_approve", "carol@example.org", r2.json()["command_id"],
            "self_approval") in acts
    ap = [x for x in e if x["action"] == "approval_approve" and x["target"] == cid
          and x["result"] == "ok"][0]
    assert "requested_by=dave@elsewhere.net" in ap["detail"]


def test_a_rejected_request_queues_nothing_and_says_who_and_why(
        access_cc, enroll_node, tmp_path):
    c, srv = start(access_cc, tmp_path)
    n = enroll_node(c)
    cid = ask(c, srv, n.node_id).json()["command_id"]
    # A form post, as the approvals page sends it.
    r = c.post_form(f"/commands/{cid}/reject", {"reason": "not today"},
                    headers=tok(srv, CAROL))
    assert r.status == 303 and r.headers["location"] == "/approvals", r
    assert commands(c, srv, n.node_id) == []
    (x,) = approvals(c, srv, "rejected")
    assert (x["decided_by"], x["decision_reason"]) == ("carol@example.org",
                                                      "not today")
    assert_error(c.post_json(f"/commands/{cid}/approve", {},
                             headers=tok(srv, ERIN)), 409, "not_awaiting")
    # Commands the policy does not name go out at once; a profile whose
    # list is empty needs no approval.
    assert ask(c, srv, n.node_id, command="service-status",
               reason=None).status == 400          # args missing: checked first
    r = c.post_json(f"/nodes/{n.node_id}/commands",
                    {"command": "sovereign-scan"}, headers=tok(srv, DAVE))
    assert r.status == 201, r
    lab = enroll_node(c, os_profile="lab")
    r = ask(c, srv, lab.node_id, reason=None)
    assert r.status == 201, r


def test_bad_decisions_are_refused(access_cc, enroll_node, tmp_path):
    c, srv = start(access_cc, tmp_path)
    n = enroll_node(c)
    cid = ask(c, srv, n.node_id).json()["command_id"]
    h = tok(srv, CAROL)
    assert_error(c.post_json("/commands/not-a-uuid/approve", {}, headers=h),
                 400, "invalid_id")
    assert_error(c.post_json("/commands/00000000-0000-4000-8000-000000000000/approve",
                             {}, headers=h), 404, "unknown_request")
    # A command's id is not a job's.
    assert_error(c.post_json(f"/jobs/{cid}/approve", {}, headers=h), 404,
                 "unknown_request")
    assert_error(c.post_json(f"/commands/{cid}/approve", {"reason": 5},
                             headers=h), 400, "invalid_field")
    assert_error(c.post_json(f"/commands/{cid}/approve", {"reason": "x" * 501},
                             headers=h), 400, "invalid_field")
    assert_error(c.post_json(f"/commands/{cid}/approve", "{nope", headers=h),
                 400, "invalid_json")
    assert_error(c.post_json(f"/commands/{cid}/approve", {"reason": "a\u0001b"},
                             headers=h), 400, "invalid_field")
    assert_error(ask(c, srv, n.node_id, reason="x" * 501), 400, "reason_required")
    assert_error(c.get("/approvals?status=nope", headers=h), 400, "invalid_field")
    # Nothing of it changed the request.
    (x,) = approvals(c, srv)
    assert x["id"] == cid and x["status"] == "awaiting_approval"


def test_two_approvers_at_once_queue_the_command_once(access_cc, enroll_node,
                                                        tmp_path):
    c, srv = start(access_cc, tmp_path)
    n = enroll_node(c)
    cid = ask(c, srv, n.node_id).json()["command_id"]
    got, go = [], threading.Barrier(2)

    def approve(who):
        go.wait()
        got.append(c.post_json(f"/commands/{cid}/approve", {},
                               headers=tok(srv, who)).status)
    ts = [threading.Thread(target=approve, args=(w,)) for w in (CAROL, ERIN)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert sorted(got) == [200, 409], got
    cmds = commands(c, srv, n.node_id)
    assert [x["command_id"] for x in cmds] == [cid]
    assert cmds[0]["seq"] == 1


def test_a_large_job_or_one_running_such_a_command_waits(access_cc, enroll_node,
                                                         tmp_path):
    c, srv = start(access_cc, tmp_path)
    nodes = [enroll_node(c) for _ in range(3)]
    ids = [x.node_id for x in nodes]

    def job(command, node_ids):
        return c.post_json("/jobs", {"command": command, "reason": "weekly",
                                     "target": {"node_ids": node_ids}},
                           headers=tok(srv, DAVE))
    # A dry run says so first.
    r = c.post_json("/jobs?dry_run=1", {"command": "sovereign-scan",
                                        "target": {"node_ids": ids}},
                    headers=tok(srv, DAVE))
    assert r.status == 200 and r.json()["awaits_approval"] is True, r
    # Small and plain: runs at once.
    r = job("sovereign-scan", ids[:2])
    assert r.status == 201 and r.json()["status"] == "running", r
    # Over job_approval_over (2): waits, nothing queued.
    r = job("sovereign-scan", ids)
    assert r.status == 201 and r.json()["status"] == "awaiting_approval", r
    big = r.json()["job_id"]
    # One node, but a command that needs approval there: waits too.
    r = job("agent-info", ids[:1])
    assert r.json()["status"] == "awaiting_approval", r
    small = r.json()["job_id"]
    h = tok(srv, CAROL)
    assert c.get(f"/jobs/{big}", headers=h).json()["status"] == "awaiting_approval"
    page = c.get(f"/jobs/{big}", headers={**h, "Accept": "text/html"}).text
    assert 'id="approval"' in page and "dave@elsewhere.net" in page
    assert f'action="/jobs/{big}/approve"' in page
    # The requester's page has no approve form (an operator anyway).
    page = c.get(f"/jobs/{big}", headers={**tok(srv, DAVE), "Accept": "text/html"}).text
    assert f'action="/jobs/{big}/approve"' not in page
    counts = c.get(f"/jobs/{big}", headers=h).json()["counts"]
    assert counts.get("queued", 0) == 0, counts
    # Approved: the leader starts it; rejected: it is cancelled.
    assert c.post_json(f"/jobs/{big}/approve", {}, headers=h).status == 200
    wait_until(lambda: c.get(f"/jobs/{big}", headers=h).json()["counts"]
               .get("queued", 0) + c.get(f"/jobs/{big}", headers=h).json()
               ["counts"].get("delivered", 0) == 3, 10, "the approved job's wave")
    r = c.post_json(f"/jobs/{small}/reject", {"reason": "no"}, headers=h)
    assert r.status == 200, r
    assert c.get(f"/jobs/{small}", headers=h).json()["status"] == "cancelled"
    # A job cancelled while it waits takes its request with it.
    r = job("sovereign-scan", ids)
    third = r.json()["job_id"]
    assert c.post_json(f"/jobs/{third}/cancel", {}, headers=tok(srv, DAVE)).status == 200
    assert [x for x in approvals(c, srv) if x["id"] == third] == []
    assert_error(c.post_json(f"/jobs/{third}/approve", {}, headers=h), 409,
                 "not_awaiting")


def test_requests_expire_and_the_pages_show_them(access_cc, enroll_node, tmp_path):
    c, srv = start(access_cc, tmp_path,
                   env={"VAULTMESH_APPROVAL_TTL_SECONDS": "2"})
    n = enroll_node(c)
    cid = ask(c, srv, n.node_id).json()["command_id"]
    # The node page and the list show it, with forms for an approver only.
    page = c.get(f"/nodes/{n.node_id}",
                 headers={**tok(srv, CAROL), "Accept": "text/html"}).text
    assert "Waiting for approval" in page and "rotate the logs" in page
    assert f'action="/commands/{cid}/approve"' in page
    page = c.get("/approvals", headers={**tok(srv, VIEWER), "Accept": "text/html"}).text
    assert cid in page and f'action="/commands/{cid}/approve"' not in page
    wait_until(lambda: [x["id"] for x in approvals(c, srv, "expired")] == [cid],
               15, "the request to expire")
    assert_error(c.post_json(f"/commands/{cid}/approve", {},
                             headers=tok(srv, CAROL)), 409, "not_awaiting")
    assert commands(c, srv, n.node_id) == []
    e = c.get("/audit?limit=100", headers=tok(srv, CAROL)).json()["entries"]
    assert any(x["action"] == "approval_expire" and x["target"] == cid for x in e)


def test_without_access_the_one_local_operator_cannot_approve_itself(
        cc, enroll_node, tmp_path):
    pol = tmp_path / "policy.json"
    pol.write_text(json.dumps(POLICY))
    c = cc(env={"VAULTMESH_POLICY_PATH": str(pol)})
    n = enroll_node(c)
    r = c.post_json(f"/nodes/{n.node_id}/commands",
                    {"command": "agent-info", "reason": "r"})
    assert r.status == 202, r
    assert_error(c.post_json(f"/commands/{r.json()['command_id']}/approve", {}),
                 403, "self_approval")
    assert c.post_json(f"/commands/{r.json()['command_id']}/reject", {}).status == 200
