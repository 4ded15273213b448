"""A throwaway PostgreSQL 15 cluster for the tests, from Debian's packages.

initdb into a temporary folder and pg_ctl start, as an unprivileged user
(PostgreSQL refuses to run as root, and CI runs as root: then the cluster
runs as the ``postgres`` account Debian's package made, or ``nobody``).
It listens on 127.0.0.1 at a free port and on a socket in its folder,
trusts local connections (a test machine only), and is stopped and removed
by ``stop()``. No preinstalled or running service is used.

    python3 tests/e2e/pg.py start DIR   # prints the URI, leaves it running
    python3 tests/e2e/pg.py stop DIR
"""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

PG_BIN = os.environ.get("VM_PG_BIN", "/usr/lib/postgresql/15/bin")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner():
    """The argv prefix that runs a PostgreSQL program unprivileged, and its uid."""
    if os.geteuid() != 0:
        return [], os.geteuid(), os.getegid()
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], pw.pw_uid, pw.pw_gid
    raise RuntimeError("no unprivileged account to run PostgreSQL as")


class Cluster:
    def __init__(self, base=None):
        # Not under pytest's tmp_path: its 0700 folders keep the postgres
        # account out. mkdtemp's folder is given to that account.
        self.base = base or tempfile.mkdtemp(prefix="vm-pg.")
        self.data = os.path.join(self.base, "data")
        self.log = os.path.join(self.base, "postgres.log")
        self.port = None
        self.prefix, self.uid, self.gid = _runner()

    def _run(self, *argv, timeout=120):
        return subprocess.run(self.prefix + list(argv), check=True,
                              capture_output=True, text=True, timeout=timeout)

    def start(self, port=None, extra=()):
        """initdb (once) and start; returns the base URI (no database)."""
        os.makedirs(self.base, exist_ok=True)
        os.chown(self.base, self.uid, self.gid)
        os.chmod(self.base, 0o700)
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._run(os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "vm",
                      "--auth=trust", "-E", "UTF8", "--no-sync")
        self.port = port or self.port or _free_port()
        opts = [f"-k {self.base}", f"-p {self.port}", "-h 127.0.0.1",
                "-c max_connections=300", "-c fsync=on"] + list(extra)
        self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                  "-o", " ".join(opts), "-w", "-t", "60", "start")
        return self.uri()

    def start_standby_of(self, primary, port=None):
        """A streaming standby of primary (pg_basebackup -R), started; its URI."""
        os.makedirs(self.base, exist_ok=True)
        os.chown(self.base, self.uid, self.gid)
        os.chmod(self.base, 0o700)
        self._run(os.path.join(PG_BIN, "pg_basebackup"), "-D", self.data,
                  "-h", "127.0.0.1", "-p", str(primary.port), "-U", "vm",
                  "-R", "-X", "stream", "-c", "fast", "--no-sync")
        return self.start(port=port)

    def promote(self):
        """Makes a standby the primary (waits until it accepts writes)."""
        self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w",
                  "-t", "60", "promote")

    def uri(self):
        return f"postgresql://vm@127.0.0.1:{self.port}"

    def stop(self, mode="fast"):
        """Stops the server (mode: smart, fast or immediate); keeps the data."""
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode,
                      "-w", "-t", "60", "stop")

    def destroy(self):
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def psql(self, sql, db="postgres"):
        r = subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1",
                            f"{self.uri()}/{db}", "-c", sql],
                           check=True, capture_output=True, text=True, timeout=60)
        return r.stdout


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    c = Cluster(sys.argv[2])
    if sys.argv[1] == "start":
        print(c.start())
    else:
        c.destroy()
