"""End-to-end test harness for VaultMesh: real binaries, loopback, temporary state.

Binaries come from ``$VM_BIN_DIR`` (default ``/work/main/build``):
``vaultmesh-command-center`` and ``vaultmesh-node-agent``. Only the Python
standard library and pytest are used.

Fixtures
--------
``cc`` -- factory for command centers. ``cc(secret=ENROLL_SECRET, env=None,
    start=True, name="cc")`` returns a started :class:`CommandCenter` with its
    own temporary ``cc.db`` and ``cc.key``, listening on ``127.0.0.1:0``. Pass
    ``secret=None`` to leave ``VAULTMESH_ENROLL_SECRET`` unset; ``env`` adds or
    overrides variables (a value of ``None`` removes one).
    A CommandCenter has ``start(port=None)``, ``stop()`` (SIGTERM, returns the
    exit status), ``kill()`` (SIGKILL), ``restart(same_port=True, kill=False)``, ``url``,
    ``port``, ``db_path``, ``key_path``, ``logs`` / ``lines`` / ``events(name)``
    / ``mark()`` + ``lines_since(mark)``, and HTTP helpers: ``request()``,
    ``get()``, ``post_json(path, obj, token=None)``, ``post_form()``,
    ``json_get()``, ``nodes_list()`` (GET /nodes as received), ``nodes()``
    (the same as a dict keyed by node_id), ``node(node_id)``,
    ``enroll(node_id, ..., secret=None)``, ``heartbeat(token, body)``,
    ``approve(node_id)`` / ``revoke(node_id)`` (HTML form posts, assert 303
    back to the node page), ``raw(bytes)`` (a hand-written request on a
    socket, for bodies and headers http.client will not send).
    All HTTP helpers return a :class:`Response` (``status``, ``headers`` with
    lower-case names, ``body`` bytes, ``text``, ``json()``); none raise on
    4xx/5xx and none follow redirects.

``agent`` -- factory for node agents. ``agent(cc, secret=ENROLL_SECRET,
    services="alpha.service,beta.service", os_profile="ArchVault", env=None,
    start=True, name="agent")`` returns a started :class:`Agent` with its own
    ``VAULTMESH_ROOT``, ``VAULTMESH_HEARTBEAT_SECS=1``,
    ``VAULTMESH_BACKOFF_MAX_SECS=2`` and ``VAULTMESH_CLOUDFLARED_METRICS``
    pointing at a port nobody listens on (so ``cloudflare`` is "unknown"
    unless the test passes its own). An Agent has ``start()``, ``stop()``,
    ``kill()``, ``root``, ``logs``/``events(name)``, ``node_id()`` (waits for
    the persisted id), ``token()``, ``state_path(name)``,
    ``wait_heartbeat(cc)`` (waits until the CC shows a heartbeat from it and
    returns the node dict).

``enroll_node`` -- ``enroll_node(cc, secret=ENROLL_SECRET, expect="auto",
    hostname=..., node_id=..., os_profile=...)`` enrolls a fake node straight
    through the API (asserting 200 with the CC's secret, 202 otherwise; pass
    ``expect=None`` to skip the check) and returns a :class:`FakeNode`
    (``node_id``, ``hostname``, ``token`` (None while pending),
    ``cc_public_key``, ``last_response``, ``enroll(secret=None)``,
    ``heartbeat(token=None, **overrides)``, ``body(**overrides)``). Use it to
    drive the CC without a real agent.

``ready_server`` -- factory for a tiny HTTP server that answers ``GET /ready``
    with a settable status (``srv.status = 503``); ``srv.addr`` is the
    ``host:port`` to put in ``VAULTMESH_CLOUDFLARED_METRICS``.

Helpers (import them: ``from conftest import wait_until, ...``):
``wait_until(pred, timeout, what)`` polls ``pred`` until it returns a truthy
value and returns it, or fails the test naming ``what``;
``stays_true(pred, duration)`` checks a condition holds for a while (only for
asserting that something does NOT happen); ``heartbeat_body(node_id, **kw)``
builds a valid contract heartbeat (``DELETE`` as a value drops a field);
``apply_overrides(d, overrides, drop=None)`` sets or (a value of ``drop``)
removes keys of a dict;
``assert_node_shape(node)`` checks a GET /nodes element against the contract
(fields, reason order, level implied by reasons);
``assert_error(resp, status, code)``
checks the contract's JSON error shape; ``parse_log_line(line)`` parses a
key=value log line; ``free_port()``; ``ENROLL_SECRET``.

Every process a fixture starts is stopped at teardown even when the test fails
(SIGTERM, then SIGKILL after a grace period). Teardown fails the test if a
command center died on its own, if a daemon stopped with SIGTERM did not exit
0, or if a sanitizer report appears in a log. When a test fails, the tail of
every daemon log it started is attached to the report.
"""

