"""Labels on nodes (issue 18; CONTRACT.md "Operator endpoints, second set"):
PUT /nodes/<id>/labels replaces them, GET /nodes carries them, the fleet table
and the node page show them, a form edits them, every change is audited, they
survive a restart, and replicas share them."""

import json
import shutil

import pytest

from conftest import PG_BASE, assert_error, wait_until

HTML = {"Accept": "text/html"}


def put_labels(c, nid, body):
    return c.request("PUT", f"/nodes/{nid}/labels",
                     body=body if isinstance(body, str) else json.dumps(body),
                     headers={"Content-Type": "application/json"})


def test_labels_are_replaced_shown_and_audited(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    assert c.node(n.node_id)["labels"] == {}
    r = put_labels(c, n.node_id, {"labels": {"site": "ams", "role": "db"}})
    assert r.status == 200, r
    assert r.text == '{"labels":{"role":"db","site":"ams"}}'   # keys sorted
    assert c.node(n.node_id)["labels"] == {"role": "db", "site": "ams"}
    # Replaced, not merged; {} clears them.
    assert put_labels(c, n.node_id, {"labels": {"tier": "1"}}).json() == \
        {"labels": {"tier": "1"}}
    assert c.node(n.node_id)["labels"] == {"tier": "1"}
    assert put_labels(c, n.node_id, {"labels": {}}).json() == {"labels": {}}
    assert c.node(n.node_id)["labels"] == {}
    put_labels(c, n.node_id, {"labels": {"role": "web", "site": "fra-1"}})
    # The fleet table and the node page show them; the page edits them.
    page = c.get("/", headers=HTML).text
    assert '<span class="label">role=web</span>' in page
    node_page = c.get(f"/nodes/{n.node_id}", headers=HTML).text
    assert f'action="/nodes/{n.node_id}/labels"' in node_page
    assert 'value="role=web site=fra-1"' in node_page
    audit = c.json_get("/audit")["entries"]
    ok = [e for e in audit if e["action"] == "labels" and e["result"] == "ok"]
    assert len(ok) == 4 and ok[0]["target"] == n.node_id, ok


def test_a_form_sets_labels_and_answers_with_the_node_page(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    r = c.post_form(f"/nodes/{n.node_id}/labels", {"labels": "role=db, site=ams  tier=2"})
    assert r.status == 303, r
    assert r.headers["location"].endswith(f"/nodes/{n.node_id}")
    assert c.node(n.node_id)["labels"] == {"role": "db", "site": "ams", "tier": "2"}
    assert c.post_form(f"/nodes/{n.node_id}/labels", {"labels": ""}).status == 303
    assert c.node(n.node_id)["labels"] == {}
    for bad in ("role", "Role=db", "role=db role=web", "=db", "role=", "a=b=c"):
        r = c.post_form(f"/nodes/{n.node_id}/labels", {"labels": bad})
        assert r.status == 400, (bad, r)
    assert c.node(n.node_id)["labels"] == {}


@pytest.mark.parametrize("body", [
    {"labels": []},
    {"labels": "role=db"},
    {},
    {"labels": {"Role": "db"}},
    {"labels": {"role": "DB"}},
    {"labels": {"role": 1}},
    {"labels": {"role": None}},
    {"labels": {"": "db"}},
    {"labels": {"-role": "db"}},
    {"labels": {"role": "d b"}},
    {"labels": {"role": "db<script>"}},
    {"labels": {"k": "v" * 64}},
    {"labels": {"k" * 64: "v"}},
    {"labels": {f"k{i}": "v" for i in range(17)}},
    "not json",
    "[1,2]",
])
def test_bad_labels_are_400_and_change_nothing(cc, enroll_node, body):
    c = cc()
    n = enroll_node(c)
    assert put_labels(c, n.node_id, {"labels": {"keep": "me"}}).status == 200
    r = put_labels(c, n.node_id, body)
    assert r.status == 400, r
    assert r.json()["error"] in ("invalid_field", "invalid_json"), r
    assert c.node(n.node_id)["labels"] == {"keep": "me"}


def test_the_longest_labels_fit(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    labels = {f"k{i:02d}" + "x" * 60: "v" * 63 for i in range(16)}
    r = put_labels(c, n.node_id, {"labels": labels})
    assert r.status == 200, r
    assert c.node(n.node_id)["labels"] == labels


def test_labels_of_unknown_or_malformed_nodes(cc):
    c = cc()
    assert_error(put_labels(c, "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                            {"labels": {"a": "b"}}), 404, "unknown_node")
    assert_error(put_labels(c, "not-a-uuid", {"labels": {"a": "b"}}), 400)


def test_labels_survive_a_restart(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    put_labels(c, n.node_id, {"labels": {"role": "db"}})
    c.restart()
    assert c.node(n.node_id)["labels"] == {"role": "db"}


@pytest.mark.skipif(PG_BASE is None, reason="replicas share a PostgreSQL database")
def test_labels_set_on_one_replica_show_on_the_other(cc, enroll_node):
    a = cc()
    b = cc(start=False)
    b.db_path = a.db_path
    shutil.copy(a.key_path, b.key_path)
    b.start()
    n = enroll_node(a)
    assert put_labels(a, n.node_id, {"labels": {"site": "ams"}}).status == 200
    wait_until(lambda: (b.node(n.node_id) or {}).get("labels") == {"site": "ams"},
               5, "B shows the labels set on A")
