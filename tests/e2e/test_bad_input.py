"""Hostile and malformed input: each gets the right 4xx with the contract's
JSON error shape, and nothing stored changes (GET /nodes before == after)."""

import json
import uuid

import pytest

from conftest import DELETE, HEARTBEAT_FIELDS, assert_error

INVALID = "invalid_field"
BAD_JSON = "invalid_json"
NOT_OBJECT = {"invalid_json", "invalid_field"}


@pytest.fixture
def fleet(cc, enroll_node):
    """A CC with one heartbeating node `n` and a pending node."""
    c = cc()
    n = enroll_node(c, hostname="steady")
    assert n.heartbeat().status == 200
    enroll_node(c, secret=None, hostname="waiting")
    return c, n


def run_cases(c, cases):
    """cases: (label, send() -> Response, status, code, field-or-None).
    Returns a list of mismatch descriptions; asserts nothing changed."""
    before = c.nodes()
    failures = []
    for label, send, status, code, field in cases:
        try:
            r = send()
            doc = assert_error(r, status, code)
            if field is not None:
                assert field in doc["message"], \
                    f"message {doc['message']!r} does not name {field!r}"
        except AssertionError as e:
            failures.append(f"{label}: {e}".splitlines()[0])
        after = c.nodes()
        if after != before:
            failures.append(f"{label}: GET /nodes changed")
            before = after
    return failures


def _hb(c, n, body):
    return lambda: c.post_json("/api/agent/heartbeat", body, token=n.token)


def test_heartbeat_malformed_bodies_give_400_or_413_and_change_nothing(fleet):
    c, n = fleet
    good = json.dumps(n.body())
    hdr = {"Content-Type": "application/json", "Authorization": f"Bearer {n.token}"}

    def raw_body(b):
        return lambda: c.request("POST", "/api/agent/heartbeat", body=b, headers=hdr)

    cases = [
        ("malformed JSON", raw_body(good[:-5]), 400, BAD_JSON, None),
        ("trailing garbage", raw_body(good + "}"), 400, BAD_JSON, None),
        ("not JSON at all", raw_body(b"hello"), 400, BAD_JSON, None),
        ("empty body", raw_body(b""), 400, BAD_JSON, None),
        ("non-UTF-8 bytes", raw_body(good.replace(n.hostname, "XX").encode()
                                     .replace(b"XX", b"\xff\xfe\xc3")),
         400, {"invalid_json", "invalid_field"}, None),
        ("JSON array", raw_body(json.dumps([n.body()])), 400, NOT_OBJECT, None),
        ("JSON string", raw_body(b'"heartbeat"'), 400, NOT_OBJECT, None),
        ("JSON null", raw_body(b"null"), 400, NOT_OBJECT, None),
    ]
    failures = run_cases(c, cases)
    assert not failures, "\n".join(failures)


def test_heartbeat_missing_each_required_field_is_400_naming_it(fleet):
    c, n = fleet
    cases = [(f"missing {f}", _hb(c, n, n.body(**{f: DELETE})), 400, INVALID, f)
             for f in HEARTBEAT_FIELDS]
    failures = run_cases(c, cases)
    assert not failures, "\n".join(failures)


def test_heartbeat_wrong_uuid_forms_are_400_and_change_nothing(fleet):
    c, n = fleet
    nid = n.node_id
    bad_ids = {
        "uppercase": nid.upper(),
        "too short": nid[:-1],
        "too long": nid + "0",
        "not hex": "g" + nid[1:],
        "no dashes": nid.replace("-", ""),
        "braces": "{" + nid + "}",
        "empty": "",
        "spaces": " " + nid,
    }
    cases = [(f"node_id {k}", _hb(c, n, n.body(node_id=v)), 400, INVALID, "node_id")
             for k, v in bad_ids.items()]
    failures = run_cases(c, cases)
    assert not failures, "\n".join(failures)


def test_heartbeat_wrong_types_and_out_of_range_values_are_400(fleet):
    c, n = fleet
    bad = [
        ("load1 as string", {"load1": "0.5"}, "load1"),
        ("hostname as number", {"hostname": 42}, "hostname"),
        ("uptime_secs as string", {"uptime_secs": "100"}, "uptime_secs"),
        ("mem_used_pct as string", {"mem_used_pct": "50"}, "mem_used_pct"),
        ("root_disk_used_pct as array", {"root_disk_used_pct": [1]}, "root_disk_used_pct"),
        ("os_profile as object", {"os_profile": {"a": 1}}, "os_profile"),
        ("agent_version as bool", {"agent_version": True}, "agent_version"),
        ("services not an array", {"services": {"name": "x", "state": "active"}}, "services"),
        ("services as string", {"services": "alpha.service"}, "services"),
        ("service without name", {"services": [{"state": "active"}]}, "name"),
        ("service name as number", {"services": [{"name": 7, "state": "active"}]}, "name"),
        ("service not an object", {"services": ["alpha.service"]}, "services"),
        ("service state as number", {"services": [{"name": "a.service", "state": 1}]}, "state"),
        ("mem_used_pct 150", {"mem_used_pct": 150}, "mem_used_pct"),
        ("mem_used_pct negative", {"mem_used_pct": -1}, "mem_used_pct"),
        ("root_disk_used_pct 101", {"root_disk_used_pct": 101}, "root_disk_used_pct"),
        ("negative uptime", {"uptime_secs": -5}, "uptime_secs"),
        ("negative load1", {"load1": -0.5}, "load1"),
        ("cloudflare not in enum", {"cloudflare": "sideways"}, "cloudflare"),
        ("cloudflare uppercase", {"cloudflare": "UP"}, "cloudflare"),
        ("cloudflare as bool", {"cloudflare": True}, "cloudflare"),
        ("sent_at not RFC 3339", {"sent_at": "yesterday"}, "sent_at"),
        ("sent_at as number", {"sent_at": 1700000000}, "sent_at"),
        ("empty hostname", {"hostname": ""}, "hostname"),
        ("hostname of 5000 chars", {"hostname": "h" * 5000}, "hostname"),
    ]
    cases = [(label, _hb(c, n, n.body(**kw)), 400, INVALID, field)
             for label, kw, field in bad]
    failures = run_cases(c, cases)
    assert not failures, "\n".join(failures)


