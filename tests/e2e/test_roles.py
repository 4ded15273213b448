"""Roles (issue 19, part 3): viewer, operator, approver, admin.

The roles file (VAULTMESH_ROLES_PATH) maps Access identities to roles, as
CONTRACT.md pins it: an email, "@domain", or "group:<name>" for a group claim
of the Access token. An identity gets the highest role that names it; anyone
unnamed is a viewer. Each operator route needs a role; a refusal is
403 {"error": "role_required", "role": ...} and changes nothing. The file is
read again on SIGHUP (a bad one keeps the old roles). Without Access the local
operator is an admin (every other e2e test runs so).
"""

import json
import signal

from conftest import assert_error, wait_until
from test_access import H, access_cc, certs_server, good  # noqa: F401

ROLES = {"admin": ["boss@example.com"], "approver": ["@example.org"],
         "operator": ["group:ops"]}
VIEWER = {"email": "nobody@elsewhere.net"}
OPERATOR = {"email": "dave@elsewhere.net", "groups": ["ops"]}
APPROVER = {"email": "carol@Example.ORG"}
ADMIN = {"email": "boss@example.com"}


def role_required(resp, role):
    doc = assert_error(resp, 403, "role_required")
    assert doc["role"] == role, doc
    return doc


def tok(srv, who):
    return H(good(srv, **who))


def changes(c, srv, n, p, who):
    """Every kind of change, as who: the answers' statuses by name."""
    h = tok(srv, who)
    return {
        "queue": c.post_json(f"/nodes/{n.node_id}/commands",
                             {"command": "agent-info"}, headers=h),
        "labels": c.request("PUT", f"/nodes/{n.node_id}/labels",
                            json.dumps({"labels": {"role": "db"}}),
                            {**h, "Content-Type": "application/json"}),
        "job": c.post_json("/jobs", {"command": "agent-info", "reason": "roles",
                                     "target": {"node_ids": [n.node_id]}},
                           headers=h),
        "approve": c.post_json(f"/nodes/{p.node_id}/approve", {}, headers=h),
        "revoke": c.post_json(f"/nodes/{n.node_id}/revoke", {}, headers=h),
        "delete": c.request("DELETE", f"/nodes/{n.node_id}", headers=h),
    }


NEEDS = {"queue": "operator", "labels": "operator", "job": "operator",
         "approve": "admin", "revoke": "admin", "delete": "admin"}


def test_each_role_may_do_what_its_rank_allows_and_no_more(access_cc, enroll_node):
    c, srv = access_cc(roles=ROLES)
    n = enroll_node(c)
    p = enroll_node(c, secret=None)
    admin = tok(srv, ADMIN)
    # Everyone sees.
    for who in (VIEWER, OPERATOR, APPROVER, ADMIN):
        for path in ("/", "/nodes", f"/nodes/{n.node_id}", "/jobs", "/audit",
                     f"/nodes/{n.node_id}/commands"):
            assert c.get(path, headers=tok(srv, who)).status == 200, (who, path)
    # A viewer changes nothing: every change is refused, naming the role.
    for what, r in changes(c, srv, n, p, VIEWER).items():
        role_required(r, NEEDS[what])
    assert c.get(f"/nodes/{n.node_id}/commands", headers=admin).json()["commands"] == []
    assert c.get("/audit", headers=admin).json()["entries"] == []
    assert c.events("role_refused")
    # An operator (by group claim) and an approver (by domain, any case)
    # queue, label and start jobs, but do not decide a node's trust.
    for who in (OPERATOR, APPROVER):
        got = changes(c, srv, n, p, who)
        assert got["queue"].status == 201, got["queue"]
        assert got["labels"].status == 200, got["labels"]
        assert got["job"].status == 201, got["job"]
        for what in ("approve", "revoke", "delete"):
            role_required(got[what], "admin")
    nodes = {x["node_id"]: x for x in c.get("/nodes", headers=admin).json()}
    assert nodes[p.node_id]["status"] == "pending"
    assert nodes[n.node_id]["status"] == "approved"
    # The admin does all of it; the audit names each actor.
    got = changes(c, srv, n, p, ADMIN)
    assert {k: v.status for k, v in got.items()} == {
        "queue": 201, "labels": 200, "job": 201, "approve": 200,
        "revoke": 200, "delete": 200}
    who = {(e["action"], e["who"]) for e in
           c.get("/audit?limit=100", headers=admin).json()["entries"]}
    assert ("queue", "dave@elsewhere.net") in who
    assert ("queue", "carol@Example.ORG") in who
    assert ("approve", "boss@example.com") in who
    assert not any(w == "nobody@elsewhere.net" for _, w in who)


def test_a_group_claim_under_custom_and_a_look_alike_domain(access_cc, enroll_node):
    c, srv = access_cc(roles=ROLES)
    n = enroll_node(c)
    body = {"command": "agent-info"}
    # Access puts an identity provider's claims under "custom".
    r = c.post_json(f"/nodes/{n.node_id}/commands", body,
                    headers=tok(srv, {"email": "x@y.net", "custom": {"groups": ["ops"]}}))
    assert r.status == 201, r
    # Groups are exact; a domain is not a suffix; a header proves nothing.
    for who in ({"email": "x@y.net", "groups": ["Ops", "ops "]},
                {"email": "eve@evil-example.org"},
                {"email": "eve@example.org.evil.net"},
                {"email": "eve@evil.net", "groups": "ops"}):
        role_required(c.post_json(f"/nodes/{n.node_id}/commands", body,
                                  headers={**tok(srv, who),
                                           "Cf-Access-Authenticated-User-Email":
                                           "boss@example.com"}), "operator")


