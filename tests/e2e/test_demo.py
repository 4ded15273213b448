"""`make demo` (scripts/demo.sh) as an operator meets it: the URL it prints is
the port the command center really got (VAULTMESH_LISTEN port 0), one demo
runs per directory (a second one says so on one line and leaves the first
alone), and a normal stop (SIGTERM, Ctrl-C) exits 0 with nothing left
running."""

import os
import re
import signal
import subprocess
import threading
import time

from conftest import BIN_DIR, SANITIZER_MARKERS, http_request, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "scripts", "demo.sh")
URL_RE = re.compile(r"^demo: command center\s+(http://127\.0\.0\.1:(\d+)/)\s")


def demo_env(tmp_path, demo_dir):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "VAULTMESH_DEMO_DIR": str(demo_dir),
            "VAULTMESH_LISTEN": "127.0.0.1:0",
            "VAULTMESH_HEARTBEAT_SECS": "1"}


class Demo:
    """scripts/demo.sh in a session of its own (its pid is its process
    group: what is left of the group after it exits was left behind)."""

    def __init__(self, tmp_path, demo_dir):
        self.p = subprocess.Popen([DEMO, BIN_DIR], cwd=tmp_path,
                                  env=demo_env(tmp_path, demo_dir),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, start_new_session=True)
        self.out, self.err = [], []
        self.readers = [threading.Thread(target=self._read, args=(f, lines), daemon=True)
                        for f, lines in ((self.p.stdout, self.out),
                                         (self.p.stderr, self.err))]
        for t in self.readers:
            t.start()

    @staticmethod
    def _read(f, lines):
        for line in f:
            lines.append(line.rstrip("\n"))

    def url(self):
        """Waits for the line with the URL; returns (url, port)."""
        def found():
            assert self.p.poll() is None, \
                f"the demo exited {self.p.returncode}: {self.out} {self.err}"
            for line in self.out:
                m = URL_RE.match(line)
                if m:
                    return m.group(1), int(m.group(2))
            return None
        return wait_until(found, 20, "the demo's URL line")

    def group_alive(self):
        try:
            os.killpg(self.p.pid, 0)
            return True
        except ProcessLookupError:
            return False

    def kill_all(self):
        if self.group_alive():
            os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait(10)
        for t in self.readers:
            t.join(5)


def listening_ports(demo_dir):
    text = (demo_dir / "command-center.log").read_text()
    return re.findall(r" event=listening addr=127\.0\.0\.1:(\d+) ", text)


def nodes(port):
    r = http_request(port, "GET", "/nodes")
    assert r.status == 200, r.text
    return r.json()


def assert_clean_logs(demo_dir):
    """No sanitizer report from either daemon (the SAN=1 run)."""
    for name in ("command-center.log", "node-agent.log"):
        text = (demo_dir / name).read_text()
        bad = [m for m in SANITIZER_MARKERS if m in text]
        assert not bad, f"{name}: {bad}\n{text[-3000:]}"


def lock_is_free(demo_dir):
    return subprocess.run(["flock", "-n", str(demo_dir / "demo.lock"), "true"]).returncode == 0


def test_demo_on_port_0_runs_once_per_directory_and_stops_with_status_0(tmp_path):
    d = tmp_path / "demo"
    first = Demo(tmp_path, d)
    try:
        url, port = first.url()
        # The URL is the port the command center logged, and it answers there.
        assert port != 0
        assert listening_ports(d) == [str(port)]
        r = http_request(port, "GET", "/healthz")
        assert r.status == 200 and r.json() == {"ok": True}
        # The demo's agent enrolled with the secret (approved) and reports.
        ns = wait_until(lambda: (lambda n: n if len(n) == 1 and n[0]["last_heartbeat_at"]
                                 else None)(nodes(port)),
                        20, "the demo's agent enrolled and heartbeating")
        assert ns[0]["status"] == "approved", ns
        lock = (d / "demo.lock").read_text()
        assert f"pid={first.p.pid} " in lock and f"url={url}" in lock, lock

        # A second demo on the same directory: one line on stderr naming the
        # running one, a non-zero exit, at once.
        t0 = time.monotonic()
        second = subprocess.run([DEMO, BIN_DIR], cwd=tmp_path, env=demo_env(tmp_path, d),
                                capture_output=True, text=True, timeout=30)
        took = time.monotonic() - t0
        assert second.returncode != 0
        lines = second.stderr.splitlines()
        assert len(lines) == 1, second.stderr
        assert "already running" in lines[0], lines[0]
        assert f"pid {first.p.pid}" in lines[0] and url in lines[0], lines[0]
        assert second.stdout == ""
        assert took < 5, took

        # The first one was not touched: same lock line, one command center
        # started, the same node, still heartbeating.
        assert first.p.poll() is None
        assert (d / "demo.lock").read_text() == lock
        assert listening_ports(d) == [str(port)]
        hb = nodes(port)[0]["last_heartbeat_at"]
        wait_until(lambda: nodes(port)[0]["last_heartbeat_at"] != hb, 15,
                   "a later heartbeat from the first demo's agent")
        assert len(nodes(port)) == 1
        assert http_request(port, "GET", "/healthz").status == 200

        # SIGTERM: status 0 (no "Error 143" from make), nothing left behind,
        # the directory free for the next demo.
        first.p.send_signal(signal.SIGTERM)
        assert first.p.wait(20) == 0, (first.out, first.err)
        wait_until(lambda: not first.group_alive(), 5,
                   "every process of the demo gone")
        assert lock_is_free(d)
        for t in first.readers:
            t.join(5)
        assert any(line.startswith("demo: stopped") for line in first.out), first.out
        assert_clean_logs(d)
    finally:
        first.kill_all()


def test_demo_stops_with_status_0_on_ctrl_c_and_the_next_one_starts(tmp_path):
    d = tmp_path / "demo"
    first = Demo(tmp_path, d)
    try:
        _, port = first.url()
        node = wait_until(lambda: (lambda n: len(n) == 1 and n[0]["last_heartbeat_at"]
                                   and n[0])(nodes(port)),
                          20, "the demo's agent enrolled and heartbeating")
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(first.p.pid, signal.SIGINT)
        assert first.p.wait(20) == 0, (first.out, first.err)
        wait_until(lambda: not first.group_alive(), 5, "every process of the demo gone")
    finally:
        first.kill_all()

    # The same directory takes a new demo: the same node (its state was
    # kept) heartbeats to it.
    again = Demo(tmp_path, d)
    try:
        _, port2 = again.url()
        wait_until(lambda: (lambda n: len(n) == 1 and n[0]["node_id"] == node["node_id"]
                            and n[0]["last_heartbeat_at"] != node["last_heartbeat_at"])(
                                nodes(port2)),
                   20, "the kept node heartbeating to the new demo")
        again.p.send_signal(signal.SIGTERM)
        assert again.p.wait(20) == 0, (again.out, again.err)
        assert_clean_logs(d)
    finally:
        again.kill_all()
