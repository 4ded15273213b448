"""The node agent's side of key rotation (issue 19), against a fake CC that
owns the keys: the real agent walks the key chain it is sent with its
heartbeat and poll answers, one link at a time from the key it pinned, and
pins the newest key (on disk first). A forged link, a link signed by one
key only, a replayed old chain and a rollback to an older version are each
refused, and a command signed with a key the agent has not reached is
rejected. `vaultmesh-node-agent --pin` is the emergency path."""
import base64
import hashlib
import json
import os
import subprocess
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.dont_write_bytecode = True     # no __pycache__ in the fixtures folder
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "agent_fixtures"))
from fakecc import AGENT_BIN, Agent, raw_public, wait_for, agents, cc  # noqa: E402,F401

LINK_DOMAIN = b"vaultmesh.keylink.v1\x00"


def b64(b):
    return base64.b64encode(b).decode()


def pub(key):
    return raw_public(key)


def key_id(key):
    return hashlib.blake2b(pub(key), digest_size=16).hexdigest()


def link(prev, nxt, version, sign_prev=None, sign_next=None):
    """The link "nxt follows prev" at version, as the command center makes
    it; sign_prev/sign_next: other keys to sign with (a forgery)."""
    payload = json.dumps({"version": version, "prev_key": b64(pub(prev)),
                          "next_key": b64(pub(nxt)), "issued_at": 1800000000},
                         separators=(",", ":")).encode()
    m = LINK_DOMAIN + payload
    return {"payload": b64(payload),
            "sig_prev": b64((sign_prev or prev).sign(m)),
            "sig_next": b64((sign_next or nxt).sign(m))}


def pinned(a):
    """The agent's pinned key file: (base64 key, version)."""
    with open(os.path.join(a.root, "cc_ed25519.pub")) as f:
        k, v = f.read().split()
    return k, int(v)


def result(cc, cid, timeout=10):
    return wait_for(lambda: (cc.results_for(cid) or [None])[0], timeout,
                    "result of " + cid)


def up(agents, tmp_path, cc):
    cc.key_version = 1
    a = Agent(tmp_path, cc.url).start()
    agents.append(a)
    wait_for(lambda: cc.polls_open >= 1, 10, "the agent's long poll")
    assert pinned(a) == (cc.pubkey_b64, 1)
    return a


def last_heartbeat_key(cc):
    with cc.cond:
        return cc.heartbeats[-1][1].get("pinned_key_id")


def test_an_agent_walks_the_chain_pins_the_newest_key_and_reports_it(
        tmp_path, cc, agents):
    a = up(agents, tmp_path, cc)
    node = a.node_id()
    k1 = cc.key
    wait_for(lambda: last_heartbeat_key(cc) == key_id(k1), 10,
             "a heartbeat naming the pinned key")
    k2, k3 = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    # A command signed with k3 before the agent has the links: refused.
    cid, cmd = cc.command(node, 1, key=k3)
    cc.push(cmd)
    r = result(cc, cid)
    assert r["status"] == "rejected" and "bad_signature" in r["output"], r
    # Offline across two rotations: both links at once, walked in order.
    with cc.cond:
        cc.key_chain = [link(k1, k2, 2), link(k2, k3, 3)]
    wait_for(lambda: pinned(a) == (b64(pub(k3)), 3), 10,
             "the agent to pin key 3")
    assert "event=key_pinned key_id=%s version=3 from_version=1" % \
        key_id(k3) in a.log()
    wait_for(lambda: last_heartbeat_key(cc) == key_id(k3), 10,
             "a heartbeat naming key 3")
    cid, cmd = cc.command(node, 2, key=k3)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "ok"
    # The old key signs nothing any more.
    cid, cmd = cc.command(node, 3, key=k1)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "rejected"
    # Restarted (killed, even): the pin was on disk before it was used.
    a.kill9()
    a.start()
    cid, cmd = cc.command(node, 4, key=k3)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "ok"
    assert a.stop()[0] == 0


def test_a_chain_and_its_commands_come_together_in_one_poll_answer(
        tmp_path, cc, agents):
    a = up(agents, tmp_path, cc)
    node = a.node_id()
    k2 = Ed25519PrivateKey.generate()
    # No heartbeat carries the chain (a poll answer does, with commands).
    with cc.cond:
        cc.key_chain_in_heartbeats = False
        cc.key_chain = [link(cc.key, k2, 2)]
        cid, cmd = cc.command(node, 1, key=k2)
        cc.queue.append(cmd)
        cc.cond.notify_all()
    assert result(cc, cid)["status"] == "ok"
    assert pinned(a) == (b64(pub(k2)), 2)
    assert a.stop()[0] == 0


