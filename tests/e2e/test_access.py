"""Cloudflare Access verified at the origin (issue 6, first part).

With VAULTMESH_ACCESS_TEAM_DOMAIN and VAULTMESH_ACCESS_AUD set, every operator
route needs a valid Access JWT (the Cf-Access-Jwt-Assertion header or the
CF_Authorization cookie) and the operator is the token's email (or a service
token's common_name); the Cf-Access-Authenticated-User-Email header proves
nothing and is ignored. Agent routes, /healthz and /static/vm.css need no
token.

The tests make their own RSA keys, build JWTs by hand (base64url JSON header
and payload, RSASSA-PKCS1-v1_5 with SHA-256) and serve the certs document the
way https://<team>.cloudflareaccess.com/cdn-cgi/access/certs does, from a
small HTTP server on 127.0.0.1 (team domain http://127.0.0.1:PORT; plain http
is accepted only for loopback).

Start-up: a command center whose keys cannot be had (certs endpoint down,
answering an error, or a document without a usable RS256 key) refuses to
start (exit 2, one line naming the variable) rather than start with operator
routes that would refuse every request or, worse, be tempting to open up:
that is the safe choice, and systemd's restart policy retries it.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import (CC_BIN, _clean_env, apply_overrides, assert_error,
                      free_port, wait_until)

AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
KID1 = "1a1c3986a44ce6390be42ec772b031df8f433fdc71716db821dc0c39af3bce49"
KID2 = "6c3bffef71bb0a90c9cbef3b7c0d4a1c7b4b8b76b80292a623afd9dac45d1c65"
EMAIL = "alice@example.org"
LIAR = {"Cf-Access-Authenticated-User-Email": "mallory@evil.example"}
CERTS_PATH = "/cdn-cgi/access/certs"

_KEYS = {}


def key(name):
    """An RSA-2048 private key, made once per test session and name."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537,
                                               key_size=2048)
    return _KEYS[name]


# ---------------------------------------------------------------- tokens

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_uint(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def jwk(k, kid):
    pub = k.public_key().public_numbers()
    return {"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig",
            "e": b64u_uint(pub.e), "n": b64u_uint(pub.n)}


def pem(k):
    return k.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)


def der(k):
    return k.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)


def certs_doc(*pairs):
    """A certs document like Access serves: keys (JWK), public_cert and
    public_certs (PEM; the CC uses the JWKs)."""
    certs = [{"kid": kid, "cert": pem(k).decode()} for k, kid in pairs]
    return {"keys": [jwk(k, kid) for k, kid in pairs],
            "public_cert": certs[0], "public_certs": certs}


def claims(team, **over):
    """An application token's payload; a value of None drops the claim."""
    now = int(time.time())
    return apply_overrides(
        {"iss": team, "aud": [AUD], "email": EMAIL, "exp": now + 600,
         "iat": now - 5, "nbf": now - 5, "type": "app",
         "sub": "7335d417-61da-459d-899c-0a01c76a2d94", "country": "US"},
        over)


def make_jwt(payload, k=None, kid=KID1, alg="RS256", sign="RS256",
             header=None):
    """header.payload.signature; sign is RS256, HS256-PEM, HS256-DER,
    none (empty signature part) or omit (no third part)."""
    h = {"alg": alg, "kid": kid, "typ": "JWT"}
    h.update(header or {})
    signing_input = (b64u(json.dumps(h).encode()) + "." +
                     b64u(json.dumps(payload).encode()))
    data = signing_input.encode()
    if sign == "RS256":
        sig = k.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif sign == "HS256-PEM":
        sig = hmac.new(pem(k), data, hashlib.sha256).digest()
    elif sign == "HS256-DER":
        sig = hmac.new(der(k), data, hashlib.sha256).digest()
    elif sign == "none":
        return signing_input + "."
    elif sign == "omit":
        return signing_input
    else:
        raise ValueError(sign)
    return signing_input + "." + b64u(sig)


def H(token, **extra):
    h = {"Cf-Access-Jwt-Assertion": token}
    h.update(extra)
    return h


# ---------------------------------------------------------------- certs server

