"""A stand-in command center for the node agent's end-to-end tests.

It speaks the agent side of CONTRACT.md on 127.0.0.1 (a free port), owns an
Ed25519 key pair (python3-cryptography), signs commands exactly as the
contract says and records everything the agent sends. Tests change its
behaviour through plain attributes (enroll_mode, heartbeat_status,
result_status, ...) and wait on conditions with wait_for().
"""
import base64
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SIG_DOMAIN = b"vaultmesh.command.v1\x00"
BIN_DIR = os.environ.get("VM_BIN_DIR", "/work/main/build")
AGENT_BIN = os.path.join(BIN_DIR, "vaultmesh-node-agent")


def wait_for(pred, timeout=10.0, what="condition"):
    """Polls pred() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def raw_public(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass        # an agent killed mid-request is part of the tests


class FakeCC:
    def __init__(self, port=0):
        self.key = Ed25519PrivateKey.generate()
        self.pubkey_b64 = base64.b64encode(raw_public(self.key)).decode()
        self.cond = threading.Condition()
        self.enroll_mode = "approve"    # approve | pending | conflict | revoked | 500
        self.token = secrets.token_hex(32)
        self.valid_tokens = {self.token}
        self.heartbeat_status = 200
        self.poll_status = 200
        self.result_status = 200        # an int, or "hang" (never answers)
        self.enrolls = []               # request bodies
        self.heartbeats = []            # (headers dict, body)
        self.heartbeat_times = []
        self.polls = 0
        self.polls_open = 0
        self.results = []               # (status answered, body)
        self.queue = []                 # signed commands waiting for a poll
        self.key_chain = None           # links sent with every answer, or None
        self.key_version = None         # cc_key_version told at enrollment
        self.key_chain_in_heartbeats = True
        self.hung = 0                   # result requests being held
        self.closing = False
        self.server = QuietServer(("127.0.0.1", port), self._handler())
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # ---- commands -------------------------------------------------------

    def sign_bytes(self, payload, key=None):
        key = key or self.key
        sig = key.sign(SIG_DOMAIN + payload)
        return {"payload": base64.b64encode(payload).decode(),
                "signature": base64.b64encode(sig).decode()}

    def command(self, node_id, seq, command="agent-info", args=None,
                expires_in=300, command_id=None, key=None):
        """A signed command; returns (command_id, element)."""
        cid = command_id or str(uuid.uuid4())
        now = int(time.time())
        payload = json.dumps({
            "command_id": cid, "node_id": node_id, "seq": seq,
            "command": command, "args": args if args is not None else {},
            "issued_at": now, "expires_at": now + expires_in,
        }, separators=(",", ":")).encode()
        return cid, self.sign_bytes(payload, key)

    def push(self, *elems):
        with self.cond:
            self.queue.extend(elems)
            self.cond.notify_all()

    def results_for(self, cid):
        with self.cond:
            return [b for (_, b) in self.results if b.get("command_id") == cid]

    def accepted_results_for(self, cid):
        with self.cond:
            return [b for (st, b) in self.results
                    if st == 200 and b.get("command_id") == cid]

    def heartbeat_count(self):
        with self.cond:
            return len(self.heartbeats)

    # ---- HTTP -----------------------------------------------------------

    def _handler(self):
        cc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def answer(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def body(self):
                n = int(self.headers.get("Content-Length", "0"))
                return json.loads(self.rfile.read(n) or b"null")

            def gone(self):
                """True once the client closed its end (a stopped agent's
                poll must not take the commands a new one waits for)."""
                try:
                    r, _, _ = select.select([self.connection], [], [], 0)
                    return bool(r) and self.connection.recv(
                        1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def authed(self):
                auth = self.headers.get("Authorization", "")
                with cc.cond:
                    ok = auth.startswith("Bearer ") and \
                        auth[7:] in cc.valid_tokens
                if not ok:
                    self.answer(401, {"error": "unauthorized",
                                      "message": "bad token"})
                return ok

            def do_POST(self):
                path = self.path
                body = self.body()
                if path == "/api/agent/enroll":
                    with cc.cond:
                        cc.enrolls.append(body)
                        mode = cc.enroll_mode
                        cc.cond.notify_all()
                    if mode == "approve":
                        doc = {"node_token": cc.token,
                               "cc_public_key": cc.pubkey_b64}
                        if cc.key_version is not None:
                            doc["cc_key_version"] = cc.key_version
                        self.answer(200, doc)
                    elif mode == "pending":
                        self.answer(202, {"status": "pending"})
                    elif mode == "conflict":
                        self.answer(409, {"error": "already_enrolled",
                                          "message": "x"})
                    elif mode == "revoked":
                        self.answer(403, {"error": "node_revoked",
                                          "message": "x"})
                    else:
                        self.answer(500, {"error": "internal",
                                          "message": "x"})
                    return
                if path == "/api/agent/heartbeat":
                    with cc.cond:
                        status = cc.heartbeat_status
                    if status == 200 and not self.authed():
                        return
                    with cc.cond:
                        cc.heartbeats.append((dict(self.headers), body))
                        cc.heartbeat_times.append(time.monotonic())
                        cc.cond.notify_all()
                        pending = len(cc.queue)
                    if status != 200:
                        self.answer(status, {"error": "x", "message": "x"})
                        return
                    doc = {"ok": True, "pending_commands": pending}
                    with cc.cond:
                        if cc.key_chain is not None and \
                                cc.key_chain_in_heartbeats:
                            doc["key_chain"] = cc.key_chain
                    self.answer(200, doc)
                    return
                if path == "/api/agent/command-result":
                    if not self.authed():
                        return
                    with cc.cond:
                        status = cc.result_status
                    if status == "hang":
                        with cc.cond:
                            cc.hung += 1
                            cc.results.append(("hang", body))
                            cc.cond.notify_all()
                            while not cc.closing and cc.result_status == "hang":
                                cc.cond.wait(0.5)
                        return
                    with cc.cond:
                        cc.results.append((status, body))
                        cc.cond.notify_all()
                    self.answer(status, {"ok": True} if status == 200 else
                                {"error": "x", "message": "x"})
                    return
                self.answer(404, {"error": "not_found", "message": path})

            def do_GET(self):
                if not self.path.startswith("/api/agent/commands?"):
                    self.answer(404, {"error": "not_found", "message": "x"})
                    return
                if not self.authed():
                    return
                with cc.cond:
                    cc.polls += 1
                    cc.polls_open += 1
                    cc.cond.notify_all()
                    status = cc.poll_status
                try:
                    if status != 200:
                        self.answer(status, {"error": "x", "message": "x"})
                        return
                    deadline = time.monotonic() + 30
                    with cc.cond:
                        while not cc.queue and not cc.closing and \
                                time.monotonic() < deadline and \
                                not self.gone():
                            cc.cond.wait(0.2)
                        if self.gone():
                            # Its agent stopped: the commands wait for
                            # the next poll (a restarted agent's).
                            return
                        cmds, cc.queue = cc.queue, []
                        doc = {"commands": cmds}
                        if cmds and cc.key_chain is not None:
                            doc["key_chain"] = cc.key_chain
                    self.answer(200, doc)
                finally:
                    with cc.cond:
                        cc.polls_open -= 1
                        cc.cond.notify_all()

        return Handler


class Agent:
    """The real agent binary, its log in a file, its state in root."""

    def __init__(self, tmp_path, cc_url, **env):
        self.root = str(tmp_path / "root")
        self.logpath = str(tmp_path / "agent.log")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "VAULTMESH_CC_URL": cc_url,
            "VAULTMESH_ROOT": self.root,
            "VAULTMESH_HEARTBEAT_SECS": "1",
            "VAULTMESH_BACKOFF_MAX_SECS": "2",
            "VAULTMESH_LOG": "debug",
            "VAULTMESH_OS_PROFILE": "TestVault",
            # Nothing listens there: cloudflare stays "unknown".
            "VAULTMESH_CLOUDFLARED_METRICS": "127.0.0.1:9",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]
        self.env.update({k: str(v) for k, v in env.items()})
        self.proc = None

    def start(self):
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([AGENT_BIN], env=self.env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        return self

    def log(self):
        with open(self.logpath, "r", errors="replace") as f:
            return f.read()

    def node_id(self):
        p = os.path.join(self.root, "node_id")
        wait_for(lambda: os.path.exists(p), 5, "node_id file")
        with open(p) as f:
            return f.read().strip()

    def last_seq(self):
        try:
            with open(os.path.join(self.root, "last_seq")) as f:
                return int(f.read().strip())
        except FileNotFoundError:
            return 0

    def spool(self):
        d = os.path.join(self.root, "spool")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=5.0):
        """SIGTERM; returns (exit status, seconds it took)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("agent did not stop within %.1fs" % timeout)
        finally:
            self.logf.close()
        return rc, time.monotonic() - t0

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


# The agent tests' fixtures, imported by name into each test file (a fixture
# named there overrides the real daemon's `cc` of conftest.py).
@pytest.fixture
def cc():
    c = FakeCC()
    yield c
    c.close()


@pytest.fixture
def agents():
    """Agents a test started: killed if still running, and their logs
    checked for sanitizer reports."""
    started = []
    yield started
    for a in started:
        if a.proc is not None and a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()
        log = a.log()
        for mark in SANITIZER_MARKS:
            assert mark not in log, log[-4000:]
