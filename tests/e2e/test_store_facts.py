"""Attention facts survive restarts: kept beside the heartbeat in the
store, and derived from the stored heartbeat for rows that predate them."""

import sqlite3

from conftest import heartbeat_body, sqlite_only


def reasons(c, nid):
    return c.node(nid)["attention"]["reasons"]


@sqlite_only("upgrades an old SQLite schema")
def test_cloudflare_and_services_facts_survive_restarts_and_upgrades(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    body = heartbeat_body(n.node_id, cloudflare="down",
                          services=[{"name": "web.service", "state": "failed"}])
    assert c.heartbeat(n.token, body).status == 200
    assert reasons(c, n.node_id)[:3] == ["cloudflare_down", "services_down",
                                          "never_scanned"]
    c.stop()
    con = sqlite3.connect(c.db_path)
    row = con.execute("SELECT hb_cloudflare, hb_services_down FROM nodes"
                      " WHERE node_id = ?", (n.node_id,)).fetchone()
    assert row == (2, 1), row          # CF_DOWN, one service down
    # A row written by an older version has no facts yet (-1).
    con.execute("UPDATE nodes SET hb_cloudflare = -1, hb_services_down = -1")
    con.commit()
    con.close()
    c.start()
    assert reasons(c, n.node_id)[:2] == ["cloudflare_down", "services_down"]