import base64
import datetime
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

BIN_DIR = os.environ.get("VM_BIN_DIR", "/work/main/build")
CC_BIN = os.path.join(BIN_DIR, "vaultmesh-command-center")
AGENT_BIN = os.path.join(BIN_DIR, "vaultmesh-node-agent")

ENROLL_SECRET = "e2e-enroll-secret-Zq8"
DEFAULT_PROFILE = "ArchVault"
DEFAULT_SERVICES = "alpha.service,beta.service"

# Files the agent persists under VAULTMESH_ROOT.
AGENT_NODE_ID_FILE = "node_id"
AGENT_TOKEN_FILE = "node_token"
AGENT_CC_PUB_FILE = "cc_ed25519.pub"

HEARTBEAT_FIELDS = (
    "node_id", "hostname", "os_profile", "agent_version", "uptime_secs",
    "load1", "mem_used_pct", "root_disk_used_pct", "cloudflare", "services",
    "sent_at",
)
NODE_FIELDS = (
    "node_id", "hostname", "os_profile", "status", "last_heartbeat_at",
    "last_scan_at", "findings", "heartbeat", "attention",
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
REASON_ORDER = (
    "heartbeat_stale", "cloudflare_down", "services_down", "never_scanned",
    "scan_stale", "critical_findings", "high_findings",
)
RED_REASONS = {"heartbeat_stale", "cloudflare_down", "services_down",
               "critical_findings"}

UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")

START_TIMEOUT = float(os.environ.get("VM_E2E_START_TIMEOUT", "10"))
STOP_TIMEOUT = 10.0


# ---------------------------------------------------------------- helpers

def wait_until(pred, timeout=10.0, what="condition", interval=0.1):
    """Polls pred() until it returns something truthy and returns that.

    Fails the test with `what` (and the last exception pred raised, if any)
    once `timeout` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            val = pred()
            if val:
                return val
            last_exc = None
        except (OSError, http.client.HTTPException, ValueError,
                KeyError, TypeError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            pytest.fail(f"timed out after {timeout:.1f}s waiting for {what}{extra}")
        time.sleep(interval)


def stays_true(pred, duration, interval=0.1):
    """True if pred() holds at every poll for `duration` seconds.

    Only for asserting that something does not happen (a revoked agent stops
    heartbeating); everything else waits with wait_until.
    """
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if not pred():
            return False
        time.sleep(interval)
    return bool(pred())


def free_port():
    """A loopback TCP port that nobody listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def apply_overrides(d, overrides, drop=None):
    """Sets each key of overrides in d, or removes it from d where the
    value is drop (compared by identity); returns d."""
    for k, v in overrides.items():
        if v is drop:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def utc_now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s):
    s = s.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(s)


def heartbeat_body(node_id, /, **overrides):
    """A valid contract heartbeat for node_id; keyword arguments override
    fields (a value of DELETE removes the field)."""
    return apply_overrides({
        "node_id": node_id,
        "hostname": "fake-" + node_id[:8],
        "os_profile": DEFAULT_PROFILE,
        "agent_version": "0.0.0-e2e",
        "uptime_secs": 12345,
        "load1": 0.25,
        "mem_used_pct": 42.5,
        "root_disk_used_pct": 17.0,
        "cloudflare": "up",
        "services": [{"name": "alpha.service", "state": "active"},
                     {"name": "beta.service", "state": "active"}],
        "sent_at": utc_now_rfc3339(),
    }, overrides, drop=DELETE)


class _Delete:
    def __repr__(self):
        return "DELETE"


DELETE = _Delete()

