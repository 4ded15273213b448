"""Rotating the command-signing key (issue 19, part 1), with the real
command center and real agents.

POST /keys/rotate makes a new key and the link "key N+1 follows key N",
signed by both; agents receive the chain with their answers, walk it from
the key they pinned and confirm the new one in their heartbeats
(GET /nodes: pinned_key_id). The CC signs with the newest key only (what
was queued before is signed again as it goes out), keeps the replaced key
until every approved node has moved or VAULTMESH_KEY_OVERLAP_HOURS ends,
then destroys it; a retired root leaves only the sealing key in the key
file. Everything is in the store and survives restarts. An emergency
rotation links nothing: nodes are re-pinned by hand.
"""
import base64
import hashlib
import os
import subprocess

from conftest import AGENT_BIN, assert_error, stays_true, wait_until
from test_access import H, access_cc, certs_server, good  # noqa: F401
from test_roles import role_required


def keys(c):
    r = c.get("/keys")
    assert r.status == 200 and "json" in r.headers["content-type"], r
    return r.json()


def key_by_id(c, kid):
    (k,) = [k for k in keys(c)["keys"] if k["key_id"] == kid]
    return k


def rotate(c, body=None):
    r = c.post_json("/keys/rotate", body if body is not None else {})
    assert r.status == 202, r
    return r.json()


def pinned_file(a):
    with open(a.state_path("cc_ed25519.pub")) as f:
        k, v = f.read().split()
    return k, int(v)


def key_id_of(b64):
    return hashlib.blake2b(base64.b64decode(b64), digest_size=16).hexdigest()


def on_key(c, nid, kid):
    return (c.node(nid) or {}).get("pinned_key_id") == kid


def run(c, nid, timeout=20):
    """Queues agent-info for nid and waits for its end: the command."""
    r = c.post_json(f"/nodes/{nid}/commands", {"command": "agent-info"})
    assert r.status == 201, r
    cid = r.json()["command_id"]

    def done():
        for cmd in c.get(f"/nodes/{nid}/commands").json()["commands"]:
            if cmd["command_id"] == cid and cmd["status"] not in (
                    "queued", "delivered"):
                return cmd
        return None
    return wait_until(done, timeout, f"command {cid} to end")


def up(cc, agent, n=1, env=None):
    c = cc(env=env)
    ags = [agent(c) for _ in range(n)]
    k1 = keys(c)["current"]
    for a in ags:
        a.wait_heartbeat()
        wait_until(lambda: on_key(c, a.node_id(), k1), 15,
                   "the node to confirm the first key")
    return c, ags, k1


def test_keys_lists_the_first_key_and_nodes_show_the_key_they_pinned(
        cc, agent):
    c, (a,), k1 = up(cc, agent)
    doc = keys(c)
    assert doc["current"] == k1
    (k,) = doc["keys"]
    assert k["key_id"] == k1 and k["state"] == "current"
    assert k["version"] == 1 and k["emergency"] is False
    assert isinstance(k["created_at"], int)
    # The agent pinned it at enrollment, at version 1; the id is its hash.
    assert pinned_file(a) == (k["public_key"], 1)
    assert key_id_of(k["public_key"]) == k1
    assert c.node(a.node_id())["pinned_key_id"] == k1


def test_a_planned_rotation_moves_online_agents_then_destroys_the_old_key(
        cc, agent):
    c, ags, k1 = up(cc, agent, n=2)
    with open(c.key_path) as f:
        assert not f.read().startswith("seal:")
    doc = rotate(c)
    k2 = doc["key_id"]
    assert k2 != k1 and doc["version"] == 2 and doc["emergency"] is False
    assert keys(c)["current"] == k2
    assert key_by_id(c, k1)["state"] in ("retiring", "retired")
    for a in ags:
        wait_until(lambda: on_key(c, a.node_id(), k2), 15,
                   "the node to confirm the new key")
        assert pinned_file(a) == (key_by_id(c, k2)["public_key"], 2)
        assert "event=key_pinned key_id=%s version=2 from_version=1" % k2 \
            in a.logs
    # Every node moved: the old key is destroyed, long before its overlap.
    wait_until(lambda: key_by_id(c, k1)["state"] == "retired", 10,
               "the old key to be retired")
    assert key_by_id(c, k1)["retired_at"] >= key_by_id(c, k2)["created_at"]
    assert "event=key_retired version=1 key_id=%s reason=every_node_moved" \
        % k1 in c.logs
    # The root is gone from the key file: only the sealing key is left.
    wait_until(lambda: open(c.key_path).read().startswith("seal:"), 5,
               "the key file to lose the root seed")
    # Commands run, signed with the new key.
    for a in ags:
        assert run(c, a.node_id())["status"] == "ok"
    # Audited, with who did it.
    r = c.get("/audit?action=key_rotate")
    (e,) = r.json()["entries"]
    assert e["target"] == k2 and e["result"] == "ok" and e["who"] == "local"
    # A restart reads the keys back and signs on with the new key.
    assert c.restart() == 0
    assert keys(c)["current"] == k2
    assert run(c, ags[0].node_id())["status"] == "ok"


