"""What a hostile review found (issue 14), on the command center: memory
held for strangers, slow clients, the local mode without Access, bounded
enrollment without the secret, one parked poll per node, private files, and
a delivered command that is never stranded."""

import http.client
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import threading
import time
import uuid

import pytest

from conftest import (CC_BIN, ENROLL_SECRET, assert_error, free_port,
                      heartbeat_body, http_request, sqlite_only, wait_until)
from tlsproxy import Listener


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise AssertionError("no VmRSS")


def open_partial(port, head, body=b""):
    """A socket that sent head (and body), and nothing more."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(head)
    if body:
        try:
            s.sendall(body)
        except OSError:
            pass
    return s


def closed_by_peer(s, timeout):
    """True once the server has closed s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def held_none(c):
    """Waits until no request holds body room (the last one has ended)."""
    wait_until(lambda: "vaultmesh_http_body_bytes_held 0\n" in
               c.get("/metrics").text, 10, "no body room held")


# ---- 1. no memory held for strangers ---------------------------------------

def test_bodies_without_a_token_are_refused_before_they_are_read(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    pid = c.proc.pid
    before = rss_kib(pid)
    head = (b"POST /api/agent/command-result HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n")
    socks = []
    try:
        for _ in range(200):
            socks.append(open_partial(c.port, head, b"x" * (512 * 1024)))
        # Each was answered 401 at once, before its body.
        answered = 0
        for s in socks[:20]:
            s.settimeout(5)
            try:
                if s.recv(4096).startswith(b"HTTP/1.1 401"):
                    answered += 1
            except OSError:
                pass
        assert answered == 20
        grown = rss_kib(pid) - before
        # Half a megabyte each would be 100 MiB; nothing is kept.
        assert grown < 8 * 1024, f"RSS grew by {grown} KiB"
        r = n.heartbeat()
        assert r.status == 200, r
    finally:
        for s in socks:
            s.close()
    assert "event=auth_failed" in c.logs


def test_the_body_budget_answers_503_with_retry_after(cc, enroll_node):
    c = cc(env={"VAULTMESH_MAX_BODY_BYTES": str(1 << 20)})
    n = enroll_node(c)
    head = ("POST /api/agent/command-result HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {n.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
            ).encode()
    held_none(c)
    holder = open_partial(c.port, head, b"{")
    try:
        # The budget is taken (when the holder's headers are in)...
        wait_until(lambda: "vaultmesh_http_body_bytes_held 1048576" in
                   c.get("/metrics").text, 10, "the holder's reservation")
        # ...so the next body is refused unread...
        r = c.heartbeat(n.token, heartbeat_body(n.node_id))
        assert_error(r, 503, "busy")
        assert r.headers.get("retry-after") == "5"
        # ...and a request without a body still goes through.
        assert c.get("/healthz").status == 200
    finally:
        holder.close()
    # The holder is gone: its reservation with it.
    wait_until(lambda: c.heartbeat(n.token, heartbeat_body(n.node_id)).status
               == 200, 5, "the budget to come back")


def test_strangers_take_only_a_share_of_the_body_budget(cc, enroll_node):
    # 1 MiB in all, an eighth of it for routes anyone may post to.
    c = cc(env={"VAULTMESH_MAX_BODY_BYTES": str(1 << 20)})
    n = enroll_node(c)
    held_none(c)
    head = (b"POST /api/agent/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 16384\r\n\r\n")
    socks = [open_partial(c.port, head) for _ in range(8)]   # 128 KiB
    try:
        # Nothing else posts meanwhile: all eight hold their room.
        wait_until(lambda: "vaultmesh_http_body_bytes_held 131072" in
                   c.get("/metrics").text, 10, "the strangers' share taken")
        assert_error(c.enroll(str(uuid.uuid4()), "x"), 503, "busy")
        # Token holders still have the rest of the budget.
        r = c.heartbeat(n.token, heartbeat_body(n.node_id))
        assert r.status == 200, r
    finally:
        for s in socks:
            s.close()


def test_a_request_with_two_lengths_is_refused(cc):
    c = cc()
    r = c.raw(b"POST /api/agent/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\nhello\r\n0\r\n\r\n")
    assert r.status == 400, r


def test_a_refused_small_body_gets_its_answer_not_a_reset(cc):
    c = cc()
    body = json.dumps({"pad": "x" * 40000}).encode()
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", c.port), timeout=5)
        try:
            s.sendall(b"POST /api/agent/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Authorization: Bearer not-a-token\r\n"
                      b"Content-Type: application/json\r\n"
                      + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            got = b""
            while b"\r\n" not in got:
                d = s.recv(4096)
                if not d:
                    break
                got += d
        finally:
            s.close()
        assert got.startswith(b"HTTP/1.1 401"), got[:80]


# ---- 2. slow clients --------------------------------------------------------

def test_trickling_clients_cannot_hold_every_connection(cc):
    c = cc(env={"VAULTMESH_MAX_CONNECTIONS": "32"})
    socks = []
    try:
        # Every slot and more: headers that never end.
        for i in range(40):
            try:
                socks.append(open_partial(
                    c.port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-{i}: ".encode()))
            except OSError:
                pass
        time.sleep(0.2)  # let the server accept them all (no condition to wait on)
        for s in socks:
            try:
                s.send(b"a")
            except OSError:
                pass
        t0 = time.monotonic()
        r = http_request(c.port, "GET", "/healthz", timeout=5)
        took = time.monotonic() - t0
        assert r.status == 200 and took < 2.0, (r, took)
        r = http_request(c.port, "GET", "/", headers={"Accept": "text/html"},
                         timeout=5)
        assert r.status == 200
    finally:
        for s in socks:
            s.close()


def test_incomplete_headers_and_slow_bodies_are_cut(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    hdr = open_partial(c.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    body = open_partial(c.port, (
        "POST /api/agent/command-result HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {n.token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    ).encode(), b"{")
    stop = threading.Event()

    def trickle():
        # One header line and one body byte a second: never idle, never done.
        i = 0
        while not stop.is_set():
            try:
                hdr.send(f"X-{i}: y\r\n".encode())
                body.send(b" ")
            except OSError:
                return
            i += 1
            stop.wait(1.0)
    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        assert closed_by_peer(hdr, 15), "headers still open after 15 s"
        took_h = time.monotonic() - t0
        assert closed_by_peer(body, 15), "slow body still open after 15 s"
        assert 8 <= took_h <= 13, took_h
    finally:
        stop.set()
        t.join()
        hdr.close()
        body.close()
    wait_until(lambda: "event=slow_clients_cut" in c.logs, 5, "the cut logged")


def test_agent_listener_keeps_agents_and_operators_apart(cc, enroll_node):
    aport = free_port()
    c = cc(env={"VAULTMESH_AGENT_LISTEN": f"127.0.0.1:{aport}",
                "VAULTMESH_MAX_CONNECTIONS": "16"})
    n = enroll_node(c)
    # Agent routes and /healthz there; no operator route.
    r = http_request(aport, "POST", "/api/agent/heartbeat",
                     json.dumps(heartbeat_body(n.node_id)),
                     {"Authorization": f"Bearer {n.token}",
                      "Content-Type": "application/json"})
    assert r.status == 200, r
    assert http_request(aport, "GET", "/healthz").status == 200
    assert_error(http_request(aport, "GET", "/nodes"), 404, "not_found")
    assert_error(http_request(aport, "GET", "/"), 404, "not_found")
    # The agent listener saturated by stalled clients: operators unaffected.
    socks = [open_partial(aport, b"POST /api/agent/heartbeat HTTP/1.1\r\n")
             for _ in range(24)]
    try:
        t0 = time.monotonic()
        assert c.get("/nodes").status == 200
        assert time.monotonic() - t0 < 2.0
    finally:
        for s in socks:
            s.close()
    # And the other way round.
    socks = [open_partial(c.port, b"GET / HTTP/1.1\r\n") for _ in range(24)]
    try:
        t0 = time.monotonic()
        r = http_request(aport, "POST", "/api/agent/heartbeat",
                         json.dumps(heartbeat_body(n.node_id)),
                         {"Authorization": f"Bearer {n.token}",
                          "Content-Type": "application/json"})
        assert r.status == 200 and time.monotonic() - t0 < 2.0
    finally:
        for s in socks:
            s.close()


# ---- 3. the local mode --------------------------------------------------------

def run_cc_expecting_exit(tmp_path, env_extra, timeout=10):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTMESH_")}
    env.update({"VAULTMESH_DB": str(tmp_path / "cc.db"),
                "VAULTMESH_CC_KEY_PATH": str(tmp_path / "cc.key")})
    env.update(env_extra)
    return subprocess.run([CC_BIN], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_without_access_operator_routes_refuse_a_public_address(tmp_path, cc):
    p = run_cc_expecting_exit(tmp_path, {"VAULTMESH_LISTEN": f"0.0.0.0:{free_port()}"})
    assert p.returncode == 2, p
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "VAULTMESH_UNSAFE_OPEN_OPERATOR_API" in lines[0], lines
    assert not os.path.exists(tmp_path / "cc.db")
    # The loud opt-out starts it, and says so at error level.
    c = cc(env={"VAULTMESH_LISTEN": f"0.0.0.0:{free_port()}",
                "VAULTMESH_UNSAFE_OPEN_OPERATOR_API": "1"})
    # The line follows "listening", which is all start() waits for.
    wait_until(lambda: any("level=error" in ln and "UNSAFE" in ln
                           for ln in c.lines), 5, "the UNSAFE line")


def test_a_rebinding_host_is_refused_and_queues_nothing(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    evil = f"rebind.attacker.example:{c.port}"
    h = {"Host": evil, "Origin": f"http://{evil}", "Accept": "application/json"}
    r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                    headers=h)
    assert_error(r, 421, "host_not_allowed")
    assert_error(c.get("/nodes", headers={"Host": evil}), 421, "host_not_allowed")
    assert_error(c.get("/metrics", headers={"Host": evil}), 421, "host_not_allowed")
    assert c.json_get(f"/nodes/{n.node_id}/commands")["commands"] == []
    for ok in (f"127.0.0.1:{c.port}", f"localhost:{c.port}", f"[::1]:{c.port}",
               "LOCALHOST"):
        assert c.get("/nodes", headers={"Host": ok}).status == 200, ok
    # The agent routes take any Host (agents come through the tunnel).
    assert n.heartbeat().status == 200


def test_public_host_is_allowed_when_configured(cc):
    c = cc(env={"VAULTMESH_PUBLIC_HOST": "cc.example.com"})
    assert c.get("/nodes", headers={"Host": "cc.example.com"}).status == 200
    assert c.get("/nodes", headers={"Host": "CC.example.com:443"}).status == 200
    assert_error(c.get("/nodes", headers={"Host": "cc.example.com.evil"}), 421)


def test_identity_headers_are_ignored_without_access(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    r = c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                    headers={"Cf-Access-Authenticated-User-Email": "boss@corp",
                             "Cf-Connecting-IP": "198.51.100.9"})
    assert r.status == 201
    e = c.json_get("/audit")["entries"][0]
    assert e["who"] == "local" and e["peer"] == "127.0.0.1", e
    cmd = c.json_get(f"/nodes/{n.node_id}/commands")["commands"][0]
    assert cmd["queued_by"] == "local"


# ---- 4. enrollment without the secret ----------------------------------------

def test_pending_nodes_are_capped_and_reported(cc):
    c = cc(env={"VAULTMESH_MAX_PENDING_NODES": "3"})
    for _ in range(3):
        assert c.enroll(str(uuid.uuid4()), "look-alike").status == 202
    r = c.enroll(str(uuid.uuid4()), "one-too-many")
    assert_error(r, 429, "too_many_pending")
    assert r.headers.get("retry-after")
    # With the secret, a node still enrolls.
    assert c.enroll(str(uuid.uuid4()), "real", secret=ENROLL_SECRET).status == 200
    m = c.get("/metrics").text
    assert "vaultmesh_nodes_pending 3" in m and "vaultmesh_nodes_pending_max 3" in m
    assert 'vaultmesh_enrollments_total{outcome="limited"} 1' in m


def test_new_pending_nodes_are_rate_limited(cc):
    c = cc(env={"VAULTMESH_PENDING_ENROLL_PER_MINUTE": "5"})
    ids = [str(uuid.uuid4()) for _ in range(8)]
    codes = [c.enroll(i, "storm").status for i in ids]
    assert codes[:5] == [202] * 5 and codes[5:] == [429] * 3, codes
    # A pending node asking again takes no new place.
    assert c.enroll(ids[0], "storm").status == 202
    assert len([x for x in c.nodes_list() if x["status"] == "pending"]) == 5


@sqlite_only("reads the SQLite file")
def test_reject_and_delete_keep_history_and_stop_the_token(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    p = enroll_node(c, secret=None)
    # The pending node's page shows where and when it came from.
    page = c.get(f"/nodes/{p.node_id}", headers={"Accept": "text/html"}).text
    assert "127.0.0.1" in page and "Enrolled" in page
    assert c.post_json(f"/nodes/{n.node_id}/commands",
                       {"command": "agent-info"}).status == 201
    # Reject is for pending nodes only.
    assert_error(c.post_form(f"/nodes/{n.node_id}/reject",
                             headers={"Accept": "application/json"}), 409,
                 "not_pending")
    # Cross-site forms are refused.
    assert_error(c.post_form(f"/nodes/{p.node_id}/reject",
                             headers={"Origin": "https://evil.example"}), 403,
                 "cross_site_request")
    r = c.post_form(f"/nodes/{p.node_id}/reject")
    assert r.status == 303 and r.headers["location"] == "/"
    r = c.request("DELETE", f"/nodes/{n.node_id}")
    assert r.status == 200 and r.json()["status"] == "deleted", r
    ids = {x["node_id"] for x in c.nodes_list()}
    assert n.node_id not in ids and p.node_id not in ids
    assert n.heartbeat().status == 401
    assert_error(c.request("DELETE", f"/nodes/{n.node_id}"), 404, "unknown_node")
    # Their ids stay taken: neither comes back through enrollment.
    assert_error(c.enroll(p.node_id, "again"), 403, "node_deleted")
    assert_error(c.enroll(n.node_id, "again", secret=ENROLL_SECRET), 403,
                 "node_deleted")
    actions = [(e["action"], e["target"]) for e in c.json_get("/audit")["entries"]]
    assert ("delete", n.node_id) in actions and ("reject", p.node_id) in actions
    # The history stays in the store, and all of it survives a restart.
    c.restart()
    assert n.node_id not in {x["node_id"] for x in c.nodes_list()}
    db = sqlite3.connect(c.db_path)
    try:
        rows = db.execute("SELECT count(*) FROM commands WHERE node_id = ?",
                          (n.node_id,)).fetchone()[0]
        gone = db.execute("SELECT count(*) FROM nodes WHERE deleted_at IS NOT NULL"
                          ).fetchone()[0]
    finally:
        db.close()
    assert rows == 1 and gone == 2
    assert n.heartbeat().status == 401


def test_several_enroll_secrets_rotate_without_touching_enrolled_nodes(
        cc, enroll_node, tmp_path):
    secrets = tmp_path / "enroll-secrets"
    secrets.write_text("# the old one goes once every agent has the new\n"
                       "old-one\nnew-one\n")
    c = cc(secret=None, env={"VAULTMESH_ENROLL_SECRET_FILE": str(secrets)})
    a = enroll_node(c, secret="old-one", expect=200)
    b = enroll_node(c, secret="new-one", expect=200)
    assert a.token and b.token
    c.stop()
    secrets.write_text("new-one\n")
    c.start()
    assert a.heartbeat().status == 200 and b.heartbeat().status == 200
    assert c.enroll(str(uuid.uuid4()), "late", secret="old-one").status == 202
    assert c.enroll(str(uuid.uuid4()), "new", secret="new-one").status == 200


# ---- 5. one parked poll per node ----------------------------------------------

def test_one_node_cannot_take_every_long_poll(cc, enroll_node):
    c = cc(env={"VAULTMESH_MAX_LONGPOLLS": "8"})
    a = enroll_node(c)
    b = enroll_node(c)
    results = {}

    def poll(name, node, wait):
        results[name] = http_request(
            c.port, "GET", f"/api/agent/commands?node_id={node.node_id}&wait={wait}",
            headers={"Authorization": f"Bearer {node.token}"}, timeout=70)

    def parked():
        return c.logs.count("event=poll_parked")

    ts = []
    for i in range(8):
        t = threading.Thread(target=poll, args=(f"a{i}", a, 60), daemon=True)
        t.start()
        ts.append(t)
        wait_until(lambda i=i: parked() == i + 1, 5, f"poll a{i} parked")
        # Each new poll of A ends the one before it, at once.
        if i > 0:
            wait_until(lambda i=i: f"a{i - 1}" in results, 5, f"poll a{i - 1} ended")
            assert results[f"a{i - 1}"].json() == {"commands": []}
    tb = threading.Thread(target=poll, args=("b", b, 60), daemon=True)
    tb.start()
    # B parks (it is not answered at once) and gets its command when queued.
    wait_until(lambda: parked() == 9, 5, "B's poll parked")
    assert "b" not in results
    assert c.post_json(f"/nodes/{b.node_id}/commands",
                       {"command": "agent-info"}).status == 201
    tb.join(10)
    assert len(results["b"].json()["commands"]) == 1
    assert "a7" not in results   # A's newest poll still waits
    c.stop()
    for t in ts:
        t.join(10)
    # A stop answers the poll still parked (empty) before it closes.
    assert results["a7"].status == 200 and results["a7"].json() == {"commands": []}


# ---- 9. private files -----------------------------------------------------------

@sqlite_only("checks the SQLite file's mode")
def test_state_files_are_owner_only_whatever_the_umask(cc, enroll_node):
    old = os.umask(0o022)
    try:
        c = cc()
    finally:
        os.umask(old)
    n = enroll_node(c)
    assert n.heartbeat().status == 200
    wait_until(lambda: os.path.exists(c.db_path + "-wal"), 5, "the WAL")
    for path in (c.db_path, c.db_path + "-wal", c.db_path + "-shm", c.key_path):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


# ---- 10. a delivered command is never stranded ----------------------------------

class CuttingProxy(Listener):
    """A TCP stand-in between agent and CC. Armed, it swallows the first
    poll answer that carries a command (the CC has committed "delivered"
    before it sends), runs on_cut (for instance kill -9 the CC), and closes
    the agent's connection: the answer never arrives."""

    def __init__(self, upstream_port, on_cut=None):
        self.upstream = upstream_port
        self.on_cut = on_cut
        self.armed = True
        self.cuts = 0
        super().__init__()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, cl):
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream), timeout=90)
        except OSError:
            cl.close()
            return
        threading.Thread(target=self._pump, args=(cl, up), daemon=True).start()
        seen = b""
        try:
            while True:
                d = up.recv(65536)
                if not d:
                    break
                seen = (seen + d)[-8192:]
                with self.lock:
                    cut = self.armed and b'"commands":[{' in seen
                    if cut:
                        self.armed = False
                        self.cuts += 1
                if cut:
                    if self.on_cut:
                        self.on_cut()
                    break
                cl.sendall(d)
        except OSError:
            pass
        for s in (cl, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _pump(self, cl, up):
        try:
            while True:
                d = cl.recv(65536)
                if not d:
                    break
                up.sendall(d)
        except OSError:
            pass
        try:
            up.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def agent_info_through(proxy, c, agent):
    """An agent that reaches c through proxy, its first heartbeat seen, and
    agent-info queued for it: (the agent, its node id, the command id)."""
    a = agent(proxy.url)
    nid = a.node_id()
    wait_until(lambda: c.node(nid) and c.node(nid)["last_heartbeat_at"], 15,
               "the agent's first heartbeat")
    try:
        cid = c.post_json(f"/nodes/{nid}/commands",
                          {"command": "agent-info"}).json()["command_id"]
    except (http.client.HTTPException, OSError):
        # A CC killed at the cut may die before its 201 leaves (the
        # command was committed first: it went out in the poll answer).
        wait_until(lambda: proxy.cuts == 1, 5, "the cut")
        cid = None
    return a, nid, cid


def wait_status(c, nid, cid, timeout=30):
    def done():
        for cmd in c.json_get(f"/nodes/{nid}/commands")["commands"]:
            if cmd["command_id"] == cid and cmd["status"] not in (
                    "queued", "delivered"):
                return cmd
        return None
    return wait_until(done, timeout, f"command {cid} to finish")


@sqlite_only("reads the SQLite file")
def test_a_command_delivered_as_the_cc_died_runs_once_after_restart(cc, agent):
    c = cc()
    killed = threading.Event()

    def kill_cc():
        os.kill(c.proc.pid, signal.SIGKILL)
        killed.set()
    proxy = CuttingProxy(c.port, on_cut=kill_cc)
    try:
        a, nid, cid = agent_info_through(proxy, c, agent)
        wait_until(killed.is_set, 15, "the CC killed between commit and send")
        c.proc.wait(5)
        db = sqlite3.connect(c.db_path)
        ((cid, st),) = db.execute(
            "SELECT command_id, status FROM commands WHERE node_id = ?",
            (nid,)).fetchall()
        db.close()
        assert st == "delivered"   # committed, never received
        c.expected_running = False
        c.start(port=c.port)
        assert "event=commands_reoffered" in c.logs
        cmd = wait_status(c, nid, cid)
        assert cmd["status"] == "ok", cmd
        assert a.logs.count(f"event=command_accepted command_id={cid}") == 1
    finally:
        proxy.close()


def test_a_lost_poll_answer_is_offered_again_after_the_lease(cc, agent):
    c = cc(env={"VAULTMESH_DELIVERY_LEASE_SECONDS": "2"})
    proxy = CuttingProxy(c.port)
    try:
        a, nid, cid = agent_info_through(proxy, c, agent)
        cmd = wait_status(c, nid, cid)
        assert proxy.cuts == 1
        assert cmd["status"] == "ok", cmd
        assert "event=command_reoffered" in c.logs
        assert a.logs.count(f"event=command_accepted command_id={cid}") == 1
    finally:
        proxy.close()