class _CertsHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.hits += 1
            status, doc = srv.status, srv.doc
        if self.path != CERTS_PATH:
            status = 404
        body = json.dumps(doc).encode() if status == 200 else b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class CertsServer:
    """Serves a settable certs document at /cdn-cgi/access/certs."""

    def __init__(self, doc):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _CertsHandler)
        self.httpd.daemon_threads = True
        self.httpd.lock = threading.Lock()
        self.httpd.doc = doc
        self.httpd.status = 200
        self.httpd.hits = 0
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    @property
    def team(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def hits(self):
        with self.httpd.lock:
            return self.httpd.hits

    def serve(self, doc, status=200):
        with self.httpd.lock:
            self.httpd.doc = doc
            self.httpd.status = status

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def certs_server():
    made = []

    def make(doc=None):
        s = CertsServer(doc if doc is not None else certs_doc((key("k1"), KID1)))
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


SERVICE = "88bf3b6d86161464f6509f7219099e57.access"
# The roles these tests' operators have unless a test says otherwise.
ROLES = {"admin": [EMAIL, SERVICE]}


@pytest.fixture
def access_cc(cc, certs_server, tmp_path):
    """A command center behind Access with k1 (KID1) served: (cc, server).
    roles: the roles file's document (default ROLES), or None for none."""
    made = [0]

    def make(roles=ROLES, **kw):
        srv = certs_server()
        env = {"VAULTMESH_ACCESS_TEAM_DOMAIN": srv.team,
               "VAULTMESH_ACCESS_AUD": AUD}
        if roles is not None:
            made[0] += 1
            path = tmp_path / f"roles{made[0]}.json"
            path.write_text(json.dumps(roles))
            env["VAULTMESH_ROLES_PATH"] = str(path)
        env.update(kw.pop("env", {}))
        c = cc(env=env, **kw)
        return c, srv
    return make


def good(srv, **over):
    return make_jwt(claims(srv.team, **over), key("k1"))


def audit_entries(c, token):
    r = c.get("/audit", headers=H(token))
    assert r.status == 200 and "json" in r.headers["content-type"], r
    return r.json()["entries"]


def commands_of(c, token, node_id):
    r = c.get(f"/nodes/{node_id}/commands", headers=H(token))
    assert r.status == 200, r
    return r.json()["commands"]


def denied(resp, why=None):
    doc = assert_error(resp, 403, "access_denied")
    if why is not None:
        assert why in doc["message"], doc
    return doc


# ---------------------------------------------------------------- good tokens

def test_valid_token_is_the_operator_and_the_email_header_is_ignored(
        access_cc, enroll_node):
    c, srv = access_cc()
    n = enroll_node(c)            # agent route: no Access token needed
    t = good(srv)
    for path in ("/", "/nodes", f"/nodes/{n.node_id}",
                 f"/nodes/{n.node_id}/commands", "/audit"):
        r = c.get(path, headers=H(t))
        assert r.status == 200, (path, r)
    # A lying e-mail header next to a valid token changes nothing.
    r = c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                    headers=H(t, **LIAR))
    assert r.status == 201, r
    e = audit_entries(c, t)
    assert e[0]["action"] == "queue" and e[0]["result"] == "ok", e[0]
    assert e[0]["who"] == EMAIL, e[0]
    assert commands_of(c, t, n.node_id)[0]["queued_by"] == EMAIL
    assert "mallory" not in c.get("/audit", headers=H(t)).text


def test_cookie_and_service_token_identities(access_cc, enroll_node):
    c, srv = access_cc()
    n = enroll_node(c)
    # Browsers: the CF_Authorization cookie, among other cookies.
    cookie = {"Cookie": f"theme=dark; CF_Authorization={good(srv)}; x=1"}
    assert c.get("/nodes", headers=cookie).status == 200
    # A service token carries common_name instead of email.
    svc = make_jwt(claims(srv.team, email=None, sub="", common_name=SERVICE),
                   key("k1"))
    r = c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                    headers=H(svc, **LIAR))
    assert r.status == 201, r
    who = audit_entries(c, svc)[0]["who"]
    assert who == SERVICE, who
    # Form posts (approve) are attributed the same way.
    p = enroll_node(c, secret=None)
    r = c.post_form(f"/nodes/{p.node_id}/approve", headers=H(good(srv), **LIAR))
    assert r.status == 303, r
    e = audit_entries(c, svc)[0]
    assert (e["action"], e["who"], e["target"]) == ("approve", EMAIL, p.node_id)