def refused(a, cc, chain, why, want_pin):
    """Sends chain with every answer until the agent logs a refusal that
    says why; its pin stays want_pin."""
    mark = len(a.log())
    with cc.cond:
        cc.key_chain = chain
    wait_for(lambda: "event=key_chain_refused" in a.log()[mark:] and
             why in a.log()[mark:], 10, f"the agent to refuse ({why})")
    assert pinned(a) == want_pin
    with cc.cond:
        cc.key_chain = None


def test_forged_half_signed_replayed_and_rolled_back_links_are_refused(
        tmp_path, cc, agents):
    a = up(agents, tmp_path, cc)
    node = a.node_id()
    k1, k2, k3 = cc.key, Ed25519PrivateKey.generate(), \
        Ed25519PrivateKey.generate()
    evil = Ed25519PrivateKey.generate()
    at1 = (cc.pubkey_b64, 1)
    # Forged: a link from the pinned key that the pinned key never signed.
    refused(a, cc, [link(k1, evil, 2, sign_prev=evil)],
            "is not signed by the key it follows", at1)
    # Half signed: the old key signed, the new one did not.
    half = link(k1, k2, 2)
    del half["sig_next"]
    refused(a, cc, [half], "is not signed by its own key", at1)
    half = link(k1, k2, 2, sign_next=k1)
    refused(a, cc, [half], "is not signed by its own key", at1)
    # A command signed by the key it was refused: rejected.
    cid, cmd = cc.command(node, 1, key=k2)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "rejected"
    # The real chain: taken.
    with cc.cond:
        cc.key_chain = [link(k1, k2, 2), link(k2, k3, 3)]
    wait_for(lambda: pinned(a) == (b64(pub(k3)), 3), 10, "key 3 pinned")
    # Replayed: the old links again change nothing, and are no error.
    mark = len(a.log())
    with cc.cond:
        cc.key_chain = [link(k1, k2, 2)]
    n = cc.heartbeat_count()
    wait_for(lambda: cc.heartbeat_count() >= n + 3, 10, "three heartbeats")
    assert pinned(a) == (b64(pub(k3)), 3)
    assert "key_chain_refused" not in a.log()[mark:]
    # Back to an older key, signed by both: refused on its version.
    refused(a, cc, [link(k3, k1, 2)], "rollback", (b64(pub(k3)), 3))
    cid, cmd = cc.command(node, 2, key=k1)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "rejected"
    cid, cmd = cc.command(node, 3, key=k3)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "ok"
    assert a.stop()[0] == 0


def test_pin_by_hand_is_the_emergency_path(tmp_path, cc, agents):
    a = up(agents, tmp_path, cc)
    node = a.node_id()
    fresh = Ed25519PrivateKey.generate()   # no link reaches it
    cid, cmd = cc.command(node, 1, key=fresh)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "rejected"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "VAULTMESH_ROOT": a.root}
    # Garbage is refused, nothing written.
    p = subprocess.run([AGENT_BIN, "--pin", "not-a-key"], env=env,
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "--pin" in p.stderr, p
    assert pinned(a) == (cc.pubkey_b64, 1)
    p = subprocess.run([AGENT_BIN, "--pin", b64(pub(fresh))], env=env,
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p
    assert "told the running agent" in p.stdout, p.stdout
    assert key_id(fresh) in p.stdout
    assert pinned(a) == (b64(pub(fresh)), 0)
    wait_for(lambda: "event=key_pinned key_id=%s version=0 source=file"
             % key_id(fresh) in a.log(), 10, "the agent to read the pin")
    cid, cmd = cc.command(node, 2, key=fresh)
    cc.push(cmd)
    assert result(cc, cid)["status"] == "ok"
    wait_for(lambda: last_heartbeat_key(cc) == key_id(fresh), 10,
             "a heartbeat naming the new key")
    assert a.stop()[0] == 0
    # With no agent running the pin waits for the next start.
    p = subprocess.run([AGENT_BIN, "--pin", cc.pubkey_b64], env=env,
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and "when it starts" in p.stdout, p
