"""GET /metrics in the Prometheus text format (issue 7): checked by
promtool and scraped by a real Prometheus when it is installed."""

import os
import shutil
import subprocess
import time
import urllib.request
import json

from conftest import PG_BASE, free_port, wait_until

import pytest


def metric(text, name, labels=""):
    for ln in text.splitlines():
        if ln.startswith(name + labels + " ") or (not labels and ln.startswith(name + " ")):
            return float(ln.split()[-1])
    return None


def test_metrics_count_what_happened(cc, enroll_node):
    c = cc()
    a = enroll_node(c)
    enroll_node(c, secret=None)
    enroll_node(c, secret="wrong")
    a.heartbeat()
    a.heartbeat()
    assert c.heartbeat("bad-token", {}).status == 401
    c.post_json(f"/nodes/{a.node_id}/commands", {"command": "agent-info"})
    r = c.get("/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    t = r.text
    assert metric(t, "vaultmesh_nodes", '{status="approved"}') == 1
    assert metric(t, "vaultmesh_nodes", '{status="pending"}') == 2
    assert metric(t, "vaultmesh_heartbeats_total") == 2
    assert metric(t, "vaultmesh_heartbeats_refused_total") == 1
    assert metric(t, "vaultmesh_enrollments_total", '{outcome="approved"}') == 1
    assert metric(t, "vaultmesh_enrollments_total", '{outcome="pending"}') == 2
    assert metric(t, "vaultmesh_enroll_bad_secret_total") == 1
    assert metric(t, "vaultmesh_commands", '{command="agent-info",status="queued"}') == 1
    assert metric(t, "vaultmesh_longpolls_waiting") == 0
    assert metric(t, "vaultmesh_store_write_seconds_count") >= 4
    backend = "sqlite" if PG_BASE is None else "postgresql"
    assert metric(t, "vaultmesh_store_up", f'{{backend="{backend}"}}') == 1
    assert metric(t, "vaultmesh_nodes_attention", '{level="red"}') == 2
    assert metric(t, "vaultmesh_nodes_attention", '{level="yellow"}') == 1


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_the_metrics(cc, enroll_node):
    c = cc()
    n = enroll_node(c)
    n.heartbeat()
    text = c.get("/metrics").body
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed")
def test_a_real_prometheus_scrapes_the_command_center(cc, enroll_node, tmp_path):
    c = cc()
    enroll_node(c).heartbeat()
    port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: vaultmesh\n    static_configs: [{{targets: ['127.0.0.1:{c.port}']}}]\n")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def scraped():
            url = (f"http://127.0.0.1:{port}/api/v1/query?query="
                   "vaultmesh_heartbeats_total")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    res = json.loads(r.read())["data"]["result"]
            except OSError:
                return None
            return res[0]["value"][1] if res else None
        v = wait_until(scraped, 30, "Prometheus to scrape the command center")
        assert float(v) == 1
    finally:
        proc.terminate()
        proc.wait(10)