def test_an_agent_offline_across_two_rotations_walks_both_links(cc, agent):
    c, (a, b), k1 = up(cc, agent, n=2)
    bid = b.node_id()
    assert b.stop() == 0
    k2 = rotate(c)["key_id"]
    # Queued while it was away, signed with key 2 ...
    r = c.post_json(f"/nodes/{bid}/commands", {"command": "agent-info"})
    assert r.status == 201, r
    waited = r.json()["command_id"]
    k3 = rotate(c)["key_id"]
    # ... which the node that stayed follows; the replaced keys wait for b.
    wait_until(lambda: on_key(c, a.node_id(), k3), 15, "a to reach key 3")
    assert stays_true(lambda: key_by_id(c, k1)["state"] == "retiring" and
                      key_by_id(c, k2)["state"] == "retiring", 2)
    # A restart of the CC mid-rotation keeps all of it.
    assert c.restart() == 0
    assert keys(c)["current"] == k3
    assert [key_by_id(c, k)["state"] for k in (k1, k2)] == \
        ["retiring", "retiring"]
    b.start()
    wait_until(lambda: on_key(c, bid, k3), 20, "b to reach key 3")
    assert pinned_file(b)[1] == 3
    assert "event=key_pinned key_id=%s version=3 from_version=1" % k3 \
        in b.logs
    # What waited for it went out signed again with key 3, and ran.
    def waited_done():
        for cmd in c.get(f"/nodes/{bid}/commands").json()["commands"]:
            if cmd["command_id"] == waited and cmd["status"] == "ok":
                return cmd
        return None
    wait_until(waited_done, 20, "the command that waited to run")
    assert f"event=command_signed_again command_id={waited}" in c.logs
    # Every node on key 3: both replaced keys are destroyed.
    wait_until(lambda: all(key_by_id(c, k)["state"] == "retired"
                           for k in (k1, k2)), 10, "keys 1 and 2 retired")


def test_an_agent_killed_mid_rotation_comes_back_on_the_key_it_reached(
        cc, agent):
    c, (a,), k1 = up(cc, agent)
    nid = a.node_id()
    assert a.stop() == 0
    k2 = rotate(c)["key_id"]
    a.start()
    wait_until(lambda: "event=key_pinned" in "\n".join(
        a.current_run_lines()), 15, "the agent to pin the new key")
    a.kill()
    assert pinned_file(a) == (key_by_id(c, k2)["public_key"], 2)
    a.start()
    wait_until(lambda: on_key(c, nid, k2), 15, "the node on key 2")
    assert run(c, nid)["status"] == "ok"
    # It had nothing left to walk.
    assert "event=key_pinned" not in "\n".join(a.current_run_lines())


def test_the_overlap_ends_the_old_key_even_with_a_node_still_on_it(
        cc, agent):
    c, (a,), k1 = up(cc, agent, env={"VAULTMESH_KEY_OVERLAP_HOURS": "0"})
    nid = a.node_id()
    assert a.stop() == 0
    k2 = rotate(c)["key_id"]
    wait_until(lambda: key_by_id(c, k1)["state"] == "retired", 10,
               "the old key retired at the overlap's end")
    assert "reason=overlap_ended" in c.logs
    assert c.node(nid)["pinned_key_id"] == k1
    wait_until(lambda: open(c.key_path).read().startswith("seal:"), 5,
               "the key file to lose the root seed")
    # The CC starts again from the sealed file; the node still follows
    # the link (links need no secret key), then runs what it is sent.
    assert c.restart() == 0
    a.start()
    wait_until(lambda: on_key(c, nid, k2), 20, "the node on key 2")
    assert run(c, nid)["status"] == "ok"