_LOG_KV_RE = re.compile(r'([A-Za-z0-9_.\-]+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_log_line(line):
    """Parses `ts=... level=info event=x k=v k2="a b"` into a dict."""
    line = re.sub(r"^<\d>", "", line.strip())
    out = {}
    for k, v in _LOG_KV_RE.findall(line):
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[k] = v
    return out


class Response:
    """An HTTP answer: status, headers (lower-case names), body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def http_request(port, method, path, body=None, headers=None, timeout=5.0):
    """One request on a fresh connection; never follows redirects, never
    raises for 4xx/5xx."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None and not any(k.lower() == "content-length" for k in hdrs):
            hdrs["Content-Length"] = str(len(body))
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def raw_http(port, data, timeout=5.0):
    """Sends raw request bytes and parses the answer; tolerates the server
    closing early (send errors are ignored, whatever arrived is parsed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    chunks = []
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not c:
                break
            chunks.append(c)
            resp = _parse_raw_response(b"".join(chunks))
            if resp is not None:
                return resp
    finally:
        s.close()
    resp = _parse_raw_response(b"".join(chunks), final=True)
    if resp is None:
        raise AssertionError(f"no HTTP answer; got {b''.join(chunks)[:300]!r}")
    return resp


def _parse_raw_response(buf, final=False):
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(rest) < n:
            return None if not final else Response(status, headers, rest)
        return Response(status, headers, rest[:n])
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body, ok = _dechunk(rest)
        if not ok and not final:
            return None
        return Response(status, headers, body)
    if not final:
        return None
    return Response(status, headers, rest)


def _dechunk(data):
    out = b""
    while True:
        line, sep, data = data.partition(b"\r\n")
        if not sep:
            return out, False
        n = int(line.split(b";")[0], 16)
        if n == 0:
            return out, True
        if len(data) < n + 2:
            return out, False
        out += data[:n]
        data = data[n + 2:]


def assert_error(resp, status, code=None):
    """Checks the contract's error answer: `status` and JSON
    {"error": code, "message": text}. `code` may be a string or a set."""
    assert resp.status == status, f"expected {status}, got {resp!r}"
    try:
        doc = resp.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {resp.body[:300]!r}")
    assert isinstance(doc, dict), f"error body is not an object: {doc!r}"
    assert "json" in resp.headers.get("content-type", ""), \
        f"error answer Content-Type is {resp.headers.get('content-type')!r}"
    assert isinstance(doc.get("error"), str) and doc["error"], doc
    assert isinstance(doc.get("message"), str), doc
    if code is not None:
        codes = {code} if isinstance(code, str) else set(code)
        assert doc["error"] in codes, f"error code {doc['error']!r}, expected {codes}"
    return doc


def assert_node_shape(n):
    """Checks one element of GET /nodes against the contract."""
    for f in NODE_FIELDS:
        assert f in n, f"GET /nodes element lacks {f!r}: {n!r}"
    assert UUID_RE.match(n["node_id"]), n["node_id"]
    assert n["status"] in ("approved", "pending", "revoked"), n["status"]
    if n["last_heartbeat_at"] is not None:
        assert RFC3339_RE.match(n["last_heartbeat_at"]), n["last_heartbeat_at"]
    assert n["last_scan_at"] is None or RFC3339_RE.match(n["last_scan_at"])
    assert isinstance(n["findings"], dict)
    for s in SEVERITIES:
        assert isinstance(n["findings"].get(s), int), n["findings"]
    assert n["heartbeat"] is None or isinstance(n["heartbeat"], dict)
    att = n["attention"]
    assert att["level"] in ("green", "yellow", "red"), att
    reasons = att["reasons"]
    assert isinstance(reasons, list)
    for r in reasons:
        assert r in REASON_ORDER, f"unknown attention reason {r!r}"
    assert reasons == sorted(reasons, key=REASON_ORDER.index), \
        f"reasons out of contract order: {reasons}"
    assert len(set(reasons)) == len(reasons), reasons
    if not reasons:
        expect = "green"
    elif RED_REASONS & set(reasons):
        expect = "red"
    else:
        expect = "yellow"
    assert att["level"] == expect, f"level {att['level']} for reasons {reasons}"


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VAULTMESH_")
           and k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "LISTEN_FDS",
                         "LISTEN_PID", "WATCHDOG_USEC")}
    return env


def _merge_env(env, extra):
    return apply_overrides(env, {k: None if v is None else str(v)
                                 for k, v in (extra or {}).items()})


# ---------------------------------------------------------------- processes

class Daemon:
    """A child process whose stdout+stderr are drained into memory and a
    log file by a thread, so the pipe never fills."""

    def __init__(self, name, binary, workdir):
        self.name = name
        self.binary = binary
        self.workdir = workdir
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc = None
        self.lines = []
        self._lock = threading.Lock()
        self._reader = None
        self._run_start = 0
        self.expected_running = False
        self.problems = []

    def _spawn(self, env):
        if not os.path.exists(self.binary):
            pytest.fail(f"binary not built: {self.binary} (run make)")
        with self._lock:
            self._run_start = len(self.lines)
            self.lines.append(f"# ---- {self.name} started {time.strftime('%H:%M:%S')}")
        self.proc = subprocess.Popen(
            [self.binary], env=env, cwd=self.workdir,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.expected_running = True
        self._reader = threading.Thread(target=self._drain, args=(self.proc,),
                                        daemon=True)
        self._reader.start()

    def _drain(self, proc):
        with open(self.log_path, "a", encoding="utf-8") as f:
            for raw in iter(proc.stdout.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                with self._lock:
                    self.lines.append(line)
                f.write(line + "\n")
                f.flush()
        proc.stdout.close()

    # logs -------------------------------------------------------------
    @property
    def logs(self):
        with self._lock:
            return "\n".join(self.lines)

    def mark(self):
        """A position in the log; pass it to lines_since()."""
        with self._lock:
            return len(self.lines)

    def lines_since(self, mark=0):
        with self._lock:
            return list(self.lines[mark:])

    def current_run_lines(self):
        with self._lock:
            return list(self.lines[self._run_start:])

    def events(self, name, since=0):
        """Parsed log lines with event=name."""
        return [d for d in (parse_log_line(ln) for ln in self.lines_since(since))
                if d.get("event") == name]

    def log_tail(self, n=80):
        with self._lock:
            return "\n".join(self.lines[-n:])

    # lifetime ---------------------------------------------------------
    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _join_reader(self):
        if self._reader is not None:
            self._reader.join(timeout=3)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; returns the exit status (negative: signal)."""
        assert self.proc is not None, "not started"
        self.expected_running = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.proc.wait(timeout=5)
                self._join_reader()
                pytest.fail(f"{self.name} did not exit within {timeout}s of SIGTERM")
        self._join_reader()
        return self.proc.returncode

    def kill(self):
        """SIGKILL (kill -9) and wait."""
        assert self.proc is not None, "not started"
        self.expected_running = False
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._join_reader()
        return self.proc.returncode

    def _kill_group(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def cleanup(self):
        """Teardown: stop whatever still runs, collect problems."""
        if self.proc is None:
            return
        if self.expected_running and self.proc.poll() is not None:
            self.problems.append(
                f"{self.name} exited on its own with status {self.proc.returncode}")
            self.expected_running = False
        if self.proc.poll() is None:
            self.expected_running = False
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
                if self.proc.returncode != 0:
                    self.problems.append(
                        f"{self.name} exited {self.proc.returncode} on SIGTERM at teardown")
            except subprocess.TimeoutExpired:
                self.problems.append(f"{self.name} ignored SIGTERM at teardown")
                self._kill_group()
                self.proc.wait(timeout=5)
        # children it may have left behind in its session
        self._kill_group()
        self._join_reader()
        for m in SANITIZER_MARKERS:
            if m in self.logs:
                self.problems.append(f"{self.name} log holds a sanitizer report ({m!r})")
                break


# VM_TEST_PG (a libpq URI without a database, e.g. postgresql://vm@127.0.0.1:5433,
# or "auto": a throwaway cluster for the session, tests/e2e/pg.py): every
# command center gets a new, empty PostgreSQL database there instead of a
# SQLite file.
PG_BASE = os.environ.get("VM_TEST_PG")


@pytest.fixture(scope="session", autouse=True)
def _pg_cluster():
    """VM_TEST_PG=auto: a throwaway cluster for the session (tests/e2e/pg.py)."""
    global PG_BASE
    if PG_BASE != "auto":
        yield None
        return
    from pg import Cluster
    c = Cluster()
    PG_BASE = c.start()
    try:
        yield c
    finally:
        c.destroy()


def pg_database():
    """A new empty database on VM_TEST_PG: its URI."""
    name = "vm_" + uuid.uuid4().hex[:16]
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", PG_BASE + "/postgres",
                    "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True, timeout=30)
    return f"{PG_BASE}/{name}"


def sqlite_only(reason="reads the SQLite file"):
    """Skips a test that reads or damages the SQLite file itself under VM_TEST_PG."""
    return pytest.mark.skipif(PG_BASE is not None, reason=reason)


class CommandCenter(Daemon):
    """A vaultmesh-command-center on 127.0.0.1 with temporary state."""

    def __init__(self, workdir, secret=ENROLL_SECRET, env=None, name="cc"):
        os.makedirs(workdir, exist_ok=True)
        super().__init__(name, CC_BIN, workdir)
        self.db_path = pg_database() if PG_BASE else os.path.join(workdir, "cc.db")
        self.key_path = os.path.join(workdir, "cc.key")
        self.secret = secret
        self.extra_env = dict(env or {})
        self.port = None

    def env(self, listen):
        e = _clean_env()
        e.update({
            "VAULTMESH_LISTEN": listen,
            "VAULTMESH_DB": self.db_path,
            "VAULTMESH_CC_KEY_PATH": self.key_path,
            "VAULTMESH_LOG": "debug",
        })
        if self.secret is not None:
            e["VAULTMESH_ENROLL_SECRET"] = self.secret
        return _merge_env(e, self.extra_env)

    def start(self, port=None, timeout=START_TIMEOUT):
        """Starts on `port` (None/0: a free one) and waits for event=listening."""
        assert not self.running, "already running"
        self._spawn(self.env(f"127.0.0.1:{port or 0}"))
        deadline = time.monotonic() + timeout
        while True:
            for ln in self.current_run_lines():
                d = parse_log_line(ln)
                if d.get("event") == "listening":
                    m = re.search(r":(\d+)$", d.get("addr", ""))
                    if m:
                        self.port = int(m.group(1))
                        if port:
                            assert self.port == port, \
                                f"asked for port {port}, listening on {self.port}"
                        return self
            if self.proc.poll() is not None:
                self._join_reader()
                self.expected_running = False
                pytest.fail(f"{self.name} exited with {self.proc.returncode} before "
                            f"listening:\n{self.log_tail(40)}")
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name}: no event=listening within {timeout}s:\n"
                            f"{self.log_tail(40)}")
            time.sleep(0.02)

    def restart(self, same_port=True, kill=False):
        """Stops (SIGTERM, or SIGKILL with kill=True) and starts again on the
        same database; returns the exit status of the stop."""
        rc = self.kill() if kill else self.stop()
        self.start(port=self.port if same_port else None)
        return rc

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    # HTTP ---------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=5.0):
        return http_request(self.port, method, path, body, headers, timeout)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post_json(self, path, obj, token=None, headers=None):
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
        return self.request("POST", path, body=body, headers=h)

    def post_form(self, path, fields=None, headers=None):
        from urllib.parse import urlencode
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, body=urlencode(fields or {}), headers=h)

    def json_get(self, path):
        r = self.get(path)
        assert r.status == 200, f"GET {path}: {r!r}"
        return r.json()

    def raw(self, data, timeout=5.0):
        return raw_http(self.port, data, timeout)

    def nodes_list(self):
        r = self.get("/nodes")
        assert r.status == 200, f"GET /nodes: {r!r}"
        assert "json" in r.headers.get("content-type", ""), r.headers
        doc = r.json()
        assert isinstance(doc, list), doc
        return doc

    def nodes(self):
        """GET /nodes as {node_id: node}."""
        return {n["node_id"]: n for n in self.nodes_list()}

    def node(self, node_id):
        return self.nodes().get(node_id)

    def enroll(self, node_id, hostname="host", os_profile=DEFAULT_PROFILE,
               agent_version="0.0.0-e2e", secret=None, **extra):
        body = {"node_id": node_id, "hostname": hostname,
                "os_profile": os_profile, "agent_version": agent_version}
        if secret is not None:
            body["enroll_secret"] = secret
        body.update(extra)
        return self.post_json("/api/agent/enroll", body)

    def heartbeat(self, token, body):
        return self.post_json("/api/agent/heartbeat", body, token=token)

    def approve(self, node_id):
        r = self.post_form(f"/nodes/{node_id}/approve")
        assert r.status == 303, f"approve form: {r!r}"
        assert r.headers.get("location", "").endswith(f"/nodes/{node_id}"), r.headers
        return r

    def revoke(self, node_id):
        r = self.post_form(f"/nodes/{node_id}/revoke")
        assert r.status == 303, f"revoke form: {r!r}"
        assert r.headers.get("location", "").endswith(f"/nodes/{node_id}"), r.headers
        return r


