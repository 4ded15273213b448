"""Signed commands end to end through the real command center (issue 3):
queue by JSON and by form, the real agent runs them and the result appears;
policy refusals and bad arguments; the long poll answers at once."""

import base64
import json
import threading
import time
import urllib.request

from conftest import assert_error, wait_until

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def commands_of(c, nid):
    r = c.get(f"/nodes/{nid}/commands")
    assert r.status == 200, r
    return r.json()["commands"]


def wait_command(c, nid, cid, statuses=("ok", "error", "rejected", "timeout"),
                 timeout=15):
    def done():
        for cmd in commands_of(c, nid):
            if cmd["command_id"] == cid and cmd["status"] in statuses:
                return cmd
        return None
    return wait_until(done, timeout, f"command {cid} to reach {statuses}")


def agent_up(cc, agent):
    """A command center and an agent whose first heartbeat it has seen:
    (the command center, the agent, its node id)."""
    c = cc()
    a = agent(c)
    a.wait_heartbeat()
    return c, a, a.node_id()


def queue_json(c, nid, body):
    """Queues body for nid by JSON, which must be created (201): the answer."""
    r = c.post_json(f"/nodes/{nid}/commands", body)
    assert r.status == 201, r
    return r.json()


def test_json_queued_command_runs_on_the_agent_and_its_result_appears(cc, agent):
    c, _, nid = agent_up(cc, agent)
    body = queue_json(c, nid, {"command": "agent-info", "args": {}})
    assert body["status"] == "queued"
    cmd = wait_command(c, nid, body["command_id"])
    assert cmd["status"] == "ok", cmd
    assert cmd["exit_code"] == 0
    assert cmd["queued_by"] == "local"
    assert nid in cmd["output"], "agent-info reports the node id"
    assert cmd["delivered_at"] and cmd["started_at"] and cmd["finished_at"]
    # The node page shows it, escaped, newest first.
    page = c.get(f"/nodes/{nid}").text
    assert f'id="cmd-{body["command_id"]}"' in page
    assert "agent-info" in page


def test_form_queued_command_redirects_and_runs(cc, agent):
    c, _, nid = agent_up(cc, agent)
    r = c.post_form(f"/nodes/{nid}/commands", {"command": "sovereign-scan"})
    assert r.status == 303, r
    assert r.headers["location"].startswith(f"/nodes/{nid}")
    cmds = commands_of(c, nid)
    assert len(cmds) == 1 and cmds[0]["command"] == "sovereign-scan"
    assert cmds[0]["queued_by"] == "local"
    done = wait_command(c, nid, cmds[0]["command_id"])
    assert done["status"] == "ok", done
    assert isinstance(done["findings"], list)
    n = wait_until(lambda: c.node(nid)["last_scan_at"] and c.node(nid), 5,
                   "last_scan_at to be set")
    assert "never_scanned" not in n["attention"]["reasons"]


def test_disallowed_command_is_403_never_stored_never_delivered(cc, agent):
    c, a, nid = agent_up(cc, agent)
    # The built-in policy allows no service-restart.
    r = c.post_json(f"/nodes/{nid}/commands",
                    {"command": "service-restart", "args": {"unit": "alpha.service"}})
    assert_error(r, 403, "command_not_allowed")
    r = c.post_form(f"/nodes/{nid}/commands",
                    {"command": "service-restart", "unit": "alpha.service"})
    assert r.status == 403
    assert "text/html" in r.headers["content-type"]
    assert "may not run service-restart" in r.text
    # Nothing was stored, and an allowed command queued afterwards is the
    # first thing the agent sees (seq 1).
    assert commands_of(c, nid) == []
    body = queue_json(c, nid, {"command": "agent-info"})
    assert body["seq"] == 1, body
    wait_command(c, nid, body["command_id"])
    assert "service-restart" not in a.logs