def test_heartbeat_oversized_body_or_huge_content_length_is_413(fleet):
    c, n = fleet
    big = n.body(padding="x" * (70 * 1024))
    hdr_auth = f"Authorization: Bearer {n.token}\r\n"

    def huge_content_length():
        req = ("POST /api/agent/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Type: application/json\r\n" + hdr_auth +
               "Content-Length: 1000000000000\r\nConnection: close\r\n\r\n{\"a\":")
        return c.raw(req.encode(), timeout=5)

    def oversized_raw():
        body = json.dumps(big).encode()
        req = ("POST /api/agent/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Type: application/json\r\n" + hdr_auth +
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        return c.raw(req, timeout=5)

    def oversized_chunked():
        body = json.dumps(big).encode()
        chunks = b"".join(b"%x\r\n" % len(body[i:i + 8192]) + body[i:i + 8192] + b"\r\n"
                          for i in range(0, len(body), 8192)) + b"0\r\n\r\n"
        req = ("POST /api/agent/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Type: application/json\r\n" + hdr_auth +
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + chunks
        return c.raw(req, timeout=5)

    cases = [
        ("body over 64 KiB", oversized_raw, 413, "body_too_large", None),
        ("chunked body over 64 KiB", oversized_chunked, 413, "body_too_large", None),
        ("Content-Length 10^12 with a short body", huge_content_length, 413,
         "body_too_large", None),
    ]
    failures = run_cases(c, cases)
    assert not failures, "\n".join(failures)
    # still serving, and a normal heartbeat still works
    assert n.heartbeat().status == 200


def test_enroll_bad_inputs_give_400_and_add_no_node(fleet):
    c, n = fleet
    nid = str(uuid.uuid4())
    good = {"node_id": nid, "hostname": "h", "os_profile": "ArchVault",
            "agent_version": "1", "enroll_secret": "x"}

    def enroll(body):
        return lambda: c.post_json("/api/agent/enroll", body)

    def without(k):
        return {f: v for f, v in good.items() if f != k}

    cases = [
        ("enroll malformed JSON", enroll(json.dumps(good)[:-3]), 400, BAD_JSON, None),
        ("enroll empty body", enroll(b""), 400, BAD_JSON, None),
        ("enroll JSON array", enroll(json.dumps([good])), 400, NOT_OBJECT, None),
        ("enroll uppercase node_id", enroll(dict(good, node_id=nid.upper())), 400, INVALID, "node_id"),
        ("enroll short node_id", enroll(dict(good, node_id=nid[:30])), 400, INVALID, "node_id"),
        ("enroll non-hex node_id", enroll(dict(good, node_id="z" + nid[1:])), 400, INVALID, "node_id"),
        ("enroll numeric node_id", enroll(dict(good, node_id=123)), 400, INVALID, "node_id"),
        ("enroll without node_id", enroll(without("node_id")), 400, INVALID, "node_id"),
        ("enroll without hostname", enroll(without("hostname")), 400, INVALID, "hostname"),
        ("enroll without os_profile", enroll(without("os_profile")), 400, INVALID, "os_profile"),
        ("enroll hostname as number", enroll(dict(good, hostname=5)), 400, INVALID, "hostname"),
        ("enroll secret as number", enroll(dict(good, enroll_secret=5)), 400, INVALID,
         "enroll_secret"),
    ]
    failures = run_cases(c, cases)
    assert not failures, "\n".join(failures)
    assert nid not in c.nodes()


def test_operator_and_unknown_routes_give_400_404_405_json_errors(fleet):
    c, n = fleet

    def get(path):
        return lambda: c.get(path)

    def req(method, path):
        return lambda: c.request(method, path, body=b"" if method != "GET" else None)

    unknown = str(uuid.uuid4())
    cases = [
        ("GET /nodes/not-a-uuid", get("/nodes/not-a-uuid"), 400, None, None),
        ("GET /nodes/<unknown uuid>", get(f"/nodes/{unknown}"), 404, None, None),
        ("GET /nope", get("/nope"), 404, "not_found", None),
        ("GET /api/agent/nope", get("/api/agent/nope"), 404, "not_found", None),
        ("GET /nodes/<uuid>/extra", get(f"/nodes/{n.node_id}/extra"), 404, "not_found", None),
        ("DELETE /nodes", req("DELETE", "/nodes"), 405, "method_not_allowed", None),
        ("POST /", req("POST", "/"), 405, "method_not_allowed", None),
        ("GET /api/agent/heartbeat", get("/api/agent/heartbeat"), 405, "method_not_allowed", None),
        ("GET /api/agent/enroll", get("/api/agent/enroll"), 405, "method_not_allowed", None),
        ("PUT /api/agent/heartbeat", req("PUT", "/api/agent/heartbeat"), 405,
         "method_not_allowed", None),
        ("GET /nodes/<uuid>/approve", get(f"/nodes/{n.node_id}/approve"), 405,
         "method_not_allowed", None),
    ]
    failures = run_cases(c, cases)
    assert not failures, "\n".join(failures)