class Agent(Daemon):
    """A vaultmesh-node-agent with its own VAULTMESH_ROOT."""

    def __init__(self, workdir, cc, secret=ENROLL_SECRET,
                 services=DEFAULT_SERVICES, os_profile=DEFAULT_PROFILE,
                 env=None, name="agent"):
        os.makedirs(workdir, exist_ok=True)
        super().__init__(name, AGENT_BIN, workdir)
        self.root = os.path.join(workdir, "root")   # created by the agent
        self.cc = cc
        self.secret = secret
        self.services = services
        self.os_profile = os_profile
        self.extra_env = dict(env or {})

    def env(self):
        e = _clean_env()
        e.update({
            "VAULTMESH_CC_URL": self.cc.url if hasattr(self.cc, "url") else str(self.cc),
            "VAULTMESH_ROOT": self.root,
            "VAULTMESH_HEARTBEAT_SECS": "1",
            "VAULTMESH_BACKOFF_MAX_SECS": "2",
            "VAULTMESH_OS_PROFILE": self.os_profile,
            "VAULTMESH_CLOUDFLARED_METRICS": f"127.0.0.1:{free_port()}",
            "VAULTMESH_LOG": "debug",
        })
        if self.services is not None:
            e["VAULTMESH_SERVICES"] = self.services
        if self.secret is not None:
            e["VAULTMESH_ENROLL_SECRET"] = self.secret
        return _merge_env(e, self.extra_env)

    def start(self):
        assert not self.running, "already running"
        self._spawn(self.env())
        return self

    def cleanup(self):
        # An agent may end by itself (after revocation): not a problem.
        if self.proc is not None and self.proc.poll() is not None:
            self.expected_running = False
        super().cleanup()

    def state_path(self, name):
        return os.path.join(self.root, name)

    def _read_state(self, name):
        with open(self.state_path(name), "rb") as f:
            return f.read().decode("utf-8").strip()

    def node_id(self, timeout=10.0):
        """The node id the agent persisted (waits for the file)."""
        def read():
            v = self._read_state(AGENT_NODE_ID_FILE)
            return v if UUID_RE.match(v) else None
        return wait_until(read, timeout, f"{self.name} to persist its node_id")

    def token(self, timeout=10.0):
        return wait_until(lambda: self._read_state(AGENT_TOKEN_FILE), timeout,
                          f"{self.name} to persist its node_token")

    def wait_heartbeat(self, cc=None, timeout=15.0, after=None):
        """Waits until the CC shows a heartbeat from this agent (newer than
        `after`, a previous last_heartbeat_at/sent_at, when given)."""
        cc = cc or self.cc
        nid = self.node_id()

        def seen():
            n = cc.node(nid)
            if not n or not n["last_heartbeat_at"] or not n["heartbeat"]:
                return None
            if after is not None and n["heartbeat"].get("sent_at") == after:
                return None
            return n
        return wait_until(seen, timeout, f"a heartbeat from {self.name} ({nid})")


