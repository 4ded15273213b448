"""Attention in GET /nodes: reasons from stored heartbeats, in the contract's
order, with the level they imply; cloudflare state probed by the agent."""

import re

from conftest import assert_node_shape, wait_until

UP = [{"name": "alpha.service", "state": "active"}]
FAILED = [{"name": "alpha.service", "state": "active"},
          {"name": "beta.service", "state": "failed"}]


def _attention(c, n):
    node = c.node(n.node_id)
    assert_node_shape(node)
    return node["attention"]


def test_attention_reasons_follow_heartbeat_facts_in_contract_order(cc, enroll_node):
    c = cc()
    healthy = enroll_node(c, hostname="healthy")
    cf_down = enroll_node(c, hostname="cf-down")
    svc_down = enroll_node(c, hostname="svc-down")
    both = enroll_node(c, hostname="both-down")
    silent = enroll_node(c, hostname="silent")
    pending = enroll_node(c, secret=None, hostname="pending")

    assert healthy.heartbeat(cloudflare="up", services=UP).status == 200
    assert cf_down.heartbeat(cloudflare="down", services=UP).status == 200
    assert svc_down.heartbeat(cloudflare="up", services=FAILED).status == 200
    assert both.heartbeat(cloudflare="down", services=FAILED).status == 200

    assert _attention(c, healthy) == {"level": "yellow", "reasons": ["never_scanned"]}
    assert _attention(c, cf_down) == {"level": "red",
                                      "reasons": ["cloudflare_down", "never_scanned"]}
    assert _attention(c, svc_down) == {"level": "red",
                                       "reasons": ["services_down", "never_scanned"]}
    assert _attention(c, both) == {
        "level": "red", "reasons": ["cloudflare_down", "services_down", "never_scanned"]}
    # enrolled but never heard from / pending: no heartbeat counts as stale
    for n in (silent, pending):
        att = _attention(c, n)
        assert att["level"] == "red"
        assert att["reasons"][0] == "heartbeat_stale", att

    # a recovered node loses its reasons at the next heartbeat
    assert both.heartbeat(cloudflare="up", services=UP).status == 200
    assert _attention(c, both) == {"level": "yellow", "reasons": ["never_scanned"]}


def test_agent_does_not_believe_a_ready_endpoint_nothing_vouches_for(cc, agent,
                                                                     ready_server):
    # Any local user can answer /ready on a free port; without
    # cloudflared.service owning that socket the agent says "unknown" (not
    # "down" either: a stranger must not turn a node red) and does not ask.
    c = cc()
    for status in (200, 503):
        srv = ready_server(status=status)
        a = agent(c, env={"VAULTMESH_CLOUDFLARED_METRICS": srv.addr},
                  name=f"agent-{status}")
        n = a.wait_heartbeat()
        assert n["heartbeat"]["cloudflare"] == "unknown"
        assert "cloudflare_down" not in n["attention"]["reasons"]
        assert srv.hits == 0


def _count_shown(page, level, expected):
    """True if the page shows `expected` next to the level name (either
    order, markup in between allowed), e.g. "2 red" or "Red<b>2</b>"."""
    tag = r"(?:\s|<[^>]*>)*"
    pats = [rf"\b{expected}{tag}{level}\b", rf"\b{level}{tag}:?{tag}{expected}\b"]
    return any(re.search(p, page, re.I) for p in pats)


def test_dashboard_counts_nodes_by_attention_level(cc, enroll_node):
    c = cc()
    reds = [enroll_node(c, hostname=f"red-{i}") for i in range(3)]
    for n in reds:
        assert n.heartbeat(cloudflare="down", services=UP).status == 200
    yellows = [enroll_node(c, hostname=f"yellow-{i}") for i in range(2)]
    for n in yellows:
        assert n.heartbeat(cloudflare="up", services=UP).status == 200
    levels = [n["attention"]["level"] for n in c.nodes_list()]
    assert sorted(levels) == ["red"] * 3 + ["yellow"] * 2

    page = c.get("/").text
    assert _count_shown(page, "red", 3), "dashboard does not show 3 red"
    assert _count_shown(page, "yellow", 2), "dashboard does not show 2 yellow"
    assert _count_shown(page, "green", 0), "dashboard does not show 0 green"
    for n in reds + yellows:
        assert n.hostname in page
        assert f"/nodes/{n.node_id}" in page
    assert "cloudflare_down" in page or "cloudflare down" in page.lower()
