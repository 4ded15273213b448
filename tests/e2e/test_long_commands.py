"""A command that takes a while (issue 3): killing the agent in the middle
of it never leads to a second run, and a result that is pending while the
command center is down arrives once it is back.

The long command is a real sovereign-scan whose declarative rule runs a
script that marks its start, waits for the test to let it finish, then
marks its end."""

import json
import os
import sys
import time

from conftest import wait_until

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "agent_fixtures"))
from fakecc import Agent as FakeAgent, FakeCC, wait_for  # noqa: E402

SCRIPT = """#!/bin/sh
echo run >> "$1/started"
# Runs until the test creates "$1/go" (at most ~8 s, within the rule's limit).
i=0
while [ ! -e "$1/go" ] && [ $i -lt 80 ]; do sleep 0.1; i=$((i+1)); done
echo done >> "$1/finished"
exit 0
"""


def slow_scan_tree(tmp_path):
    """A scan root whose one rule runs the slow script; returns (root, marks)."""
    root = tmp_path / "scanroot"
    rules = root / "etc/vaultmesh/scan.d"
    rules.mkdir(parents=True)
    os.chmod(root / "etc/vaultmesh/scan.d", 0o755)
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "slow.sh"
    script.write_text(SCRIPT)
    os.chmod(script, 0o755)
    rule = {"rules": [{"id": "slow.check", "severity": "info",
                       "title": "A deliberately slow check",
                       "check": {"type": "command_exit",
                                 "argv": ["/bin/sh", str(script), str(marks)],
                                 "expected_exit": 0, "timeout_secs": 20}}]}
    (rules / "slow.json").write_text(json.dumps(rule))
    os.chmod(rules / "slow.json", 0o644)
    return root, marks


def lines(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def test_result_pending_while_the_cc_is_down_arrives_after(cc, agent, tmp_path):
    root, marks = slow_scan_tree(tmp_path)
    c = cc()
    a = agent(c, env={"VAULTMESH_SCAN_ROOT": str(root),
                      "VAULTMESH_SCAN_PACKAGES": "none"})
    a.wait_heartbeat()
    nid = a.node_id()
    cid = c.post_json(f"/nodes/{nid}/commands",
                      {"command": "sovereign-scan"}).json()["command_id"]
    wait_until(lambda: lines(marks / "started"), 15, "the scan to be running")
    port = c.port
    c.stop()                                   # the CC goes away mid-command
    (marks / "go").touch()
    spooled = os.path.join(a.root, "spool", cid + ".json")
    wait_until(lambda: os.path.exists(spooled), 15, "the result in the spool")
    c.start(port=port)
    def stored():
        for x in c.get(f"/nodes/{nid}/commands").json()["commands"]:
            if x["command_id"] == cid and x["status"] == "ok":
                return x
        return None
    cmd = wait_until(stored, 15, "the spooled result at the CC")
    assert cmd["exit_code"] == 0 and isinstance(cmd["findings"], list)
    wait_until(lambda: not os.path.exists(spooled), 10, "the spool to empty")
    assert lines(marks / "started") == ["run"], "the scan ran once"


def test_agent_killed_mid_command_never_runs_it_twice(tmp_path):
    root, marks = slow_scan_tree(tmp_path)
    cc = FakeCC()
    env = {"VAULTMESH_SCAN_ROOT": str(root), "VAULTMESH_SCAN_PACKAGES": "none"}
    a = FakeAgent(tmp_path, cc.url, **env).start()
    try:
        node = a.node_id()
        cid, elem = cc.command(node, 7, command="sovereign-scan")
        cc.push(elem)
        wait_for(lambda: lines(marks / "started"), 15, "the scan to be running")
        # seq was written before the command started.
        assert a.last_seq() == 7
        a.kill9()                               # in the middle of the command
        (marks / "go").touch()
        wait_for(lambda: lines(marks / "finished"), 15, "the orphaned script to end")

        b = FakeAgent(tmp_path, cc.url, **env).start()
        cc.push(elem)                           # the same command again
        wait_for(lambda: cc.accepted_results_for(cid), 15, "the agent's answer")
        (r,) = cc.accepted_results_for(cid)
        assert r["status"] == "rejected" and r["output"].startswith("replayed_seq"), r
        assert lines(marks / "started") == ["run"], "never a second run"
        assert b.stop()[0] == 0
    finally:
        for x in (a, locals().get("b")):
            if x is not None and x.proc is not None and x.proc.poll() is None:
                x.kill9()
        cc.close()
