"""Live, HTMX-ready pages and their pictures (issue 7), over HTTP: the
embedded htmx at its versioned path, the fragments the pages poll, what
forms answer with and without htmx, the inline SVG charts and the samples
they are drawn from. The same pages in a real browser: tests/browser/."""

import json
import os
import re
import sqlite3

from conftest import assert_error, sqlite_only, stays_true, wait_until

REPO = os.path.join(os.path.dirname(__file__), "..", "..")
HTMX_DIST = os.path.join(REPO, "node_modules", "htmx.org", "dist",
                         "htmx.min.js")
HTMX_PKG = os.path.join(REPO, "node_modules", "htmx.org", "package.json")
HX = {"HX-Request": "true"}
SCRIPT = "<script>alert(1)</script>"


def htmx_version():
    with open(HTMX_PKG) as f:
        return json.load(f)["version"]


def scan_result(c, n, findings):
    """Queues a scan for fake node n, takes it and reports findings."""
    r = c.post_json(f"/nodes/{n.node_id}/commands", {"command": "sovereign-scan"})
    assert r.status == 201, r
    cid = r.json()["command_id"]
    r = c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=0",
                  headers={"Authorization": f"Bearer {n.token}"})
    assert r.status == 200, r
    body = {"node_id": n.node_id, "command_id": cid, "status": "ok",
            "exit_code": 0, "output": "scanned",
            "started_at": "2026-11-27T10:00:00Z",
            "finished_at": "2026-11-27T10:00:01Z", "findings": findings}
    assert c.post_json("/api/agent/command-result", body, token=n.token).status == 200
    return cid


def sections(html):
    """ids of the out-of-band sections in a fragment."""
    return re.findall(r'<[a-z]+ id="([a-z_-]+)"[^>]*hx-swap-oob="true"', html)


# ------------------------------------------------------------ static files

def test_htmx_is_served_at_its_versioned_path_with_long_cache(cc):
    c = cc()
    path = f"/static/htmx-{htmx_version()}.min.js"
    page = c.get("/").text
    assert f'<script src="{path}" defer></script>' in page
    r = c.get(path)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    with open(HTMX_DIST, "rb") as f:
        assert r.body == f.read(), "the embedded htmx differs from the npm package"


def test_stylesheet_is_versioned_and_other_static_names_are_404(cc):
    c = cc()
    page = c.get("/").text
    m = re.search(r'<link rel="stylesheet" href="(/static/vm-[0-9a-f]{8}\.css)">', page)
    assert m, page[:600]
    r = c.get(m.group(1))
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/css")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "prefers-color-scheme:dark" in r.text
    assert c.get("/static/vm.css").status == 200     # the old name still works
    for bad in ("/static/htmx-0.0.1.min.js", "/static/vm-00000000.css",
                "/static/..%2fcc.key", "/static/"):
        assert c.get(bad).status == 404, bad