class FakeNode:
    """A node driven straight through the agent API (no agent process)."""

    def __init__(self, cc, node_id=None, hostname=None, os_profile=DEFAULT_PROFILE,
                 agent_version="0.0.0-e2e"):
        self.cc = cc
        self.node_id = node_id or str(uuid.uuid4())
        self.hostname = hostname or f"fake-{self.node_id[:8]}"
        self.os_profile = os_profile
        self.agent_version = agent_version
        self.token = None
        self.cc_public_key = None
        self.last_response = None

    def enroll(self, secret=None):
        r = self.cc.enroll(self.node_id, hostname=self.hostname,
                           os_profile=self.os_profile,
                           agent_version=self.agent_version, secret=secret)
        self.last_response = r
        if r.status == 200:
            doc = r.json()
            self.token = doc["node_token"]
            self.cc_public_key = doc["cc_public_key"]
        return r

    def body(self, **overrides):
        base = {"hostname": self.hostname, "os_profile": self.os_profile,
                "agent_version": self.agent_version}
        base.update(overrides)
        return heartbeat_body(self.node_id, **base)

    def heartbeat(self, token=None, **overrides):
        """Posts a valid heartbeat (fields overridable); returns the Response."""
        return self.cc.heartbeat(token or self.token, self.body(**overrides))


