"""Alerts by webhook (issue 19, part 4).

VAULTMESH_WEBHOOKS_PATH lists endpoints {"url", "secret", "events"}. Events
(node.attention_changed, node.pending, job.finished, approval.requested) go
through a durable outbox in the store; each request is signed
X-VaultMesh-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, sent in
order per endpoint, retried with backoff, and sent at least once across a
kill -9. A local receiver checks the signatures, the order and the bodies.
"""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import wait_until
from test_metrics import metric

SECRET = "a-secret-of-24-bytes-xyz"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what it is sent.
    answers: status codes to give, in turn (then 200); hold: an Event that,
    while clear, keeps the next request unanswered (a delivery in flight)."""

    def __init__(self):
        self.got, self.answers, self.lock = [], [], threading.Lock()
        self.hold = None
        self.held = threading.Event()
        rx = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if rx.hold is not None and not rx.hold.is_set():
                    rx.held.set()
                    rx.hold.wait(30)
                    self.close_connection = True
                    return                     # no answer: the CC dies first
                with rx.lock:
                    status = rx.answers.pop(0) if rx.answers else 200
                    rx.got.append((self.path, dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.srv.server_address[1]}{path}"

    def events(self, path="/hook", ok_only=True):
        """(event, body) of each request taken (a 2xx), in arrival order."""
        with self.lock:
            return [(json.loads(b)["event"], json.loads(b)) for p, h, b, st
                    in self.got if p == path and (st < 300 or not ok_only)]

    def requests(self, path="/hook"):
        with self.lock:
            return [(h, b, st) for p, h, b, st in self.got if p == path]

    def close(self):
        if self.hold is not None:
            self.hold.set()
        self.srv.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def verify(headers, body, secret=SECRET):
    """The signature is the HMAC of "<t>.<body>", t recent."""
    sig = headers["X-VaultMesh-Signature"]
    parts = dict(p.split("=", 1) for p in sig.split(","))
    t = int(parts["t"])
    assert abs(time.time() - t) < 300, sig
    want = hmac.new(secret.encode(), f"{t}.".encode() + body,
                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], want), (sig, want)
    doc = json.loads(body)
    assert headers["X-VaultMesh-Event"] == doc["event"]
    assert headers["X-VaultMesh-Delivery"] == doc["id"]
    assert headers["Content-Type"] == "application/json"
    return doc


def settled(c, node_id, level):
    """Waits until the leader holds node_id at level (told or first seen)."""
    wait_until(lambda: any(f"event=webhook_level node_id={node_id} level={level}"
                           in ln for ln in c.lines_since(0)), 15,
               f"the leader to hold the node at {level}")


def hooks_file(tmp_path, endpoints):
    p = tmp_path / "webhooks.json"
    p.write_text(json.dumps(endpoints))
    return str(p)


ALL = ["node.attention_changed", "node.pending", "job.finished",
       "approval.requested"]


def test_every_event_arrives_signed_in_order(cc, enroll_node, agent, receiver,
                                             tmp_path):
    pol = tmp_path / "policy.json"
    pol.write_text(json.dumps({"default": ["agent-info", "service-status"],
                               "require_approval": {"default": ["service-status"]}}))
    path = hooks_file(tmp_path, [
        {"url": receiver.url("/hook"), "secret": SECRET, "events": ALL},
        {"url": receiver.url("/pending-only"), "secret": "x" * 16,
         "events": ["node.pending"]}])
    c = cc(env={"VAULTMESH_WEBHOOKS_PATH": path, "VAULTMESH_POLICY_PATH": str(pol),
                "VAULTMESH_WEBHOOK_FLAP_SECONDS": "0"})
    # node.pending, to both endpoints.
    p = enroll_node(c, secret=None)
    wait_until(lambda: len(receiver.events("/pending-only")) == 1, 15,
               "node.pending at the second endpoint")
    # A node turns red and back (its tunnel down, then up), once the
    # leader holds it at yellow (heard from, never scanned).
    n = enroll_node(c)
    assert n.heartbeat(cloudflare="up").status == 200
    settled(c, n.node_id, "yellow")
    before = len(receiver.events())
    assert n.heartbeat(cloudflare="down").status == 200
    wait_until(lambda: any(e == "node.attention_changed" and b["to"] == "red"
                           for e, b in receiver.events()), 15, "the red alert")
    assert n.heartbeat(cloudflare="up").status == 200
    wait_until(lambda: any(e == "node.attention_changed" and b["from"] == "red"
                           for e, b in receiver.events()), 15, "the recovery")
    # approval.requested
    r = c.post_json(f"/nodes/{n.node_id}/commands",
                    {"command": "service-status", "args": {"unit": "ssh.service"},
                     "reason": "is ssh up"})
    assert r.status == 202, r
    # job.finished, with a real agent answering.
    a = agent(c)
    a.wait_heartbeat()
    r = c.post_json("/jobs", {"command": "agent-info", "reason": "inventory",
                              "target": {"node_ids": [a.node_id()]}})
    assert r.status == 201, r
    job = r.json()["job_id"]
    wait_until(lambda: any(e == "job.finished" for e, _ in receiver.events()), 30,
               "job.finished")
    got = receiver.events()
    names = [e for e, _ in got]
    # In the order they happened (the agent's own attention may add some).
    firsts = [names.index(x) for x in ("node.pending", "approval.requested",
                                       "job.finished")]
    assert firsts == sorted(firsts), names
    red = [b for e, b in got[before:]
           if e == "node.attention_changed" and b["node_id"] == n.node_id]
    assert [(b["from"], b["to"]) for b in red][:2] == [("yellow", "red"), ("red", "yellow")], red
    assert red[0]["reasons"] == ["cloudflare_down", "never_scanned"], red[0]
    assert red[0]["hostname"] == n.hostname
    (pend,) = [b for e, b in got if e == "node.pending"]
    assert pend["node_id"] == p.node_id and pend["hostname"] == p.hostname
    (appr,) = [b for e, b in got if e == "approval.requested"]
    assert (appr["kind"], appr["command"], appr["reason"], appr["requested_by"]) == \
        ("command", "service-status", "is ssh up", "local")
    (fin,) = [b for e, b in got if e == "job.finished"]
    assert (fin["job_id"], fin["status"], fin["counts"]["ok"]) == (job, "done", 1)
    # Every request is signed with its endpoint's secret; ids are unique.
    for h, body, _ in receiver.requests("/hook"):
        verify(h, body)
    for h, body, _ in receiver.requests("/pending-only"):
        verify(h, body, "x" * 16)
    ids = [b["id"] for _, b in got]
    assert len(ids) == len(set(ids))
    # Counted once the CC has read the answer (the receiver records first).
    wait_until(lambda: metric(c.get("/metrics").text,
                              'vaultmesh_webhook_deliveries_total{result="ok"}')
               >= len(got) + 1 and
               metric(c.get("/metrics").text,
                      'vaultmesh_webhook_outbox{state="pending"}') == 0, 10,
               "the deliveries counted")


def test_a_failing_endpoint_is_retried_with_backoff_and_keeps_order(
        cc, enroll_node, receiver, tmp_path):
    path = hooks_file(tmp_path, [{"url": receiver.url(), "secret": SECRET,
                                  "events": ["node.pending"]}])
    receiver.answers = [500, 503]
    c = cc(env={"VAULTMESH_WEBHOOKS_PATH": path})
    first = enroll_node(c, secret=None)
    second = enroll_node(c, secret=None)
    wait_until(lambda: len(receiver.events()) == 2, 20, "both after the retries")
    reqs = receiver.requests()
    # Tried three times, the same event each time (the second waited behind).
    assert [st for _, _, st in reqs] == [500, 503, 200, 200], reqs
    ids = [json.loads(b)["id"] for _, b, _ in reqs]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert [b["node_id"] for _, b in receiver.events()] == [first.node_id, second.node_id]
    for h, b, _ in reqs:
        verify(h, b)
    # Counted once the CC has read the answer (the receiver records first).
    wait_until(lambda: metric(c.get("/metrics").text,
                              'vaultmesh_webhook_deliveries_total{result="ok"}') == 2,
               10, "both deliveries counted")
    m = c.get("/metrics").text
    assert metric(m, 'vaultmesh_webhook_deliveries_total{result="failed"}') == 2
    assert metric(m, 'vaultmesh_webhook_deliveries_total{result="ok"}') == 2
    assert len(c.events("webhook_failed")) == 2


def test_a_cc_killed_mid_delivery_sends_every_alert_after_its_restart(
        cc, enroll_node, receiver, tmp_path):
    path = hooks_file(tmp_path, [{"url": receiver.url(), "secret": SECRET,
                                  "events": ["node.pending"]}])
    receiver.hold = threading.Event()
    c = cc(env={"VAULTMESH_WEBHOOKS_PATH": path})
    nodes = [enroll_node(c, secret=None)]
    assert receiver.held.wait(15), "the first delivery to be under way"
    nodes += [enroll_node(c, secret=None) for _ in range(3)]
    c.kill()                                  # SIGKILL, the request unanswered
    receiver.hold.set()                       # the endpoint answers from now on
    c.start()
    wait_until(lambda: len({b["node_id"] for _, b in receiver.events()}) == 4, 20,
               "every alert after the restart")
    got = [b["node_id"] for _, b in receiver.events()]
    # At least once each, first arrivals in the order they happened.
    firsts = [got.index(x.node_id) for x in nodes]
    assert firsts == sorted(firsts), got
    for h, b, _ in receiver.requests():
        verify(h, b)


def test_repeated_flaps_are_held_to_one_alert_a_window(cc, enroll_node, receiver,
                                                      tmp_path):
    path = hooks_file(tmp_path, [{"url": receiver.url(), "secret": SECRET,
                                  "events": ["node.attention_changed"]}])
    c = cc(env={"VAULTMESH_WEBHOOKS_PATH": path,
                "VAULTMESH_WEBHOOK_FLAP_SECONDS": "4"})
    n = enroll_node(c)
    assert n.heartbeat(cloudflare="up").status == 200
    settled(c, n.node_id, "yellow")
    before = len(receiver.events())
    # Down: told, at the latest a window after its last alert.
    assert n.heartbeat(cloudflare="down").status == 200
    wait_until(lambda: len(receiver.events()) == before + 1, 15, "the red alert")
    red_at = time.monotonic()
    # Up, down, up within the window: nothing until it has passed, then the
    # net change once.
    for cf in ("up", "down", "up"):
        assert n.heartbeat(cloudflare=cf).status == 200
    wait_until(lambda: len(receiver.events()) == before + 2, 15, "the net change")
    assert time.monotonic() - red_at >= 3.0, "told within the window"
    (e1, b1), (e2, b2) = receiver.events()[before:]
    assert (b1["to"], b2["from"], b2["to"]) == ("red", "red", "yellow")
    assert metric(c.get("/metrics").text, "vaultmesh_webhook_flaps_held_total") >= 1


def test_a_bad_webhooks_file_stops_the_start_and_a_reload_keeps_the_old(
        cc, enroll_node, receiver, tmp_path):
    from test_policy_and_keys import run_cc
    for doc, why in (({"url": "x"}, "must be a list"),
                     ([{"url": "ftp://x", "secret": SECRET, "events": ALL}], "url"),
                     ([{"url": receiver.url(), "secret": "short", "events": ALL}], "secret"),
                     ([{"url": receiver.url(), "secret": SECRET, "events": ["nope"]}], "events[0]"),
                     ([{"url": receiver.url(), "secret": SECRET, "events": []}], "events"),
                     ([{"url": receiver.url(), "secret": SECRET, "events": ALL,
                        "extra": 1}], "unknown key"),
                     ([{"url": receiver.url(), "secret": SECRET, "events": ALL}] * 2,
                      "listed twice")):
        p = tmp_path / "bad.json"
        p.write_text(json.dumps(doc))
        r = run_cc(tmp_path, VAULTMESH_WEBHOOKS_PATH=str(p))
        assert r.returncode == 2, r
        assert "VAULTMESH_WEBHOOKS_PATH" in r.stderr and why in r.stderr, r.stderr
    path = hooks_file(tmp_path, [{"url": receiver.url(), "secret": SECRET,
                                  "events": ["node.pending"]}])
    c = cc(env={"VAULTMESH_WEBHOOKS_PATH": path})
    with open(path, "w") as f:
        f.write("[{")
    import signal
    mark = c.mark()
    c.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any("event=webhooks_reload_failed" in ln
                           for ln in c.lines_since(mark)), 5, "the failed reload")
    enroll_node(c, secret=None)
    wait_until(lambda: len(receiver.events()) == 1, 15, "the old endpoint still told")
