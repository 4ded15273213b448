"""Operator safety (issue 6, first part): the audit log of operator actions,
cross-site request forgery refused, and the security headers of pages."""

import json
import signal

from conftest import assert_error, wait_until

WHO = {"Cf-Access-Authenticated-User-Email": "alice@example.org",
       "Cf-Connecting-IP": "203.0.113.7"}


def entries(c):
    r = c.get("/audit")
    assert r.status == 200 and "json" in r.headers["content-type"], r
    return r.json()["entries"]


def test_every_operator_action_is_in_the_audit_log(cc, enroll_node, tmp_path):
    pol = tmp_path / "policy.json"
    pol.write_text(json.dumps({"default": ["agent-info"]}))
    c = cc(env={"VAULTMESH_POLICY_PATH": str(pol)})
    n = enroll_node(c)
    p = enroll_node(c, secret=None)
    assert c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                       headers=WHO).status == 201
    assert_error(c.post_json(f"/nodes/{n.node_id}/commands",
                             {"command": "sovereign-scan"}, headers=WHO),
                 403, "command_not_allowed")
    assert c.post_form(f"/nodes/{p.node_id}/approve", headers=WHO).status == 303
    assert c.post_form(f"/nodes/{n.node_id}/revoke").status == 303
    mark = c.mark()
    c.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any("event=policy_reloaded" in ln for ln in c.lines_since(mark)),
               5, "the reload")
    wait_until(lambda: len(entries(c)) == 5, 5, "five audit entries")
    e = entries(c)
    assert [x["action"] for x in e] == ["policy_reload", "revoke", "approve",
                                         "queue", "queue"], e
    assert [x["result"] for x in e] == ["ok", "ok", "ok", "command_not_allowed", "ok"]
    reload_, revoke, approve, refused, queued = e
    # Without Access, Cloudflare's identity and address headers prove
    # nothing: the audit says "local" and the socket's real peer.
    assert queued["who"] == "local" and queued["peer"] == "127.0.0.1"
    assert queued["target"] == n.node_id and "agent-info" in queued["detail"]
    assert refused["who"] == "local"
    assert approve["target"] == p.node_id
    assert revoke["who"] == "local" and revoke["peer"] == "127.0.0.1"
    assert reload_["who"] == "SIGHUP" and reload_["target"] == str(pol)
    assert e[0]["id"] > e[-1]["id"]
    # The same on the page, for a browser.
    page = c.get("/audit", headers={"Accept": "text/html"})
    assert "text/html" in page.headers["content-type"]
    assert "alice@example.org" not in page.text and "203.0.113.7" not in page.text
    assert "command_not_allowed" in page.text
    # The log survives a restart (it is in the store).
    c.restart(kill=True)
    assert len(entries(c)) == 5


def test_audit_log_ignores_identity_headers_without_access(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                headers={"Cf-Access-Authenticated-User-Email": "<b>x</b>@e.org",
                         "Cf-Connecting-IP": "6.6.6.6"})
    page = c.get("/audit", headers={"Accept": "text/html"}).text
    assert "<b>x</b>" not in page and "x</b>@e.org" not in page
    assert "6.6.6.6" not in page and ">local<" in page
    assert_error(c.get("/audit?before=abc"), 400, "invalid_field")


def test_cross_site_form_posts_are_refused_and_change_nothing(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    for h in ({"Origin": "https://evil.example"},
              {"Sec-Fetch-Site": "cross-site"},
              {"Sec-Fetch-Site": "same-site"},
              {"Origin": "null"}):
        r = c.post_form(f"/nodes/{n.node_id}/revoke", headers=h)
        assert_error(r, 403, "cross_site_request")
        r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                        headers=h)
        assert_error(r, 403, "cross_site_request")
    assert c.node(n.node_id)["status"] == "approved"
    assert c.get(f"/nodes/{n.node_id}/commands").json()["commands"] == []
    # The same form from the dashboard itself goes through.
    same = {"Origin": f"http://127.0.0.1:{c.port}", "Sec-Fetch-Site": "same-origin"}
    r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                    headers=same)
    assert r.status == 303, r


def test_pages_carry_security_headers(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    for path in ("/", f"/nodes/{n.node_id}"):
        r = c.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store"
        assert "<script>" not in r.text and "style=" not in r.text
    assert c.get("/nodes").headers["x-content-type-options"] == "nosniff"
