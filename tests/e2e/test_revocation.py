"""Revocation: the token stops working at once, the agent notices and stops,
and re-approval lets the node enroll again."""

from conftest import assert_error, assert_node_shape, stays_true, wait_until


def test_revoked_agent_token_gets_401_at_once_and_agent_stops_heartbeating(cc, agent):
    c = cc()
    a = agent(c)
    first = a.wait_heartbeat()
    nid = a.node_id()
    token = a.token()
    body = dict(first["heartbeat"])

    c.revoke(nid)
    # the very next request with that token is refused
    r = c.heartbeat(token, body)
    assert_error(r, 401, "unauthorized")
    node = c.node(nid)
    assert node["status"] == "revoked"
    assert_node_shape(node)
    frozen = (node["last_heartbeat_at"], node["heartbeat"])

    wait_until(lambda: a.events("revoked"), 10, "the agent to log event=revoked")
    mark = a.mark()
    # no heartbeat gets through any more (the agent sends every second)
    assert stays_true(lambda: (c.node(nid)["last_heartbeat_at"], c.node(nid)["heartbeat"]) == frozen,
                      3.0), "last_heartbeat_at changed after revocation"
    # and the agent does not keep hammering the CC with the dead token
    assert not a.events("revoked", since=mark), \
        "agent logged event=revoked again: it kept sending after revocation"

    # the page shows the revoked state and offers approval again
    r = c.get(f"/nodes/{nid}")
    assert r.status == 200 and "revoked" in r.text.lower()
    assert f"/nodes/{nid}/approve" in r.text


def test_revoked_node_enroll_is_403_until_approved_again_which_issues_new_token(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    assert n.heartbeat().status == 200
    old_token = n.token

    r = c.post_json(f"/nodes/{n.node_id}/revoke", {})
    assert r.status == 200, r
    assert r.json().items() >= {"ok": True, "status": "revoked"}.items()
    assert_error(n.heartbeat(), 401, "unauthorized")
    assert_error(n.enroll(), 403, "node_revoked")
    assert c.node(n.node_id)["status"] == "revoked"

    # approve (form) clears the token: the node may enroll again, once
    c.approve(n.node_id)
    assert c.node(n.node_id)["status"] == "approved"
    r = n.enroll()
    assert r.status == 200, r
    assert n.token != old_token
    assert_error(n.enroll(), 409, "already_enrolled")
    assert n.heartbeat().status == 200
    assert_error(n.heartbeat(token=old_token), 401, "unauthorized")


def test_operator_actions_with_accept_json_and_on_unknown_or_invalid_nodes(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    r = c.request("POST", f"/nodes/{n.node_id}/revoke", body="",
                  headers={"Accept": "application/json",
                           "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r
    assert r.json().items() >= {"ok": True, "status": "revoked"}.items()
    assert_error(c.post_form("/nodes/0b5e5b2e-9a0a-4c8e-9f57-1a2b3c4d5e6f/approve"),
                 404)
    assert_error(c.post_form("/nodes/0b5e5b2e-9a0a-4c8e-9f57-1a2b3c4d5e6f/revoke"),
                 404)
    assert_error(c.post_form("/nodes/not-a-uuid/approve"), 400)
    assert_error(c.post_json("/nodes/not-a-uuid/revoke", {}), 400)
    assert c.node(n.node_id)["status"] == "revoked"
