"""The node agent's side of signed commands (issue 3), against a fake CC
that signs with a key the test owns: verification, rejection, exactly-once
execution across a crash, and result spooling across outages."""
import base64
import json
import os
import signal
import stat
import sys
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.dont_write_bytecode = True     # no __pycache__ in the fixtures folder
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "agent_fixtures"))
from fakecc import Agent, FakeCC, wait_for, agents, cc  # noqa: E402,F401

FIXTURES = os.path.join(os.path.dirname(__file__), "agent_fixtures")


def start(agents, tmp_path, cc, **env):
    a = Agent(tmp_path, cc.url, **env).start()
    agents.append(a)
    wait_for(lambda: cc.polls_open >= 1, 10, "the agent's long poll")
    return a


def result(cc, cid, timeout=10):
    return wait_for(lambda: (cc.results_for(cid) or [None])[0], timeout,
                    "result of " + cid)


def test_valid_command_runs_and_reports_ok(tmp_path, cc, agents):
    a = start(agents, tmp_path, cc, VAULTMESH_ENROLL_SECRET="hush-1234",
              VAULTMESH_SERVICES="nginx.service")
    node = a.node_id()
    t0 = time.monotonic()
    cid, cmd = cc.command(node, 7, "agent-info")
    cc.push(cmd)
    r = result(cc, cid)
    print("\nagent-info: queued to result in %.0f ms" %
          ((time.monotonic() - t0) * 1000))
    assert r["status"] == "ok" and r["exit_code"] == 0
    assert r["node_id"] == node
    info = json.loads(r["output"])
    assert info["agent_version"] == "0.1.0"
    assert info["node_id"] == node
    assert info["last_seq"] == 7
    assert info["config"]["services"] == ["nginx.service"]
    assert info["config"]["enroll_secret_set"] is True
    assert "hush-1234" not in r["output"] and cc.token not in r["output"]
    assert "findings" not in r
    for k in ("started_at", "finished_at"):
        assert r[k].endswith("Z")
    assert a.last_seq() == 7
    assert stat.S_IMODE(os.stat(os.path.join(a.root, "last_seq")).st_mode) \
        == 0o600
    wait_for(lambda: a.spool() == [], 5, "spool emptied after 200")
    assert a.stop()[0] == 0


def tamper(elem):
    payload = json.loads(base64.b64decode(elem["payload"]))
    payload["command"] = "service-restart"
    payload["args"] = {"unit": "ssh.service"}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return {"payload": base64.b64encode(raw).decode(),
            "signature": elem["signature"]}


def test_every_invalid_command_is_rejected_and_nothing_runs(
        tmp_path, cc, agents):
    a = start(agents, tmp_path, cc, VAULTMESH_SERVICES="nginx.service")
    node = a.node_id()
    other_key = Ed25519PrivateKey.generate()

    # First a valid command, so there is an accepted seq to replay.
    ok_id, ok_cmd = cc.command(node, 10)
    cc.push(ok_cmd)
    assert result(cc, ok_id)["status"] == "ok"
    assert a.last_seq() == 10

    cases = []

    def case(name, reason, elem_or_pair):
        cid, elem = elem_or_pair
        cases.append((name, reason, cid, elem))

    case("forged", "bad_signature", cc.command(node, 11, key=other_key))
    cid, elem = cc.command(node, 12)
    case("tampered", "bad_signature", (cid, tamper(elem)))
    case("replayed", "replayed_seq", (ok_id, ok_cmd))
    case("replayed_new_id", "replayed_seq", cc.command(node, 10))
    case("older_seq", "replayed_seq", cc.command(node, 9))
    case("expired", "expired", cc.command(node, 13, expires_in=-5))
    case("other_node", "wrong_node",
         cc.command("00000000-0000-4000-8000-000000000001", 14))
    case("unknown", "unknown_command", cc.command(node, 15, "rm-rf"))
    case("bad_args", "invalid_args",
         cc.command(node, 16, "service-status", {"unit": "../../x"}))
    case("extra_args", "invalid_args",
         cc.command(node, 17, "agent-info", {"x": 1}))
    case("too_many_lines", "invalid_args",
         cc.command(node, 18, "journal-tail",
                    {"unit": "nginx.service", "lines": 501}))
    case("unit_not_listed", "unit_not_allowed",
         cc.command(node, 19, "service-restart", {"unit": "ssh.service"}))

    for name, reason, cid, elem in cases:
        n_before = len(cc.results_for(cid))
        cc.push(elem)
        r = wait_for(lambda: cc.results_for(cid)[n_before:], 10,
                     "report for " + name)[0]
        assert r["status"] == "rejected", name
        assert r["output"].startswith(reason), (name, r["output"])
        assert r["exit_code"] == -1
        assert a.last_seq() == 10, name + " must not advance last_seq"

    # Out of order within one batch: 21 runs, 20 is then a replay.
    id21, c21 = cc.command(node, 21)
    id20, c20 = cc.command(node, 20)
    cc.push(c21, c20)
    assert result(cc, id21)["status"] == "ok"
    assert result(cc, id20)["status"] == "rejected"
    assert result(cc, id20)["output"].startswith("replayed_seq")
    assert a.last_seq() == 21
    # Exactly one ok per accepted command.
    oks = [b for (_, b) in cc.results if b["status"] == "ok"]
    assert sorted(b["command_id"] for b in oks) == sorted([ok_id, id21])
    assert a.stop()[0] == 0


