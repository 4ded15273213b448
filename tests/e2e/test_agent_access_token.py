"""The agent passes an Access-protected hostname with a Cloudflare Access
service token (issue 6): CF-Access-Client-Id and -Secret on every request,
never in its logs or its environment."""
import os
import subprocess
import sys

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "agent_fixtures"))
from fakecc import AGENT_BIN, Agent, FakeCC, wait_for  # noqa: E402

CID = "0123456789abcdef.access"
CSECRET = "s3cr3t-0123456789abcdef0123456789abcdef"


@pytest.fixture
def cc():
    c = FakeCC()
    yield c
    c.close()


def test_service_token_headers_go_with_every_request(tmp_path, cc):
    a = Agent(tmp_path, cc.url, VAULTMESH_CF_ACCESS_CLIENT_ID=CID,
              VAULTMESH_CF_ACCESS_CLIENT_SECRET=CSECRET).start()
    try:
        wait_for(lambda: len(cc.heartbeats) >= 2, 10, "two heartbeats")
        for headers, _ in cc.heartbeats[:2]:
            h = {k.lower(): v for k, v in headers.items()}
            assert h["cf-access-client-id"] == CID
            assert h["cf-access-client-secret"] == CSECRET
        # Not in the environment of the running agent, not in its log.
        with open(f"/proc/{a.proc.pid}/environ", "rb") as f:
            assert CSECRET.encode() not in f.read()
        assert a.stop()[0] == 0
        assert CSECRET not in a.log()
    finally:
        if a.proc.poll() is None:
            a.kill9()


@pytest.mark.parametrize("env,var", [
    ({"VAULTMESH_CF_ACCESS_CLIENT_ID": CID}, "VAULTMESH_CF_ACCESS_CLIENT_SECRET"),
    ({"VAULTMESH_CF_ACCESS_CLIENT_SECRET": CSECRET}, "VAULTMESH_CF_ACCESS_CLIENT_ID"),
    ({"VAULTMESH_CF_ACCESS_CLIENT_ID": "id\r\nX-Evil: 1",
      "VAULTMESH_CF_ACCESS_CLIENT_SECRET": CSECRET}, "VAULTMESH_CF_ACCESS_CLIENT_ID"),
])
def test_half_or_unsafe_service_token_is_a_config_error(tmp_path, env, var):
    e = {"PATH": "/usr/bin:/bin", "VAULTMESH_ROOT": str(tmp_path / "r")}
    e.update(env)
    out = subprocess.run([AGENT_BIN], env=e, capture_output=True, text=True,
                         timeout=5)
    assert out.returncode == 2
    assert var in out.stderr and len(out.stderr.strip().splitlines()) == 1