# ---------------------------------------------------------------- fixtures

def _register(request, daemon):
    procs = getattr(request.node, "_vm_procs", None)
    if procs is None:
        procs = request.node._vm_procs = []
    procs.append(daemon)


def _teardown(daemons):
    problems = []
    for d in reversed(daemons):
        try:
            d.cleanup()
        except Exception as e:  # keep cleaning the others
            problems.append(f"{d.name}: cleanup failed: {e!r}")
        problems.extend(d.problems)
    if problems:
        tails = "\n".join(f"--- {d.name}\n{d.log_tail(30)}" for d in daemons)
        pytest.fail("daemon problems at teardown:\n  " + "\n  ".join(problems)
                    + "\n" + tails, pytrace=False)


def _daemons(request, kind, build):
    """A daemon fixture's factory and what it made: make(*args, start=True,
    name=None, **kw) builds one with build(name, *args, **kw), named kind,
    kind2, kind3... unless named, registers it for the failure report and
    starts it unless start=False. Teardown: _teardown(made)."""
    made = []

    def make(*args, start=True, name=None, **kw):
        name = name or (kind if not made else f"{kind}{len(made) + 1}")
        d = build(name, *args, **kw)
        made.append(d)
        _register(request, d)
        if start:
            d.start()
        return d

    return make, made