def test_invalid_arguments_and_unknown_commands_are_400(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    nid = n.node_id
    cases = [
        ({"command": "service-status", "args": {}}, "invalid_args"),
        ({"command": "service-status", "args": {"unit": "no spaces.service"}}, "invalid_args"),
        ({"command": "service-status", "args": {"unit": "x.service", "extra": 1}}, "invalid_args"),
        ({"command": "journal-tail", "args": {"unit": "x.service", "lines": 501}}, "invalid_args"),
        ({"command": "journal-tail", "args": {"unit": "x.service", "lines": "5"}}, "invalid_args"),
        ({"command": "agent-info", "args": {"x": 1}}, "invalid_args"),
        ({"command": "agent-info", "args": []}, "invalid_args"),
        ({"command": "rm -rf /"}, "unknown_command"),
        ({"command": 5}, "invalid_field"),
        ({}, "invalid_field"),
    ]
    for body, code in cases:
        assert_error(c.post_json(f"/nodes/{nid}/commands", body), 400, code)
    assert_error(c.post_json(f"/nodes/{nid}/commands", "{nope"), 400, "invalid_json")
    assert_error(c.post_json("/nodes/not-a-uuid/commands", {"command": "agent-info"}), 400)
    assert_error(c.post_json("/nodes/00000000-0000-4000-8000-000000000000/commands",
                             {"command": "agent-info"}), 404, "unknown_node")
    assert commands_of(c, nid) == []


def test_pending_node_takes_no_commands(cc, enroll_node):
    c = cc()
    n = enroll_node(c, secret=None)
    assert_error(c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"}),
                 409, "node_not_approved")


class Poller(threading.Thread):
    """A long poll held the way an agent holds it, timing its answer."""

    def __init__(self, c, node, wait):
        super().__init__(daemon=True)
        self.url = f"{c.url}/api/agent/commands?node_id={node.node_id}&wait={wait}"
        self.token = node.token
        self.answer = None
        self.at = None

    def run(self):
        req = urllib.request.Request(self.url, headers={
            "Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=70) as resp:
            self.answer = (resp.status, json.loads(resp.read()))
            self.at = time.monotonic()


def test_long_poll_answers_the_moment_a_command_is_queued(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    delays = []
    for i in range(5):
        mark = c.mark()
        p = Poller(c, n, 30)
        p.start()
        # Queue only once the CC has parked the poll.
        wait_until(lambda: any("event=poll_parked" in ln
                               for ln in c.lines_since(mark)), 5,
                   "the CC to park the long poll")
        assert p.answer is None
        r = c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"})
        t1 = time.monotonic()
        assert r.status == 201, r
        p.join(10)
        assert p.answer is not None, "the long poll was not answered"
        status, doc = p.answer
        assert status == 200 and len(doc["commands"]) == 1
        delays.append((p.at - t1) * 1000.0)
        payload = json.loads(base64.b64decode(doc["commands"][0]["payload"]))
        assert payload["command_id"] == r.json()["command_id"]
        assert payload["seq"] == i + 1
        # Answered, as an agent does before its next poll: a command still
        # out without a result holds the node's next ones (their order).
        res = c.post_json("/api/agent/command-result",
                          result_body(n, payload["command_id"]), token=n.token)
        assert res.status == 200, res
    print(f"\ndispatch delay (queue answered -> waiting poll answered), ms: "
          f"{', '.join(f'{d:.1f}' for d in delays)}")
    # Generous bound for a noisy machine: the answer comes on the wake,
    # not when wait=30 s runs out. `make bench` holds the real target.
    assert max(delays) < 5000


def test_long_poll_with_nothing_queued_answers_empty_after_wait(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    t0 = time.monotonic()
    r = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=1",
                  headers={"Authorization": f"Bearer {n.token}"})
    took = time.monotonic() - t0
    assert r.status == 200 and r.json() == {"commands": []}
    assert 0.9 <= took < 5, took
    for bad in ("-1", "61", "x", ""):
        r = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait={bad}",
                      headers={"Authorization": f"Bearer {n.token}"})
        assert_error(r, 400, "invalid_field")
    r = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=1")
    assert_error(r, 401, "unauthorized")


def test_signed_commands_verify_against_the_enrollment_key(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    r = c.post_json(f"/nodes/{n.node_id}/commands",
                    {"command": "service-status", "args": {"unit": "ssh.service"}})
    assert r.status == 201
    doc = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=0",
                    headers={"Authorization": f"Bearer {n.token}"}).json()
    cmd = doc["commands"][0]
    payload = base64.b64decode(cmd["payload"])
    sig = base64.b64decode(cmd["signature"])
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(n.cc_public_key))
    key.verify(sig, b"vaultmesh.command.v1\x00" + payload)   # raises if bad
    p = json.loads(payload)
    assert p["node_id"] == n.node_id and p["command"] == "service-status"
    assert p["args"] == {"unit": "ssh.service"}
    assert p["expires_at"] > p["issued_at"] >= int(time.time()) - 60
    # Delivered once: the next poll is empty.
    doc = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=0",
                    headers={"Authorization": f"Bearer {n.token}"}).json()
    assert doc == {"commands": []}


def result_body(n, cid, **kw):
    b = {"node_id": n.node_id, "command_id": cid, "status": "ok", "exit_code": 0,
         "output": "fine", "started_at": "2026-11-27T10:00:00Z",
         "finished_at": "2026-11-27T10:00:01Z"}
    b.update(kw)
    return b


def test_results_are_stored_exactly_once_and_only_by_their_node(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    other = enroll_node(c)
    cid = c.post_json(f"/nodes/{n.node_id}/commands",
                      {"command": "agent-info"}).json()["command_id"]
    r = c.post_json("/api/agent/command-result", result_body(n, cid), token=n.token)
    assert r.status == 200 and r.json() == {"ok": True}
    # A repeat is 200 and changes nothing.
    r = c.post_json("/api/agent/command-result",
                    result_body(n, cid, status="error", output="second"), token=n.token)
    assert r.status == 200
    cmd = commands_of(c, n.node_id)[0]
    assert cmd["status"] == "ok" and cmd["output"] == "fine"
    # Another node's command: 403; unknown command: 404; bad fields: 400.
    r = c.post_json("/api/agent/command-result",
                    result_body(other, cid), token=other.token)
    assert_error(r, 403, "forbidden")
    r = c.post_json("/api/agent/command-result",
                    result_body(n, "00000000-0000-4000-8000-000000000001"), token=n.token)
    assert_error(r, 404, "unknown_command")
    for bad in ({"status": "done"}, {"exit_code": "0"}, {"started_at": "yesterday"},
                {"findings": [{"id": "x", "severity": "urgent", "title": "t",
                               "detail": "d"}]},
                {"findings": "none"}, {"output": 5}):
        r = c.post_json("/api/agent/command-result", result_body(n, cid, **bad),
                        token=n.token)
        assert_error(r, 400, "invalid_field")
    r = c.post_json("/api/agent/command-result", result_body(n, cid), token="nope")
    assert_error(r, 401, "unauthorized")


def test_queued_commands_survive_a_kill_and_are_delivered_after(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    ids = [c.post_json(f"/nodes/{n.node_id}/commands",
                       {"command": "agent-info"}).json()["command_id"]
           for _ in range(3)]
    c.restart(kill=True)
    doc = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=0",
                    headers={"Authorization": f"Bearer {n.token}"}).json()
    got = [json.loads(base64.b64decode(x["payload"]))["command_id"]
           for x in doc["commands"]]
    assert got == ids, "every acknowledged command, in seq order"


def test_a_long_poll_whose_agent_hung_up_frees_its_slot(cc, enroll_node):
    c = cc(env={"VAULTMESH_MAX_LONGPOLLS": "1"})
    n = enroll_node(c)
    import socket
    s = socket.create_connection(("127.0.0.1", c.port))
    mark = c.mark()
    s.sendall((f"GET /api/agent/commands?node_id={n.node_id}&wait=60 HTTP/1.1\r\n"
               f"Host: x\r\nAuthorization: Bearer {n.token}\r\n\r\n").encode())
    wait_until(lambda: any("event=poll_parked" in ln for ln in c.lines_since(mark)),
               5, "the poll to park")
    s.close()
    # The CC notices the hang-up and ends the poll well before its 60 s.
    wait_until(lambda: any("path=/api/agent/commands status=200" in ln
                           for ln in c.lines_since(mark)), 5,
               "the abandoned poll to be ended")
    # Its slot is free: a new poll parks instead of being answered at once.
    mark = c.mark()
    p = Poller(c, n, 30)
    p.start()
    wait_until(lambda: any("event=poll_parked" in ln for ln in c.lines_since(mark)),
               5, "a new poll to park in the freed slot")
    assert c.post_json(f"/nodes/{n.node_id}/commands",
                       {"command": "agent-info"}).status == 201
    p.join(10)
    assert p.answer and len(p.answer[1]["commands"]) == 1


def test_revoking_a_node_ends_its_waiting_poll_with_401(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    mark = c.mark()
    holder = {}

    def run():
        holder["r"] = c.request("GET",
                                f"/api/agent/commands?node_id={n.node_id}&wait=30",
                                headers={"Authorization": f"Bearer {n.token}"},
                                timeout=40)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    wait_until(lambda: any("event=poll_parked" in ln for ln in c.lines_since(mark)),
               5, "the poll to park")
    c.revoke(n.node_id)
    t.join(5)
    assert not t.is_alive(), "the poll still waits after the revocation"
    assert_error(holder["r"], 401, "unauthorized")


def test_a_wrong_token_is_401_whatever_the_body(cc, enroll_node):
    c = cc()
    enroll_node(c)
    for path, body in (("/api/agent/heartbeat", "{broken"),
                       ("/api/agent/heartbeat", {"node_id": "NOT-A-UUID"}),
                       ("/api/agent/command-result", "[]")):
        assert_error(c.post_json(path, body, token="wrong-token"), 401, "unauthorized")
        assert_error(c.post_json(path, body), 401, "unauthorized")


def test_a_result_for_a_never_delivered_command_clears_it_from_the_queue(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    cid = c.post_json(f"/nodes/{n.node_id}/commands",
                      {"command": "agent-info"}).json()["command_id"]
    assert n.heartbeat().json()["pending_commands"] == 1
    r = c.post_json("/api/agent/command-result", result_body(n, cid), token=n.token)
    assert r.status == 200
    assert n.heartbeat().json()["pending_commands"] == 0
    # Nothing is left to deliver: the poll waits its full second.
    t0 = time.monotonic()
    r = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=1",
                  headers={"Authorization": f"Bearer {n.token}"})
    assert r.json() == {"commands": []} and time.monotonic() - t0 >= 0.9


def test_the_agents_own_log_lines_stay_out_of_command_output(cc, agent):
    c, _, nid = agent_up(cc, agent)     # VAULTMESH_LOG=debug: the agent logs a lot
    for body in ({"command": "service-status", "args": {"unit": "alpha.service"}},
                 {"command": "sovereign-scan"}, {"command": "agent-info"}):
        cid = c.post_json(f"/nodes/{nid}/commands", body).json()["command_id"]
        cmd = wait_command(c, nid, cid)
        assert "event=" not in (cmd["output"] or ""), cmd["output"]
        assert "level=debug" not in (cmd["output"] or "")


def test_heartbeat_answers_count_queued_commands_whatever_their_number(cc, enroll_node):
    # The usual counts are answered with responses built once and shared by every
    # request; larger ones are built per answer. Both must say the same thing the
    # same way, every time.
    c = cc()
    n = enroll_node(c)
    cids = []
    for want in range(0, 7):
        for _ in range(2):   # a shared response is sent twice, whole both times
            r = n.heartbeat()
            assert r.status == 200
            assert r.json() == {"ok": True, "pending_commands": want}
            assert r.headers["content-type"] == "application/json"
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert int(r.headers["content-length"]) == len(r.body)
        cids.append(c.post_json(f"/nodes/{n.node_id}/commands",
                                {"command": "agent-info"}).json()["command_id"])
    for left in range(len(cids) - 1, -1, -1):
        r = c.post_json("/api/agent/command-result", result_body(n, cids[left]),
                        token=n.token)
        assert r.status == 200
        assert n.heartbeat().json()["pending_commands"] == left