# ---------------------------------------------------------------- refusals

def test_no_token_is_403_on_every_operator_route_and_nothing_happens(
        access_cc, enroll_node):
    c, srv = access_cc()
    n = enroll_node(c)
    p = enroll_node(c, secret=None)
    gets = ["/", "/nodes", f"/nodes/{n.node_id}", f"/nodes/{n.node_id}/commands",
            "/audit"]
    for hdrs in ({}, LIAR, {"Cf-Access-Jwt-Assertion": ""},
                 {"Cookie": "CF_Authorization="}):
        for path in gets:
            denied(c.get(path, headers=hdrs))
        denied(c.post_json(f"/nodes/{n.node_id}/commands",
                           {"command": "agent-info"}, headers=hdrs))
        denied(c.post_form(f"/nodes/{p.node_id}/approve", headers=hdrs))
        denied(c.post_form(f"/nodes/{n.node_id}/revoke", headers=hdrs))
    t = good(srv)
    nodes = {x["node_id"]: x for x in c.get("/nodes", headers=H(t)).json()}
    assert nodes[n.node_id]["status"] == "approved"
    assert nodes[p.node_id]["status"] == "pending"
    assert commands_of(c, t, n.node_id) == []
    assert audit_entries(c, t) == []
    assert c.events("access_denied"), "refusals are logged"