def test_unreadable_command_without_id_is_dropped_not_run(
        tmp_path, cc, agents):
    a = start(agents, tmp_path, cc)
    cc.push({"payload": base64.b64encode(b"not json").decode(),
             "signature": base64.b64encode(b"\0" * 64).decode()},
            {"payload": 5})
    wait_for(lambda: a.log().count("event=command_dropped") >= 2, 10,
             "dropped logs")
    assert cc.results == []
    assert a.last_seq() == 0
    assert a.stop()[0] == 0


def test_cc_pubkey_override_replaces_pinned_key(tmp_path, cc, agents):
    own = Ed25519PrivateKey.generate()
    from fakecc import raw_public
    a = start(agents, tmp_path, cc,
              VAULTMESH_CC_PUBKEY=base64.b64encode(raw_public(own)).decode())
    node = a.node_id()
    cid, elem = cc.command(node, 1)                 # the CC's (pinned) key
    cc.push(elem)
    assert result(cc, cid)["status"] == "rejected"
    cid, elem = cc.command(node, 2, key=own)        # the override key
    cc.push(elem)
    assert result(cc, cid)["status"] == "ok"
    assert a.stop()[0] == 0


def test_sovereign_scan_reports_findings_from_fixture_tree(
        tmp_path, cc, agents):
    a = start(agents, tmp_path, cc,
              VAULTMESH_SCAN_ROOT=os.path.join(FIXTURES, "scan-bad"))
    node = a.node_id()
    os.chmod(os.path.join(a.root, "node_token"), 0o644)
    cid, elem = cc.command(node, 1, "sovereign-scan")
    cc.push(elem)
    r = result(cc, cid)
    assert r["status"] == "ok", r
    by_id = {f["id"]: f for f in r["findings"]}
    assert by_id["ssh.permit_root_login"]["severity"] == "critical"
    assert "sshd_config.d/10-root.conf:2" in \
        by_id["ssh.permit_root_login"]["detail"]
    assert by_id["agent.token_exposed"]["severity"] == "high"
    assert "ssh.password_authentication" not in by_id
    for f in r["findings"]:
        assert set(f) == {"id", "severity", "title", "detail", "remediation"}
        assert f["severity"] in ("critical", "high", "medium", "low", "info")

    os.chmod(os.path.join(a.root, "node_token"), 0o600)
    a.env["VAULTMESH_SCAN_ROOT"] = os.path.join(FIXTURES, "scan-good")
    assert a.stop()[0] == 0
    a.start()
    wait_for(lambda: cc.polls_open >= 1, 10, "poll after restart")
    cid, elem = cc.command(node, 2, "sovereign-scan")
    cc.push(elem)
    r = result(cc, cid)
    # Only "info" remains: what this machine cannot show (no systemd, no
    # package database in the fixture tree).
    assert r["status"] == "ok", r
    assert [f for f in r["findings"] if f["severity"] != "info"] == [], r
    assert a.stop()[0] == 0


def test_service_status_without_system_bus_is_an_error(tmp_path, cc, agents):
    if os.path.exists("/run/dbus/system_bus_socket"):
        pytest.skip("a system bus exists here")
    a = start(agents, tmp_path, cc)
    cid, elem = cc.command(a.node_id(), 1, "service-status",
                           {"unit": "ssh.service"})
    cc.push(elem)
    r = result(cc, cid)
    assert r["status"] == "error" and r["exit_code"] == 1
    assert "no system bus" in r["output"]
    assert a.stop()[0] == 0


def test_kill9_before_result_delivered_never_runs_twice(tmp_path, cc, agents):
    cc.result_status = "hang"       # the CC holds the result request open
    a = start(agents, tmp_path, cc)
    node = a.node_id()
    cid, elem = cc.command(node, 5)
    cc.push(elem)
    wait_for(lambda: cc.hung >= 1, 10, "result request in flight")
    # The command ran: its seq is persisted and its result spooled.
    assert a.last_seq() == 5
    assert a.spool() == [cid + ".json"]
    a.kill9()

    with cc.cond:
        cc.result_status = 200
        cc.cond.notify_all()
    b = start(agents, tmp_path, cc)
    # The spooled result arrives after the restart...
    wait_for(lambda: cc.accepted_results_for(cid), 10, "spooled result")
    # Once the agent has let go of it (the spool is empty: a command offered
    # while its result still waits there is answered with that result)...
    wait_for(lambda: b.spool() == [], 10, "the spool emptied")
    # ...the same command delivered again is a replay, not a second run.
    cc.push(elem)
    wait_for(lambda: len(cc.accepted_results_for(cid)) >= 2, 10, "replay report")
    statuses = [r["status"] for r in cc.accepted_results_for(cid)]
    assert statuses == ["ok", "rejected"], statuses
    assert cc.accepted_results_for(cid)[1]["output"].startswith("replayed_seq")
    assert b.last_seq() == 5
    assert b.stop()[0] == 0


