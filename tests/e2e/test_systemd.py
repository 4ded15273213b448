"""systemd integration (issue 7): sd_notify READY/WATCHDOG/STOPPING, socket
activation, `make install` into a DESTDIR, the units verified and scored by
systemd-analyze, the man pages readable by man."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import CC_BIN, free_port, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def base_env(tmp_path):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "VAULTMESH_DB": str(tmp_path / "cc.db"),
            "VAULTMESH_CC_KEY_PATH": str(tmp_path / "cc.key")}


class Notify:
    """A NOTIFY_SOCKET for a daemon: got(what, n) reads what has arrived and
    says whether `what` was seen n times."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []

    def got(self, what, n=1):
        try:
            self.msgs.append(self.sock.recv(4096).decode())
        except socket.timeout:
            pass
        return sum(what in m for m in self.msgs) >= n

    def close(self):
        self.sock.close()


def test_sd_notify_ready_watchdog_stopping(tmp_path):
    ns = Notify(str(tmp_path / "notify.sock"))
    got = ns.got
    env = base_env(tmp_path)
    env.update({"VAULTMESH_LISTEN": "127.0.0.1:0", "NOTIFY_SOCKET": ns.path,
                "WATCHDOG_USEC": "600000"})
    p = subprocess.Popen([CC_BIN], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: got("READY=1"), 10, "READY=1")
        wait_until(lambda: got("WATCHDOG=1", 3), 5, "three WATCHDOG=1 pings")
        p.send_signal(signal.SIGTERM)
        wait_until(lambda: got("STOPPING=1"), 10, "STOPPING=1")
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        ns.close()


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                    reason="systemd-socket-activate not installed")
def test_socket_activation(tmp_path):
    port = free_port()
    env = base_env(tmp_path)
    log = open(tmp_path / "cc.log", "wb")
    p = subprocess.Popen(["systemd-socket-activate", "-l", f"127.0.0.1:{port}",
                          "-E", "VAULTMESH_DB", "-E", "VAULTMESH_CC_KEY_PATH",
                          CC_BIN], env=env, stdout=log, stderr=log)
    try:
        def healthy():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                            timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(healthy, 10, "the socket-activated command center")
        # The server answers as soon as it runs; the line naming its
        # address is written by the main thread just after: wait for it.
        text = wait_until(lambda: (lambda t: t if f"addr=127.0.0.1:{port}" in t
                                   else None)(open(tmp_path / "cc.log").read()),
                          10, "the listening line in the log")
        assert "event=socket_activated" in text
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        log.close()


def test_make_install_gives_a_packagers_tree(tmp_path):
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-C", ROOT, "-s", "install", f"DESTDIR={dest}",
                        "PREFIX=/usr"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == sorted([
        "etc/vaultmesh/agent.env.example",
        "etc/vaultmesh/command-center.env.example",
        "etc/vaultmesh/policy.json.example",
        "etc/vaultmesh/roles.json.example",
        "etc/vaultmesh/scan.d/example.json.example",
        "usr/bin/vaultmesh-command-center",
        "usr/bin/vaultmesh-node-agent",
        "usr/lib/systemd/system/vaultmesh-command-center.service",
        "usr/lib/systemd/system/vaultmesh-command-center.socket",
        "usr/lib/systemd/system/vaultmesh-node-agent.service",
        "usr/share/man/man8/vaultmesh-command-center.8",
        "usr/share/man/man8/vaultmesh-node-agent.8",
    ]), files
    for b in ("vaultmesh-command-center", "vaultmesh-node-agent"):
        assert os.access(dest / "usr/bin" / b, os.X_OK)
        out = subprocess.run([str(dest / "usr/bin" / b), "--version"],
                             capture_output=True, text=True)
        assert out.returncode == 0 and "0.1.0" in out.stdout
    unit = (dest / "usr/lib/systemd/system/vaultmesh-command-center.service").read_text()
    assert "ExecStart=/usr/bin/vaultmesh-command-center" in unit
    assert oct((dest / "etc/vaultmesh/agent.env.example").stat().st_mode & 0o777) == "0o600"

    # man reads the pages without complaint.
    if shutil.which("man"):
        for page in ("vaultmesh-command-center.8", "vaultmesh-node-agent.8"):
            r = subprocess.run(["man", "--warnings", "-l",
                                str(dest / "usr/share/man/man8" / page)],
                               capture_output=True, text=True,
                               env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat"})
            assert r.returncode == 0 and "ENVIRONMENT" in r.stdout, r.stderr
            assert r.stderr.strip() == "", r.stderr

    # systemd-analyze verifies the units (binaries resolved in DESTDIR).
    if shutil.which("systemd-analyze"):
        check = tmp_path / "verify"
        check.mkdir()
        for u in ("vaultmesh-command-center.service", "vaultmesh-node-agent.service",
                  "vaultmesh-command-center.socket"):
            text = (dest / "usr/lib/systemd/system" / u).read_text()
            (check / u).write_text(text.replace("/usr/bin/", f"{dest}/usr/bin/"))
        r = subprocess.run(["systemd-analyze", "verify",
                            str(check / "vaultmesh-command-center.service"),
                            str(check / "vaultmesh-node-agent.service")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        bad = [ln for ln in r.stderr.splitlines() if "vaultmesh" in ln]
        assert not bad, bad


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed")
@pytest.mark.parametrize("unit,limit", [("vaultmesh-command-center.service", 2.0),
                                        ("vaultmesh-node-agent.service", 5.0)])
def test_unit_exposure_scores(unit, limit):
    r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        os.path.join(ROOT, "systemd", unit)],
                       capture_output=True, text=True)
    line = [ln for ln in r.stdout.splitlines() if "Overall exposure level" in ln]
    assert line, r.stdout + r.stderr
    score = float(line[0].split(":")[1].split()[0])
    print(f"\n{unit}: exposure {score}")
    assert score <= limit


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "pending"])
def test_agent_pings_the_watchdog_while_its_threads_turn(tmp_path, cc, agent, approved):
    """Under WatchdogSec= the agent sends READY=1, then WATCHDOG=1 twice per
    period while its heartbeat and poll threads keep their deadlines (a
    pending agent's poll thread waits for a token: that is not a wedge)."""
    ns = Notify(str(tmp_path / "agent-notify.sock"))
    got = ns.got
    try:
        c = cc()
        env = {"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "600000"}
        a = agent(c, env=env) if approved else agent(c, secret=None, env=env)
        wait_until(lambda: got("READY=1"), 10, "READY=1 from the agent")
        wait_until(lambda: got("WATCHDOG=1", 3), 5, "three WATCHDOG=1 pings")
        if approved:
            a.wait_heartbeat()
        assert "event=watchdog every_ms=300" in a.logs
        assert "watchdog_withheld" not in a.logs
        a.stop()
        wait_until(lambda: got("STOPPING=1"), 10, "STOPPING=1 from the agent")
    finally:
        ns.close()
