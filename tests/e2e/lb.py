"""HAProxy in front of command-center replicas, standing in for cloudflared's
connectors (issue 17): Debian's haproxy in the foreground, on 127.0.0.1, with
a health check of each replica's /healthz and a stats page that says which
replicas it sends traffic to."""
import csv
import io
import os
import shutil
import socket
import subprocess
import time
import urllib.request

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoadBalancer:
    def __init__(self, workdir, replicas):
        self.workdir = workdir
        self.replicas = replicas
        self.port = _free_port()
        self.stats_port = _free_port()
        self.proc = None
        self.cfg = os.path.join(workdir, "haproxy.cfg")
        self.log = os.path.join(workdir, "haproxy.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _config(self):
        servers = "\n".join(
            f"    server {c.name} 127.0.0.1:{c.port} check inter 200ms fall 2 rise 2"
            for c in self.replicas)
        # Long polls last 30 s: the server timeout is above that. A request
        # whose replica refuses the connection is sent to another one.
        return f"""global
    maxconn 4000

defaults
    mode http
    timeout connect 1s
    timeout client 90s
    timeout server 90s
    retries 3
    option redispatch 1

frontend fleet
    bind 127.0.0.1:{self.port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
{servers}

listen stats
    bind 127.0.0.1:{self.stats_port}
    stats enable
    stats uri /stats
"""

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.cfg, "w") as f:
            f.write(self._config())
        self.logf = open(self.log, "w")
        # -db: foreground, no daemon; -W not needed for one process.
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {open(self.log).read()}")
            try:
                if all(v == "UP" for v in self.states().values()):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"haproxy: replicas not UP: {self.states()}")

    def states(self):
        """{replica name: "UP" | "DOWN" | ...} as HAProxy's checks see them."""
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5) as r:
            text = r.read().decode()
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {row["svname"]: row["status"].split()[0] for row in rows
                if row["pxname"] == "replicas"
                and row["svname"] not in ("FRONTEND", "BACKEND")}

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "logf", None):
            self.logf.close()
