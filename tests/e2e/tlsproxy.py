"""A TLS front for the command center in tests: what Cloudflare's edge is to
agents in production. A test CA and a certificate for localhost/127.0.0.1
are made with the openssl command; each accepted connection is decrypted
and relayed to the CC's plain port by one thread (one thread per
connection, so the TLS object is never used by two threads at once).
Listener, the loopback listener it is built on, serves other test proxies
too (test_review_fixes.py's CuttingProxy)."""
import os
import select
import socket
import ssl
import subprocess
import threading


def make_ca(workdir):
    """Creates ca.pem (a CA), leaf.pem/leaf.key (signed by it, for
    localhost and 127.0.0.1) and cadir/ (ca.pem hashed by `openssl rehash`)
    in workdir; returns the paths as a dict."""
    os.makedirs(workdir, exist_ok=True)
    p = {k: os.path.join(workdir, v) for k, v in {
        "ca_key": "ca.key", "ca": "ca.pem", "key": "leaf.key",
        "csr": "leaf.csr", "cert": "leaf.pem", "ext": "leaf.ext",
        "cadir": "cadir"}.items()}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", *ec, "-keyout", p["ca_key"], "-out", p["ca"],
        "-days", "2", "-subj", "/CN=VaultMesh e2e test CA")
    run("openssl", "req", *ec, "-keyout", p["key"], "-out", p["csr"],
        "-subj", "/CN=localhost")
    with open(p["ext"], "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", p["csr"], "-CA", p["ca"], "-CAkey",
        p["ca_key"], "-CAcreateserial", "-out", p["cert"], "-days", "2",
        "-extfile", p["ext"])
    os.makedirs(p["cadir"], exist_ok=True)
    with open(p["ca"], "rb") as src, open(os.path.join(p["cadir"], "ca.pem"), "wb") as dst:
        dst.write(src.read())
    run("openssl", "rehash", p["cadir"])
    return p


class Listener:
    """Listens on 127.0.0.1 (a free port, self.port) and hands each
    connection it accepts to self._serve(conn), which a subclass defines, on
    a thread of its own. A subclass sets its own attributes before calling
    this __init__ (the accepting thread starts in it)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        raise NotImplementedError

    def close(self):
        """Stops accepting. The connections being served are left to their
        threads, which see self.closed (no socket is closed under a
        thread)."""
        self.closed = True
        self.sock.close()


class TlsProxy(Listener):
    """Each relay sees close()'s flag within its 1 s select and closes its
    own sockets."""

    def __init__(self, certs, backend_port):
        self.backend_port = backend_port
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(certs["cert"], certs["key"])
        self.handshakes = 0          # completed
        self.failed_handshakes = 0   # the client refused us (or we it)
        super().__init__()

    @property
    def url(self):
        return f"https://localhost:{self.port}"

    def _serve(self, conn):
        back = None
        try:
            conn.settimeout(10)
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.failed_handshakes += 1
            conn.close()
            return
        with self.lock:
            self.handshakes += 1
        try:
            tls.settimeout(None)
            back = socket.create_connection(("127.0.0.1", self.backend_port))
            while not self.closed:
                if tls.pending() == 0:
                    r, _, _ = select.select([tls, back], [], [], 1.0)
                else:
                    r = [tls]
                if tls in r:
                    data = tls.recv(65536)
                    if not data:
                        break
                    back.sendall(data)
                if back in r:
                    data = back.recv(65536)
                    if not data:
                        break
                    tls.sendall(data)
        except (ssl.SSLError, OSError, ValueError):
            pass
        finally:
            for s in (tls, back):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass


if __name__ == "__main__":
    # python3 tlsproxy.py WORKDIR BACKEND_PORT (for `make bench`): makes the
    # test CA in WORKDIR, prints the port it listens on, relays until killed.
    import sys
    front = TlsProxy(make_ca(sys.argv[1]), int(sys.argv[2]))
    print(front.port, flush=True)
    threading.Event().wait()
