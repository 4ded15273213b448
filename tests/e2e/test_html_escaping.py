"""Every agent-supplied string is HTML-escaped on the operator pages."""

from conftest import assert_error

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_script_hostname_is_escaped_on_dashboard_and_node_page(cc, enroll_node):
    c = cc()
    n = enroll_node(c, hostname=SCRIPT)
    r = n.heartbeat(hostname=SCRIPT)
    assert r.status == 200, r

    # the JSON view carries the value as received
    node = c.node(n.node_id)
    assert node["hostname"] == SCRIPT
    assert node["heartbeat"]["hostname"] == SCRIPT

    for path in ("/", f"/nodes/{n.node_id}"):
        r = c.get(path)
        assert r.status == 200, (path, r)
        assert "text/html" in r.headers.get("content-type", "")
        assert SCRIPT not in r.text, f"raw <script> hostname on {path}"
        assert "<script>alert" not in r.text.lower(), f"unescaped script tag on {path}"
        assert ESCAPED in r.text, f"escaped hostname missing on {path}"


def test_markup_in_every_agent_string_is_rejected_or_escaped(cc, enroll_node):
    c = cc()
    n = enroll_node(c, hostname="plain-host")
    evil = [
        ("agent_version", {"agent_version": '1.0"><img src=x onerror=alert(2)>'},
         '1.0"><img src=x onerror=alert(2)>', "1.0&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        ("service name", {"services": [{"name": "<b>svc</b>.service", "state": "active"}]},
         "<b>svc</b>", "&lt;b&gt;svc&lt;/b&gt;"),
        ("service state", {"services": [{"name": "a.service", "state": "<i>active</i>"}]},
         "<i>active</i>", "&lt;i&gt;active&lt;/i&gt;"),
        ("os_profile", {"os_profile": "Arch<u>x</u>"}, "Arch<u>x</u>", "Arch&lt;u&gt;x&lt;/u&gt;"),
        ("hostname with quotes", {"hostname": "h\"'><svg onload=alert(3)>"},
         "<svg onload", "&lt;svg onload=alert(3)&gt;"),
    ]
    stored = 0
    for label, kw, raw, escaped in evil:
        r = n.heartbeat(**kw)
        if r.status == 400:
            # a CC may refuse such values outright
            assert_error(r, 400, "invalid_field")
            continue
        assert r.status == 200, (label, r)
        stored += 1
        for path in ("/", f"/nodes/{n.node_id}"):
            page = c.get(path).text
            assert raw not in page, f"{label}: unescaped {raw!r} on {path}"
        page = c.get(f"/nodes/{n.node_id}").text
        assert escaped in page, f"{label}: escaped form {escaped!r} not on the node page"
    assert stored >= 1, "every markup-bearing value was refused; nothing checked escaping"