def _bad_tokens(team):
    k1, other = key("k1"), key("other")
    now = int(time.time())
    t = make_jwt(claims(team), k1)
    h, p, s = t.split(".")
    mallory = make_jwt(claims(team, email="mallory@evil.example"), other)
    return {
        "expired": (make_jwt(claims(team, exp=now - 3600, iat=now - 7200,
                                 nbf=now - 7200), k1), "expired"),
        "not_yet_valid": (make_jwt(claims(team, nbf=now + 3600), k1),
                          "not yet valid"),
        "wrong_aud": (make_jwt(claims(team, aud=["another-application"]), k1),
                      "audience"),
        "wrong_aud_string": (make_jwt(claims(team, aud="x" + AUD), k1),
                             "audience"),
        "wrong_iss": (make_jwt(claims(team, iss="https://evil.cloudflareaccess.com"),
                               k1), "issuer"),
        "alg_none": (make_jwt(claims(team), alg="none", sign="none"), None),
        "alg_none_with_rsa_signature": (make_jwt(claims(team), k1, alg="none"),
                                        "algorithm"),
        "alg_none_no_signature": (make_jwt(claims(team), alg="none",
                                           sign="omit"), "malformed"),
        "hs256_public_key_pem": (make_jwt(claims(team), k1, alg="HS256",
                                          sign="HS256-PEM"), "algorithm"),
        "hs256_public_key_der": (make_jwt(claims(team), k1, alg="HS256",
                                          sign="HS256-DER"), "algorithm"),
        "rs384_header": (make_jwt(claims(team), k1, alg="RS384"), "algorithm"),
        "other_key_same_kid": (make_jwt(claims(team), other), "bad signature"),
        "tampered_payload": (".".join([h, mallory.split(".")[1], s]),
                             "bad signature"),
        "truncated_signature": (t[:-12], "bad signature"),
        "truncated_half": (t[:len(t) // 2], None),
        "truncated_at_dot": (h + "." + p, "malformed"),
        "extra_part": (t + ".AAAA", "malformed"),
        "garbage": ("garbage.garbage.garbage", None),
        "not_a_jwt": ("hello", "malformed"),
        "bearer_prefix": ("Bearer " + t, None),
        "too_long": (make_jwt(claims(team, pad="x" * 9000), k1), "too long"),
        "no_email": (make_jwt(claims(team, email=None), k1), "email"),
    }


BAD_CASES = sorted(_bad_tokens("https://x.example"))


@pytest.mark.parametrize("case", BAD_CASES)
def test_refused_token_is_403_and_queues_nothing(access_cc, enroll_node, case):
    c, srv = access_cc()
    n = enroll_node(c)
    token, why = _bad_tokens(srv.team)[case]
    denied(c.get("/nodes", headers=H(token)), why)
    denied(c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                       headers=H(token, **LIAR)), why)
    assert commands_of(c, good(srv), n.node_id) == []
    # The answer never echoes the token.
    r = c.get("/nodes", headers=H(token))
    if len(token) > 20:
        assert token[-20:] not in r.text


# ---------------------------------------------------------------- key rotation

def test_unknown_kid_then_rotated_in_and_old_key_keeps_working(access_cc):
    c, srv = access_cc()
    assert srv.hits == 1, "the keys are fetched once at start"
    t1 = good(srv)
    t2 = make_jwt(claims(srv.team), key("k2"), kid=KID2)
    assert c.get("/nodes", headers=H(t1)).status == 200
    assert srv.hits == 1, "a known kid does not fetch"
    # KID2 is not published yet: refused, after one fetch.
    denied(c.get("/nodes", headers=H(t2)), "unknown key id")
    assert srv.hits == 2
    # Access rotates: the new key is published, the old one kept.
    srv.serve(certs_doc((key("k2"), KID2), (key("k1"), KID1)))
    # Unknown kids fetch at most once per 10 s, so within that window the
    # CC keeps refusing without asking; then it fetches and accepts.
    t0 = time.monotonic()
    denied(c.get("/nodes", headers=H(t2)), "unknown key id")
    wait_until(lambda: c.get("/nodes", headers=H(t2)).status == 200, 20,
               "the rotated key to be fetched", interval=0.5)
    assert time.monotonic() - t0 > 5, "the refresh was not rate limited"
    assert srv.hits == 3, f"{srv.hits} fetches: the refresh is not rate limited"
    # The old key still works, with no more fetches.
    assert c.get("/nodes", headers=H(t1)).status == 200
    assert c.get("/nodes", headers=H(t2)).status == 200
    assert srv.hits == 3


def test_random_kids_do_not_hammer_the_certs_endpoint(access_cc):
    c, srv = access_cc()
    for i in range(30):
        t = make_jwt(claims(srv.team), key("other"), kid=f"random-{i}")
        denied(c.get("/nodes", headers=H(t)), "unknown key id")
    assert srv.hits <= 2, f"{srv.hits} fetches for 30 random kids"


def test_offline_certs_file_is_reread_on_unknown_kid(cc, tmp_path):
    team = "https://vaultmesh-e2e.cloudflareaccess.com"   # never contacted
    certs = tmp_path / "certs.json"
    certs.write_text(json.dumps(certs_doc((key("k1"), KID1))))
    c = cc(env={"VAULTMESH_ACCESS_TEAM_DOMAIN": team,
                "VAULTMESH_ACCESS_AUD": AUD,
                "VAULTMESH_ACCESS_CERTS": str(certs)})
    t1 = make_jwt(claims(team), key("k1"))
    t2 = make_jwt(claims(team), key("k2"), kid=KID2)
    assert c.get("/nodes", headers=H(t1)).status == 200
    certs.write_text(json.dumps(certs_doc((key("k2"), KID2), (key("k1"), KID1))))
    assert c.get("/nodes", headers=H(t2)).status == 200
    assert c.get("/nodes", headers=H(t1)).status == 200
    denied(c.get("/nodes", headers=H(make_jwt(claims(team), key("k1"),
                                              kid="kid-x"))))


# ---------------------------------------------------------------- what stays open

def test_agent_routes_healthz_and_css_need_no_access_token(access_cc, enroll_node):
    c, srv = access_cc()
    n = enroll_node(c)                       # 200 with the enroll secret
    assert n.token
    assert n.heartbeat().status == 200
    assert c.get("/healthz").status == 200
    assert c.get("/static/vm.css").status == 200
    # The node's token is no operator credential.
    denied(c.get("/nodes", headers={"Authorization": f"Bearer {n.token}"}))
    # And an Access token is no node credential.
    r = c.post_json("/api/agent/heartbeat", n.body(),
                    headers={"Authorization": f"Bearer {good(srv)}"})
    assert r.status in (401, 403), r


# ---------------------------------------------------------------- start-up

def run_cc(tmp_path, **env):
    e = _clean_env()
    e.update({"VAULTMESH_LISTEN": "127.0.0.1:0",
              "VAULTMESH_DB": str(tmp_path / "cc.db"),
              "VAULTMESH_CC_KEY_PATH": str(tmp_path / "cc.key")})
    e.update(env)
    try:
        r = subprocess.run([CC_BIN], env=e, cwd=tmp_path, timeout=15,
                           stdin=subprocess.DEVNULL, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("the command center started (expected exit 2)")
    lines = [ln for ln in r.stderr.decode(errors="replace").splitlines()
             if ln.strip()]
    return r.returncode, lines


def refuses(tmp_path, var, *words, **env):
    rc, lines = run_cc(tmp_path, **env)
    assert rc == 2, f"exit {rc}, stderr {lines}"
    assert len(lines) == 1, f"expected one line, got {lines}"
    assert var in lines[0], f"line does not name {var}: {lines[0]!r}"
    # access_open's error already starts with the variable at fault.
    assert lines[0].startswith(f"vaultmesh-command-center: {var}:"), \
        f"line does not start with {var}: {lines[0]!r}"
    assert lines[0].count("VAULTMESH_ACCESS_") == 1 or "together" in lines[0], \
        f"line names more than one variable: {lines[0]!r}"
    for w in words:
        assert w in lines[0], f"line does not say {w!r}: {lines[0]!r}"
    return lines[0]


def test_only_one_of_the_two_variables_refuses_to_start(tmp_path):
    refuses(tmp_path, "VAULTMESH_ACCESS_AUD",
            VAULTMESH_ACCESS_TEAM_DOMAIN="https://t.cloudflareaccess.com")
    refuses(tmp_path, "VAULTMESH_ACCESS_TEAM_DOMAIN", VAULTMESH_ACCESS_AUD=AUD)


def test_unusable_team_domain_or_keys_refuse_to_start(tmp_path, certs_server):
    down = f"http://127.0.0.1:{free_port()}"
    refuses(tmp_path, "VAULTMESH_ACCESS_TEAM_DOMAIN", CERTS_PATH,
            VAULTMESH_ACCESS_TEAM_DOMAIN=down, VAULTMESH_ACCESS_AUD=AUD)
    srv = certs_server()
    srv.serve({}, status=500)
    refuses(tmp_path, "VAULTMESH_ACCESS_TEAM_DOMAIN", "500",
            VAULTMESH_ACCESS_TEAM_DOMAIN=srv.team, VAULTMESH_ACCESS_AUD=AUD)
    srv.serve({"keys": [dict(jwk(key("k1"), KID1), alg="RS512")]})
    refuses(tmp_path, "VAULTMESH_ACCESS_TEAM_DOMAIN", "RS256",
            VAULTMESH_ACCESS_TEAM_DOMAIN=srv.team, VAULTMESH_ACCESS_AUD=AUD)
    # Plain http only to loopback; the team domain is the exact "iss".
    refuses(tmp_path, "VAULTMESH_ACCESS_TEAM_DOMAIN",
            VAULTMESH_ACCESS_TEAM_DOMAIN="http://t.cloudflareaccess.com",
            VAULTMESH_ACCESS_AUD=AUD)
    refuses(tmp_path, "VAULTMESH_ACCESS_TEAM_DOMAIN",
            VAULTMESH_ACCESS_TEAM_DOMAIN=srv.team + "/",
            VAULTMESH_ACCESS_AUD=AUD)
    missing = str(tmp_path / "missing-certs.json")
    refuses(tmp_path, "VAULTMESH_ACCESS_CERTS", "missing-certs.json",
            VAULTMESH_ACCESS_TEAM_DOMAIN="https://t.cloudflareaccess.com",
            VAULTMESH_ACCESS_AUD=AUD, VAULTMESH_ACCESS_CERTS=missing)