def test_an_emergency_rotation_needs_each_node_pinned_by_hand(cc, agent):
    c, (a,), k1 = up(cc, agent)
    nid = a.node_id()
    doc = rotate(c, {"emergency": True})
    k2 = doc["key_id"]
    assert doc["emergency"] is True
    k = key_by_id(c, k2)
    assert k["emergency"] is True and k["state"] == "current"
    # The compromised key is destroyed at once; no link leads on.
    assert key_by_id(c, k1)["state"] == "retired"
    assert stays_true(lambda: on_key(c, nid, k1), 3)
    cmd = run(c, nid)
    assert cmd["status"] == "rejected" and "bad_signature" in cmd["output"]
    # One command on the node: the new key pinned, the agent told.
    p = subprocess.run([AGENT_BIN, "--pin", k["public_key"]],
                       env={"PATH": os.environ["PATH"],
                            "VAULTMESH_ROOT": a.root},
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and "told the running agent" in p.stdout, p
    wait_until(lambda: on_key(c, nid, k2), 15, "the node on the new key")
    assert run(c, nid)["status"] == "ok"
    r = c.get("/audit?action=key_rotate_emergency")
    assert [e["target"] for e in r.json()["entries"]] == [k2]


def test_bad_rotation_requests_are_refused_and_change_nothing(cc):
    c = cc()
    k1 = keys(c)["current"]
    for body in ('{"emergency": "yes"}', "[]", "{", '{"emergency": 1}'):
        r = c.post_json("/keys/rotate", body)
        assert r.status == 400, (body, r)
    # The form's emergency needs its box ticked.
    assert_error(c.post_form("/keys/rotate", {"emergency": "1"}), 400,
                 "invalid_field")
    assert_error(c.post_form("/keys/rotate", {"emergency": "2",
                                              "confirm": "yes"}),
                 400, "invalid_field")
    assert keys(c)["current"] == k1 and len(keys(c)["keys"]) == 1
    # The planned one from the page: back to the page.
    r = c.post_form("/keys/rotate", {})
    assert r.status == 303 and r.headers["location"] == "/keys", r
    assert keys(c)["current"] != k1
    # GET /keys as a page for a browser.
    r = c.get("/keys", headers={"Accept": "text/html"})
    assert r.status == 200 and "text/html" in r.headers["content-type"]
    assert 'id="rotate"' in r.text and 'id="rotate-emergency"' in r.text


ROLES = {"admin": ["boss@example.com"], "approver": ["@example.org"],
         "operator": ["dave@elsewhere.net"]}


def test_only_an_admin_rotates_and_viewers_see_no_rotate_form(access_cc):
    c, srv = access_cc(roles=ROLES)
    for who in ({"email": "nobody@elsewhere.net"},
                {"email": "dave@elsewhere.net"},
                {"email": "carol@example.org"}):
        h = H(good(srv, **who))
        role_required(c.post_json("/keys/rotate", {}, headers=h), "admin")
        r = c.get("/keys", headers={**h, "Accept": "text/html"})
        assert r.status == 200 and 'id="rotate"' not in r.text
        assert c.get("/keys", headers=h).status == 200
    h = H(good(srv, email="boss@example.com"))
    r = c.post_json("/keys/rotate", {}, headers=h)
    assert r.status == 202, r
    r = c.get("/audit?action=key_rotate", headers=h)
    assert r.json()["entries"][0]["who"] == "boss@example.com"


def test_seal_key_takes_the_root_seed_out_of_a_key_file_by_hand(cc, agent):
    """Under systemd the daemon reads a copy of the key file it cannot
    rewrite: `--seal-key` does it on the file itself."""
    c, (a,), k1 = up(cc, agent)
    assert c.stop() == 0
    env = {"PATH": os.environ["PATH"]}
    cc_bin = c.binary
    p = subprocess.run([cc_bin, "--seal-key", c.key_path + ".missing"],
                       env=env, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "No such file" in p.stderr, p
    assert not os.path.exists(c.key_path + ".missing")
    with open(c.key_path) as f:
        seed = f.read()
    for _ in range(2):   # the second time: sealed already, left as it is
        p = subprocess.run([cc_bin, "--seal-key", c.key_path], env=env,
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, p
        with open(c.key_path) as f:
            text = f.read()
        assert text.startswith("seal:") and seed.strip() not in text
        assert oct(os.stat(c.key_path).st_mode & 0o777) == "0o600"
    # The store keeps the root sealed: the CC signs on with it.
    c.start(port=c.port)
    assert keys(c)["current"] == k1
    assert run(c, a.node_id())["status"] == "ok"
