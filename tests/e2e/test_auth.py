"""Bearer-token authentication of the agent endpoints."""

import json

from conftest import assert_error, heartbeat_body


def test_heartbeat_with_wrong_missing_or_malformed_token_is_401_and_changes_nothing(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    assert n.heartbeat().status == 200
    before = c.nodes()
    body = json.dumps(n.body(hostname="intruder"))
    bad_auth = [
        None,                                   # no Authorization
        "Bearer ",                              # empty token
        "Bearer " + "A" * len(n.token),         # wrong token, right length
        "Bearer " + n.token[:-1],               # truncated
        "Bearer " + n.token + "x",              # extended
        "Bearer wrong",                         # short
        "Basic " + n.token,                     # wrong scheme
        n.token,                                # no scheme
    ]
    for auth in bad_auth:
        h = {"Content-Type": "application/json"}
        if auth is not None:
            h["Authorization"] = auth
        r = c.request("POST", "/api/agent/heartbeat", body=body, headers=h)
        assert_error(r, 401, "unauthorized")
    assert c.nodes() == before
    assert n.token not in c.logs


def test_token_of_node_a_with_node_id_of_node_b_is_403_and_changes_nothing(cc, enroll_node):
    c = cc()
    a = enroll_node(c, hostname="node-a")
    b = enroll_node(c, hostname="node-b")
    assert a.heartbeat().status == 200
    assert b.heartbeat().status == 200
    before = c.nodes()
    r = c.heartbeat(a.token, b.body(hostname="hijacked"))
    assert_error(r, 403, "forbidden")
    assert c.nodes() == before
    # a pending node's id with someone's token: also not theirs
    p = enroll_node(c, secret=None)
    r = c.heartbeat(a.token, heartbeat_body(p.node_id))
    assert_error(r, 403, "forbidden")
    assert c.node(p.node_id)["last_heartbeat_at"] is None