def test_pages_keep_the_csp_and_use_no_inline_script_or_style(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    n.heartbeat()
    for path in ("/", f"/nodes/{n.node_id}", "/?fragment=live",
                 f"/nodes/{n.node_id}?fragment=live"):
        r = c.get(path)
        assert r.status == 200, (path, r)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe" not in csp
        assert "style=" not in r.text, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path
        assert not re.search(r"<style", r.text), path
        assert " hx-on" not in r.text, path   # would need eval


# ------------------------------------------------------------ dashboard

def test_dashboard_polls_a_fragment_that_keeps_filter_page_and_range(cc, enroll_node):
    c = cc()
    enroll_node(c, hostname="web 1").heartbeat()
    page = c.get("/?attention=yellow&q=web%201&page=1&range=7d").text
    m = re.search(r'<div id="live" hidden hx-get="([^"]+)" hx-trigger="every (\d+)s" '
                  r'hx-swap="none"', page)
    assert m, "no poller on the dashboard"
    url = m.group(1).replace("&amp;", "&")
    assert url == "/?fragment=live&attention=yellow&q=web%201&range=7d&page=1", url
    assert 1 <= int(m.group(2)) <= 10

    r = c.get(url)
    assert r.status == 200, r
    assert "text/html" in r.headers["content-type"]
    assert "<html" not in r.text and "<form" not in r.text
    assert sections(r.text) == ["summary", "history", "fleet"], sections(r.text)
    assert ">web 1</a>" in r.text


def test_dashboard_fragment_follows_attention_changes(cc, enroll_node):
    c = cc()
    n = enroll_node(c, hostname="web-1")
    n.heartbeat()
    frag = c.get("/?fragment=live").text
    assert "1 yellow" in frag and ">YELLOW<" in frag and "never_scanned" in frag
    scan_result(c, n, [])
    frag = c.get("/?fragment=live").text
    assert "Green fleet" in frag and ">GREEN<" in frag


def test_htmx_request_gets_every_section_and_history_restore_the_page(cc, enroll_node):
    c = cc()
    enroll_node(c).heartbeat()
    r = c.get("/?attention=red", headers=HX)
    assert r.status == 200 and "<html" not in r.text
    assert sections(r.text) == ["summary", "history", "fleet", "live"], sections(r.text)
    assert 'hx-get="/?fragment=live&amp;attention=red&amp;page=1"' in r.text
    r = c.get("/", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<!doctype html>" in r.text and "hx-swap-oob" not in r.text


def test_bad_fragment_and_range_are_refused(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    assert_error(c.get("/?fragment=all"), 400, "invalid_field")
    assert_error(c.get("/?range=1y"), 400, "invalid_field")
    assert_error(c.get(f"/nodes/{n.node_id}?fragment=x"), 400, "invalid_field")


# ------------------------------------------------------------ node page

def test_node_page_polls_its_live_sections_and_shows_a_queued_command(cc, enroll_node):
    c = cc()
    n = enroll_node(c, hostname="db-1")
    n.heartbeat()
    page = c.get(f"/nodes/{n.node_id}").text
    assert (f'<div id="live" hidden hx-get="/nodes/{n.node_id}?fragment=live" '
            'hx-trigger="every 3s" hx-swap="none"></div>') in page
    frag = c.get(f"/nodes/{n.node_id}?fragment=live").text
    assert "<html" not in frag
    ids = sections(frag)
    assert ids == ["node-head", "facts", "services_down", "trends", "commands",
                   "findings", "scans"], ids
    assert "run" not in ids, "the polled part must not reset the typed forms"

    r = c.post_json(f"/nodes/{n.node_id}/commands", {"command": "agent-info"})
    cid = r.json()["command_id"]
    frag = c.get(f"/nodes/{n.node_id}?fragment=live").text
    assert f'id="cmd-{cid}"' in frag and ">queued<" in frag
    c.request("GET", f"/api/agent/commands?node_id={n.node_id}&wait=0",
              headers={"Authorization": f"Bearer {n.token}"})
    body = {"node_id": n.node_id, "command_id": cid, "status": "ok", "exit_code": 0,
            "output": "agent <b>info</b>", "started_at": "2026-11-27T10:00:00Z",
            "finished_at": "2026-11-27T10:00:01Z"}
    assert c.post_json("/api/agent/command-result", body, token=n.token).status == 200
    frag = c.get(f"/nodes/{n.node_id}?fragment=live").text
    assert ">ok<" in frag and "agent &lt;b&gt;info&lt;/b&gt;" in frag


def test_forms_post_through_htmx_and_without_javascript(cc, enroll_node):
    c = cc(secret=None)
    n = enroll_node(c, secret=None, expect=202)
    page = c.get(f"/nodes/{n.node_id}").text
    assert (f'method="post" action="/nodes/{n.node_id}/approve" '
            f'hx-post="/nodes/{n.node_id}/approve" hx-swap="none"') in page
    # Revoke asks first: a confirmation page without JavaScript, a dialog
    # with htmx (hx-confirm), then the same POST.
    assert (f'method="get" action="/nodes/{n.node_id}/revoke" '
            f'hx-post="/nodes/{n.node_id}/revoke" hx-swap="none" hx-confirm=') in page
    same = {"Origin": c.url, "Sec-Fetch-Site": "same-origin"}

    # With htmx: every section of the page at once, no redirect.
    r = c.post_form(f"/nodes/{n.node_id}/approve", headers={**HX, **same})
    assert r.status == 200, r
    assert "<html" not in r.text
    assert "Status: <strong>approved</strong>" in r.text
    assert "run" in sections(r.text) and "notice" in sections(r.text)
    assert f'hx-post="/nodes/{n.node_id}/commands"' in r.text

    # Without: the redirect back to the page, as before.
    r = c.post_form(f"/nodes/{n.node_id}/revoke", headers=same)
    assert r.status == 303 and r.headers["location"].endswith(f"/nodes/{n.node_id}")
    c.approve(n.node_id)
    r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "agent-info"},
                    headers=same)
    assert r.status == 303, r
    assert r.headers["location"].endswith(f"/nodes/{n.node_id}#commands")
    # The browser follows it with the same htmx headers: the sections again.
    r = c.get(f"/nodes/{n.node_id}", headers=HX)
    assert "<html" not in r.text and "agent-info" in r.text
    assert "run" in sections(r.text)


def test_a_refused_htmx_form_shows_why_in_the_notice(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "service-restart",
                                                      "unit": "x.service"},
                    headers={**HX, "Origin": c.url})
    assert r.status == 403, r
    assert "<html" not in r.text
    assert re.search(r'<div id="notice" role="status" hx-swap-oob="true">'
                     r'<p class="error" role="alert">Refused: profile ArchVault '
                     r'may not run service-restart', r.text), r.text[:500]
    # Without htmx the whole page carries the same message.
    r = c.post_form(f"/nodes/{n.node_id}/commands", {"command": "service-restart",
                                                      "unit": "x.service"})
    assert r.status == 403 and "<!doctype html>" in r.text
    assert "may not run service-restart" in r.text