def test_result_survives_cc_outage_and_agent_restart(tmp_path, cc, agents):
    cc.result_status = 503
    a = start(agents, tmp_path, cc)
    node = a.node_id()
    cid, elem = cc.command(node, 1)
    cc.push(elem)
    wait_for(lambda: cc.results_for(cid), 10, "a first delivery attempt")
    assert a.spool() == [cid + ".json"]
    st = os.stat(os.path.join(a.root, "spool", cid + ".json"))
    assert stat.S_IMODE(st.st_mode) == 0o600
    # More heartbeats retry it (and fail) while the CC is sick.
    wait_for(lambda: len(cc.results_for(cid)) >= 2, 10, "a retry")
    assert a.stop()[0] == 0
    assert a.spool() == [cid + ".json"]

    b = start(agents, tmp_path, cc)
    n = len(cc.results_for(cid))
    wait_for(lambda: len(cc.results_for(cid)) > n, 10, "retry after restart")
    cc.result_status = 200
    wait_for(lambda: cc.accepted_results_for(cid), 10, "delivery")
    wait_for(lambda: b.spool() == [], 5, "spool emptied")
    # Give the agent a few more heartbeats: nothing is sent again.
    hb = cc.heartbeat_count()
    wait_for(lambda: cc.heartbeat_count() >= hb + 3, 10, "three heartbeats")
    assert len(cc.accepted_results_for(cid)) == 1
    r = cc.accepted_results_for(cid)[0]
    assert r["status"] == "ok"
    assert b.stop()[0] == 0


def test_result_refused_for_good_is_dropped(tmp_path, cc, agents):
    cc.result_status = 404
    a = start(agents, tmp_path, cc)
    cid, elem = cc.command(a.node_id(), 1)
    cc.push(elem)
    wait_for(lambda: "event=result_dropped" in a.log(), 10, "dropped log")
    wait_for(lambda: a.spool() == [], 5, "spool emptied")
    assert len(cc.results_for(cid)) == 1
    assert a.stop()[0] == 0


def test_sigterm_while_polling_and_idle_is_prompt(tmp_path, cc, agents):
    a = start(agents, tmp_path, cc)
    cid, elem = cc.command(a.node_id(), 1)
    cc.push(elem)
    result(cc, cid)
    wait_for(lambda: cc.polls_open >= 1, 10, "poll open again")
    rc, secs = a.stop()
    assert rc == 0 and secs < 1.5


def test_journal_tail_runs_journalctl_without_a_shell(tmp_path, cc, agents):
    a = start(agents, tmp_path, cc)
    cid, elem = cc.command(a.node_id(), 1, "journal-tail",
                           {"unit": "ssh.service", "lines": 5})
    cc.push(elem)
    r = result(cc, cid)
    if os.path.exists("/usr/bin/journalctl") or os.path.exists("/bin/journalctl"):
        # journalctl ran: its own status and text (maybe "-- No entries --").
        assert r["status"] in ("ok", "error")
        assert r["output"].strip()
        assert "not found" not in r["output"]
    else:
        assert r["status"] == "error"
        assert "journalctl not found" in r["output"]
    assert a.stop()[0] == 0


def test_command_delivered_again_before_its_result_got_through_is_not_rerun_or_rejected(
        tmp_path, cc, agents):
    """A CC that stops while sending a poll answer cannot know the agent got
    it, and queues the command again. The agent, which ran it and holds its
    result in the spool, neither runs it twice nor rejects it as a replay
    (that would replace the real result): it sends the spooled result."""
    cc.result_status = 503
    a = start(agents, tmp_path, cc)
    cid, elem = cc.command(a.node_id(), 1)
    cc.push(elem)
    wait_for(lambda: cc.results_for(cid), 10, "a first delivery attempt")
    assert a.spool() == [cid + ".json"]
    cc.push(elem)                   # the same signed command, seq 1 again
    wait_for(lambda: "event=command_redelivered command_id=" + cid in a.log(),
             10, "the agent to recognise the re-delivery")
    cc.result_status = 200
    wait_for(lambda: cc.accepted_results_for(cid), 10, "the spooled result")
    wait_for(lambda: a.spool() == [], 5, "spool emptied")
    assert [r["status"] for r in cc.results_for(cid)].count("rejected") == 0
    assert [r["status"] for r in cc.accepted_results_for(cid)] == ["ok"]
    assert a.log().count("event=command_accepted command_id=" + cid) == 1
    # Once the result is acknowledged, the same command again is a replay.
    cc.push(elem)
    wait_for(lambda: [r for r in cc.results_for(cid) if r["status"] == "rejected"],
             10, "the replay to be rejected")
    assert a.log().count("event=command_accepted command_id=" + cid) == 1
    assert a.stop()[0] == 0