@pytest.fixture
def cc(request, tmp_path):
    """Factory: cc(secret=ENROLL_SECRET, env=None, start=True, name="cc")."""
    def build(name, secret=ENROLL_SECRET, env=None):
        return CommandCenter(str(tmp_path / name), secret=secret, env=env,
                             name=name)

    make, made = _daemons(request, "cc", build)
    yield make
    _teardown(made)


@pytest.fixture
def agent(request, tmp_path):
    """Factory: agent(cc, secret=ENROLL_SECRET, services=..., os_profile=...,
    env=None, start=True, name="agent")."""
    def build(name, cc_, secret=ENROLL_SECRET, services=DEFAULT_SERVICES,
              os_profile=DEFAULT_PROFILE, env=None):
        return Agent(str(tmp_path / name), cc_, secret=secret,
                     services=services, os_profile=os_profile, env=env,
                     name=name)

    make, made = _daemons(request, "agent", build)
    yield make
    _teardown(made)


@pytest.fixture
def enroll_node():
    """Factory: enroll_node(cc, secret=ENROLL_SECRET, expect=200|202|None,
    **FakeNode kwargs) -> FakeNode, enrolled through the API."""
    def make(cc_, secret=ENROLL_SECRET, expect="auto", **kw):
        n = FakeNode(cc_, **kw)
        r = n.enroll(secret=secret)
        if expect == "auto":
            expect = 200 if secret is not None and secret == cc_.secret else 202
        if expect is not None:
            assert r.status == expect, f"enroll {n.node_id}: {r!r}"
        return n
    return make


class _ReadyHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.hits += 1
        code = srv.status if self.path.startswith("/ready") else 404
        body = json.dumps({"status": code, "readyConnections": 1 if code == 200 else 0})
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def ready_server():
    """Factory: ready_server(status=200) -> server answering GET /ready."""
    servers = []

    class Srv:
        def __init__(self, status):
            self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ReadyHandler)
            self.httpd.status = status
            self.httpd.hits = 0
            self.httpd.daemon_threads = True
            self.thread = threading.Thread(target=self.httpd.serve_forever,
                                           kwargs={"poll_interval": 0.1}, daemon=True)
            self.thread.start()

        @property
        def addr(self):
            return f"127.0.0.1:{self.httpd.server_address[1]}"

        @property
        def status(self):
            return self.httpd.status

        @status.setter
        def status(self, v):
            self.httpd.status = v

        @property
        def hits(self):
            return self.httpd.hits

    def make(status=200):
        s = Srv(status)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.httpd.shutdown()
        s.httpd.server_close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for d in getattr(item, "_vm_procs", []):
            rep.sections.append((f"{d.name} log (tail, full log {d.log_path})",
                                 d.log_tail(60)))


def b64_32_bytes(s):
    """True if s is base64 of exactly 32 bytes (an Ed25519 public key)."""
    try:
        return len(base64.b64decode(s, validate=True)) == 32
    except (ValueError, TypeError):
        return False
