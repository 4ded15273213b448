"""The operator's day (issue 15): forms without JavaScript, one instance per
database and per agent root, revoked nodes apart, confirmation before
destructive actions, errors as pages for browsers, refusals where the
operator looks, history that pages, pictures to time scale, precompressed
assets, and the small things a new operator tripped over."""

import gzip
import json
import os
import re
import subprocess
import uuid

from conftest import (AGENT_BIN, CC_BIN, ENROLL_SECRET, assert_error, sqlite_only,
                      free_port, wait_until)

HTML = {"Accept": "text/html,application/xhtml+xml"}


def run(binary, env_extra, args=(), timeout=10):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTMESH_")}
    env.update(env_extra)
    return subprocess.run([binary, *args], env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# ---- forms without JavaScript ----------------------------------------------------

def test_a_browsers_own_form_post_with_origin_null_is_accepted(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    # What Chromium sends for a plain form post from the page itself.
    r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                    headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert r.status == 303, r
    assert c.get("/").headers["referrer-policy"] == "same-origin"
    # Another site, or no word from the browser, is still refused.
    for h in ({"Origin": "null"}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
              {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-site"}):
        assert_error(c.post_form(f"/nodes/{n.node_id}/revoke", headers=h), 403,
                     "cross_site_request")
    assert c.node(n.node_id)["status"] == "approved"


# ---- one instance per database, per agent root -----------------------------------

@sqlite_only("replicas share a PostgreSQL database (test_replicas.py)")
def test_a_second_command_center_on_one_database_stops_at_once(cc, tmp_path):
    c = cc()
    p = run(CC_BIN, {"VAULTMESH_DB": c.db_path, "VAULTMESH_CC_KEY_PATH": c.key_path,
                     "VAULTMESH_LISTEN": "127.0.0.1:0"})
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2
    assert len(lines) == 1, lines
    assert c.db_path in lines[0] and f"pid {c.proc.pid}" in lines[0], lines
    assert c.get("/healthz").status == 200


def test_a_busy_port_creates_no_database_and_no_key(cc, tmp_path):
    c = cc()
    d = tmp_path / "second"
    d.mkdir()
    p = run(CC_BIN, {"VAULTMESH_DB": str(d / "cc.db"),
                     "VAULTMESH_CC_KEY_PATH": str(d / "cc.key"),
                     "VAULTMESH_LISTEN": f"127.0.0.1:{c.port}"})
    assert p.returncode == 2 and "VAULTMESH_LISTEN" in p.stderr, p
    assert os.listdir(d) == []


def test_a_second_agent_on_one_root_stops_at_once(cc, agent):
    c = cc()
    a = agent(c)
    a.wait_heartbeat()
    p = run(AGENT_BIN, {"VAULTMESH_ROOT": a.root, "VAULTMESH_CC_URL": c.url})
    assert p.returncode != 0
    assert f"in use by another agent (pid {a.proc.pid})" in p.stderr, p.stderr
    assert a.running


# ---- revoked nodes apart from attention --------------------------------------------

def test_revoked_nodes_are_counted_apart_not_as_attention(cc, enroll_node):
    c = cc()
    a = enroll_node(c, hostname="alive")
    b = enroll_node(c, hostname="gone")
    assert a.heartbeat().status == 200 and b.heartbeat().status == 200
    c.revoke(b.node_id)
    page = c.get("/", headers=HTML).text
    assert re.search(r'class="count revoked"[^>]*>Revoked<b>1</b>', page), page
    # Only the approved node is counted by level.
    levels = sum(int(x) for x in re.findall(
        r'class="count (?:red|yellow|green)"[^>]*>\w+<b>(\d+)</b>', page))
    assert levels == 1
    only = c.get("/?attention=revoked", headers=HTML).text
    assert "gone" in only and "alive" not in only and "badge revoked" in only
    m = c.get("/metrics").text
    attn = sum(int(v) for v in re.findall(r"vaultmesh_nodes_attention\{[^}]*\} (\d+)", m))
    assert attn == 1 and 'vaultmesh_nodes{status="revoked"} 1' in m
    node_page = c.get(f"/nodes/{b.node_id}", headers=HTML).text
    assert "badge revoked" in node_page


# ---- confirmation before destructive actions ----------------------------------------

def test_revoke_and_delete_ask_first(cc, enroll_node):
    c = cc()
    n = enroll_node(c, hostname="to-ask")
    page = c.get(f"/nodes/{n.node_id}", headers=HTML).text
    for action in ("revoke", "delete"):
        # Without JavaScript the button opens a page; with htmx a dialog.
        assert re.search(rf'<form class="inline" method="get" action="/nodes/'
                         rf'{n.node_id}/{action}" hx-post="/nodes/{n.node_id}/'
                         rf'{action}" hx-swap="none" hx-confirm="[^"]+to-ask', page)
        ask = c.get(f"/nodes/{n.node_id}/{action}", headers=HTML)
        assert ask.status == 200 and "text/html" in ask.headers["content-type"]
        assert f'<form method="post" action="/nodes/{n.node_id}/{action}">' in ask.text
        assert "to-ask" in ask.text and "Cancel" in ask.text
    # Asking changed nothing.
    assert c.node(n.node_id)["status"] == "approved"
    # htmx's delete is answered with a redirect htmx follows.
    r = c.request("POST", f"/nodes/{n.node_id}/delete", body="",
                  headers={"HX-Request": "true",
                           "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200 and r.headers.get("hx-redirect") == "/"


# ---- errors as pages for browsers ----------------------------------------------------

def test_browsers_get_error_pages_and_scripts_get_json(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    missing = str(uuid.uuid4())
    r = c.get(f"/nodes/{missing}", headers=HTML)
    assert r.status == 404 and "text/html" in r.headers["content-type"]
    assert 'href="/"' in r.text and "unknown_node" in r.text
    r = c.get("/?attention=purple", headers=HTML)
    assert r.status == 400 and "text/html" in r.headers["content-type"]
    assert "red, yellow, green or revoked" in r.text
    r = c.get(f"/nodes/{n.node_id}/history?status=bogus", headers=HTML)
    assert r.status == 400 and f'href="/nodes/{n.node_id}"' in r.text
    # The same errors for a script: JSON.
    assert_error(c.get(f"/nodes/{missing}"), 404, "unknown_node")
    assert_error(c.get("/?attention=purple"), 400, "invalid_field")


# ---- refusals where the operator is looking ---------------------------------------------

def test_a_refused_form_shows_its_error_at_the_form_and_keeps_the_input(
        cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    r = c.post_form(f"/nodes/{n.node_id}/commands",
                    {"command": "journal-tail", "unit": "x<y>.service", "lines": "0"})
    assert r.status == 400 and "text/html" in r.headers["content-type"]
    form = re.search(r'<form [^>]*id="run-journal-tail".*?</form>', r.text, re.S)
    assert form, r.text
    f = form.group(0)
    assert 'id="run-journal-tail-error"' in f and 'role="alert"' in f
    assert 'value="x&lt;y&gt;.service"' in f and 'value="0"' in f
    assert 'aria-invalid="true"' in f
    # The message does not repeat its code.
    assert "Refused: invalid_args" not in f
    # The other forms are as they were.
    other = re.search(r'<form [^>]*id="run-service-status".*?</form>', r.text, re.S)
    assert other and "error" not in other.group(0)


def test_a_queued_command_shows_at_once_as_queued(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "agent-info"})
    assert r.status == 303
    page = c.get(r.headers["location"].split("#")[0], headers=HTML).text
    row = re.search(r'<tr id="cmd-[^"]+"><td><strong>agent-info</strong></td>'
                    r'.*?</tr>', page, re.S)
    assert row and "queued" in row.group(0), page
    assert "<code>{}</code>" not in page


# ---- history that pages ----------------------------------------------------------------

def test_command_history_pages_by_cursor_and_filters(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    for i in range(60):
        body = {"command": "agent-info"} if i % 2 else \
            {"command": "service-status", "args": {"unit": f"u{i}.service"}}
        assert c.post_json(f"/nodes/{n.node_id}/commands", body).status == 201
    first = c.json_get(f"/nodes/{n.node_id}/commands")
    assert len(first["commands"]) == 50
    seqs = [x["seq"] for x in first["commands"]]
    assert seqs == sorted(seqs, reverse=True) and seqs[0] == 60
    assert first["next_before"] == seqs[-1]
    rest = c.json_get(f"/nodes/{n.node_id}/commands?before={first['next_before']}")
    assert [x["seq"] for x in rest["commands"]] == list(range(10, 0, -1))
    assert rest["next_before"] is None
    only = c.json_get(f"/nodes/{n.node_id}/commands?command=service-status")
    assert len(only["commands"]) == 30
    assert {x["command"] for x in only["commands"]} == {"service-status"}
    assert c.json_get(f"/nodes/{n.node_id}/commands?status=ok")["commands"] == []
    for bad in ("before=0", "before=x", "status=done", "command=rm"):
        assert_error(c.get(f"/nodes/{n.node_id}/commands?{bad}"), 400,
                     "invalid_field")
    # The page for people, with the same filters and an "older" link.
    page = c.get(f"/nodes/{n.node_id}/history?command=agent-info", headers=HTML).text
    assert page.count("<strong>agent-info</strong>") == 30
    assert "service-status</strong>" not in page
    p1 = c.get(f"/nodes/{n.node_id}/history", headers=HTML).text
    m = re.search(r'href="(/nodes/[^"]+/history\?before=(\d+))">older</a>', p1)
    assert m and int(m.group(2)) == seqs[-1]
    p2 = c.get(m.group(1).replace("&amp;", "&"), headers=HTML).text
    assert p2.count('<tr id="cmd-') == 10 and ">newest</a>" in p2
    node = c.get(f"/nodes/{n.node_id}", headers=HTML).text
    assert f'href="/nodes/{n.node_id}/history"' in node


def test_audit_log_filters_and_names_hosts(cc, enroll_node):
    c = cc()
    a = enroll_node(c, hostname="web-7")
    b = enroll_node(c, hostname="db-2")
    c.post_json(f"/nodes/{a.node_id}/commands", {"command": "agent-info"})
    c.post_json(f"/nodes/{b.node_id}/commands", {"command": "agent-info"})
    c.revoke(b.node_id)
    e = c.json_get(f"/audit?node={b.node_id}")["entries"]
    assert [x["action"] for x in e] == ["revoke", "queue"]
    assert all(x["target_hostname"] == "db-2" for x in e)
    assert [x["target"] for x in c.json_get("/audit?action=queue")["entries"]] == \
        [b.node_id, a.node_id]
    page = c.get("/audit?action=queue", headers=HTML).text
    assert ">web-7</a> <code class=\"id\">" + a.node_id in page
    assert "revoke</td>" not in page
    assert_error(c.get("/audit?node=web-7"), 400, "invalid_field")
    assert_error(c.get("/audit?action=DROP%20TABLE"), 400, "invalid_field")


# ---- pictures to time scale ---------------------------------------------------------------

def test_fleet_chart_spans_its_range_and_few_samples_say_so(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    n.heartbeat()
    page = c.get("/", headers=HTML).text
    assert re.search(r'<div class="axis"><span>24 h ago</span>', page)
    node = c.get(f"/nodes/{n.node_id}", headers=HTML).text
    assert "Only 1 sample so far" in node
    assert "circle" not in re.search(r'<figure class="chart" id="trend-load">.*?'
                                     r'</figure>', node, re.S).group(0)


# ---- precompressed assets --------------------------------------------------------------------

def test_static_assets_are_served_precompressed(cc):
    c = cc()
    page = c.get("/", headers=HTML).text
    for path in re.findall(r'(/static/(?:vm-[0-9a-f]{8}\.css|htmx-[^"]+\.js))', page):
        plain = c.get(path, headers={"Accept-Encoding": "identity"})
        gz = c.get(path, headers={"Accept-Encoding": "gzip"})
        br = c.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert "content-encoding" not in plain.headers
        assert gz.headers["content-encoding"] == "gzip"
        assert gzip.decompress(gz.body) == plain.body
        assert br.headers["content-encoding"] == "br"
        assert len(br.body) < len(plain.body)
        for r in (plain, gz, br):
            assert r.headers["vary"] == "Accept-Encoding"
        refused = c.get(path, headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
        assert "content-encoding" not in refused.headers


# ---- small things ---------------------------------------------------------------------------

def test_start_up_errors_say_what_is_wrong(tmp_path):
    p = run(CC_BIN, {}, ["--generate-key", str(tmp_path)])
    assert p.returncode == 2
    # --generate-key of an existing path is refused before anything else.
    assert "exists" in p.stderr
    d = tmp_path / "keydir"
    d.mkdir()
    p = run(CC_BIN, {"VAULTMESH_CC_KEY_PATH": str(d),
                     "VAULTMESH_DB": str(tmp_path / "a.db"),
                     "VAULTMESH_LISTEN": "127.0.0.1:0"})
    assert p.returncode == 2 and "is not a regular file (a directory)" in p.stderr
    assert "chmod" not in p.stderr
    p = run(CC_BIN, {"VAULTMESH_CC_KEY_PATH": str(tmp_path / "k"),
                     "VAULTMESH_DB": str(tmp_path / "no-such-dir" / "cc.db"),
                     "VAULTMESH_LISTEN": "127.0.0.1:0"})
    assert p.returncode != 0
    assert "No such file or directory" in p.stderr, p.stderr


def test_generate_key_errors_name_the_option(tmp_path):
    p = run(CC_BIN, {}, ["--generate-key", str(tmp_path / "missing-dir" / "k")])
    assert p.returncode == 2
    assert p.stderr.startswith("vaultmesh-command-center: --generate-key:"), p.stderr
    assert "VAULTMESH_CC_KEY_PATH" not in p.stderr


def test_a_node_without_heartbeat_and_high_findings_read_right(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    page = c.get(f"/nodes/{n.node_id}", headers=HTML).text
    assert "never (never)" not in page
    cid = c.post_json(f"/nodes/{n.node_id}/commands",
                      {"command": "sovereign-scan"}).json()["command_id"]
    r = c.get(f"/api/agent/commands?node_id={n.node_id}",
              headers={"Authorization": f"Bearer {n.token}"})
    assert r.status == 200
    res = {"node_id": n.node_id, "command_id": cid, "status": "ok", "exit_code": 0,
           "output": "", "started_at": "2026-12-06T10:00:00Z",
           "finished_at": "2026-12-06T10:00:01Z",
           "findings": [{"id": "x.high", "severity": "high", "title": "t",
                         "detail": "d"}]}
    assert c.post_json("/api/agent/command-result", res, token=n.token).status == 200
    page = c.get(f"/nodes/{n.node_id}", headers=HTML).text
    assert '<h3 id="high_findings" class="yellow">' in page