def test_pages_show_a_viewer_no_form_and_a_refused_form_says_the_role(
        access_cc, enroll_node):
    c, srv = access_cc(roles=ROLES)
    n = enroll_node(c)
    p = enroll_node(c, secret=None)
    page = {"Accept": "text/html"}
    viewer = {**tok(srv, VIEWER), **page}
    operator = {**tok(srv, OPERATOR), **page}
    admin = {**tok(srv, ADMIN), **page}
    html = c.get(f"/nodes/{n.node_id}", headers=viewer).text
    assert 'id="role-note"' in html and "viewer" in html
    for form in ("/commands\"", "/labels\"", "/revoke\"", "/delete\""):
        assert form not in html, form
    html = c.get(f"/nodes/{n.node_id}", headers=operator).text
    assert "/commands\"" in html and "/labels\"" in html
    assert "/revoke\"" not in html and "/delete\"" not in html
    html = c.get(f"/nodes/{p.node_id}", headers=admin).text
    assert "/approve\"" in html and "/reject\"" in html
    assert 'id="new-job"' not in c.get("/?labels=role%3Ddb", headers=viewer).text
    assert 'id="new-job"' in c.get("/?labels=role%3Ddb", headers=operator).text
    assert 'href="/jobs/new"' not in c.get("/jobs", headers=viewer).text
    assert 'href="/jobs/new"' in c.get("/jobs", headers=operator).text
    # A form posted anyway (an old tab) gets a page that names the role.
    r = c.post_form(f"/nodes/{p.node_id}/approve", headers=operator)
    assert r.status == 403 and "text/html" in r.headers["content-type"], r
    assert "admin" in r.text
    r = c.get(f"/nodes/{n.node_id}/revoke", headers=operator)
    assert r.status == 403


def test_roles_file_is_read_again_on_sighup_and_a_bad_one_keeps_the_old(
        access_cc, enroll_node, tmp_path):
    c, srv = access_cc(roles=ROLES)
    n = enroll_node(c)
    path = tmp_path / "roles1.json"           # the fixture's first file
    assert json.loads(path.read_text()) == ROLES
    body = {"command": "agent-info"}
    role_required(c.post_json(f"/nodes/{n.node_id}/commands", body,
                              headers=tok(srv, VIEWER)), "operator")
    with open(path, "w") as f:
        json.dump({**ROLES, "operator": ["nobody@elsewhere.net"]}, f)
    mark = c.mark()
    c.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any("event=roles_reloaded" in ln for ln in c.lines_since(mark)),
               5, "roles_reloaded")
    assert c.post_json(f"/nodes/{n.node_id}/commands", body,
                       headers=tok(srv, VIEWER)).status == 201
    # The group no longer names anyone.
    role_required(c.post_json(f"/nodes/{n.node_id}/commands", body,
                              headers=tok(srv, OPERATOR)), "operator")
    with open(path, "w") as f:
        f.write('{"root": ["nobody@elsewhere.net"]}')
    mark = c.mark()
    c.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any("event=roles_reload_failed" in ln
                           for ln in c.lines_since(mark)), 5, "roles_reload_failed")
    assert c.post_json(f"/nodes/{n.node_id}/commands", body,
                       headers=tok(srv, VIEWER)).status == 201
    entries = c.get("/audit?limit=100", headers=tok(srv, ADMIN)).json()["entries"]
    reloads = [e["result"] for e in entries if e["action"] == "roles_reload"]
    assert reloads == ["invalid_roles", "ok"], reloads
    assert c.running


def test_without_a_roles_file_access_operators_are_viewers(access_cc, enroll_node):
    c, srv = access_cc(roles=None)
    n = enroll_node(c)
    assert c.events("roles_unset")
    assert c.get("/nodes", headers=tok(srv, ADMIN)).status == 200
    role_required(c.post_json(f"/nodes/{n.node_id}/commands",
                              {"command": "agent-info"}, headers=tok(srv, ADMIN)),
                  "operator")


def test_a_bad_roles_file_stops_the_start_naming_the_variable(tmp_path):
    from test_policy_and_keys import run_cc
    for text, why in (('{"root": []}', "is not a role"),
                      ('{"admin": ["not an email"]}', "admin[0]"),
                      ("{", "roles.json")):
        path = tmp_path / "roles.json"
        path.write_text(text)
        p = run_cc(tmp_path, VAULTMESH_ROLES_PATH=str(path))
        assert p.returncode == 2, p
        assert "VAULTMESH_ROLES_PATH" in p.stderr and why in p.stderr, p.stderr
    p = run_cc(tmp_path, VAULTMESH_ROLES_PATH=str(tmp_path / "missing.json"))
    assert p.returncode == 2 and "VAULTMESH_ROLES_PATH" in p.stderr, p.stderr