# ------------------------------------------------------------ pictures

def test_dashboard_and_node_page_carry_their_svg_pictures(cc, enroll_node):
    c = cc()
    n = enroll_node(c, hostname=SCRIPT)
    n.heartbeat()
    scan_result(c, n, [{"id": "x.high", "severity": "high", "title": "t",
                        "detail": "d"}])
    dash = c.get("/").text
    assert re.search(r'<figure id="history" class="chart"><figcaption>', dash)
    svg = re.search(r"<svg class=\"plot\".*?</svg>", dash, re.S).group(0)
    assert svg.count("<polygon") == 3
    assert "now 0 red, 1 yellow, 0 green" in svg

    page = c.get(f"/nodes/{n.node_id}").text
    for fig in ("trend-load", "trend-mem", "trend-findings"):
        assert f'<figure class="chart" id="{fig}">' in page, fig
    assert page.count("<svg ") == 3
    assert "now 0.25" in page and "now 42.5 %" in page
    assert 'class="s-high"' in page
    # The hostname is escaped in the pictures' titles too.
    assert SCRIPT not in page and "<script>alert" not in page
    assert "<title>Load of &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "in the last 1 scans of &lt;script&gt;" in page


@sqlite_only("reads the samples in the SQLite file")
def test_scheduler_ticks_record_fleet_and_heartbeat_samples(cc, enroll_node):
    c = cc(env={"VAULTMESH_SCHEDULER_TICK_SECONDS": "1"})
    n = enroll_node(c)
    n.heartbeat(load1=1.75, mem_used_pct=33.0)
    db = sqlite3.connect(f"file:{c.db_path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 4

        def fleet_rows():
            return db.execute("SELECT count(*) FROM fleet_samples").fetchone()[0] >= 2
        wait_until(fleet_rows, 10, "two fleet samples")
        at, g, y, r = db.execute("SELECT at, green, yellow, red FROM fleet_samples"
                                 " ORDER BY at DESC LIMIT 1").fetchone()
        assert (g, y, r) == (0, 1, 0)

        def hb_rows():
            return db.execute("SELECT node_id, load1, mem_used_pct FROM"
                              " heartbeat_samples").fetchall()
        rows = wait_until(hb_rows, 10, "a heartbeat sample")
        assert rows == [(n.node_id, 1.75, 33.0)]
        # At most one sample per node per 5 minutes, however often the tick.
        n.heartbeat(load1=2.0)
        assert stays_true(lambda: db.execute(
            "SELECT count(*) FROM heartbeat_samples").fetchone()[0] == 1, 2.5)
    finally:
        db.close()


# ------------------------------------------------------------ paging at scale

def _rows(html):
    """(hostname, level) of each table row, in page order."""
    return re.findall(r'<tr class="lvl-([a-z]+)"><td><a href="/nodes/[0-9a-f-]+">'
                      r'([^<]*)</a>', html)


def test_dashboard_pages_keep_red_first_by_hostname_and_follow_changes(cc, enroll_node):
    """230 nodes enrolled in shuffled order: 100 rows a page, red before
    yellow before green, by hostname within a level; the counts and the
    order follow heartbeats (a hostname change moves the node at once)."""
    import random
    c = cc()
    rnd = random.Random(7)
    names = [f"host-{i:03d}" for i in range(230)]
    rnd.shuffle(names)
    nodes = {h: enroll_node(c, hostname=h) for h in names}
    # 80 send a heartbeat (fresh, never scanned: yellow), 10 of them with
    # Cloudflare down (red); the other 150 never did (stale: red).
    beating = sorted(names)[::2][:80]
    down = set(beating[::8])
    for h in beating:
        r = nodes[h].heartbeat(cloudflare="down" if h in down else "up")
        assert r.status == 200, r
    red = sorted(set(names) - set(beating) | down)
    yellow = sorted(set(beating) - down)
    expect = [("red", h) for h in red] + [("yellow", h) for h in yellow]
    got = []
    for page in (1, 2, 3):
        html = c.get(f"/?page={page}").text
        rows = [(lvl, h) for lvl, h in _rows(html)]
        assert len(rows) == (100 if page < 3 else 30), (page, len(rows))
        got += rows
        first = (page - 1) * 100 + 1
        assert f"Nodes {first}-{first + len(rows) - 1} of 230" in html
    assert got == expect
    html = c.get("/").text
    assert f'Red<b>{len(red)}</b>' in html and f'Yellow<b>{len(yellow)}</b>' in html
    # One level, second page: the yellow ones from the 101st on (none).
    assert _rows(c.get("/?attention=yellow&page=1").text) == \
        [("yellow", h) for h in yellow]
    assert _rows(c.get("/?attention=red&page=2").text) == \
        [("red", h) for h in red[100:]]
    # A renamed node moves; a red one turns yellow; the counts follow.
    mover = yellow[-1]
    assert nodes[mover].heartbeat(hostname="aaa-renamed").status == 200
    fixed = sorted(down)[0]
    assert nodes[fixed].heartbeat(cloudflare="up").status == 200
    rows = _rows(c.get("/?attention=yellow").text)
    assert rows[0] == ("yellow", "aaa-renamed"), rows[:3]
    assert ("yellow", fixed) in rows and ("yellow", mover) not in rows
    html = c.get("/").text
    assert f'Red<b>{len(red) - 1}</b>' in html
    assert f'Yellow<b>{len(yellow) + 1}</b>' in html
    # A search goes through the same order.
    red2 = [h for h in red if h != fixed]
    yellow2 = sorted([h for h in yellow if h != mover] + [fixed, "aaa-renamed"])
    after = [("red", h) for h in red2] + [("yellow", h) for h in yellow2]
    rows = _rows(c.get("/?q=HOST-00").text)
    assert rows == [x for x in after if "host-00" in x[1]], rows
    assert len(rows) == 10
