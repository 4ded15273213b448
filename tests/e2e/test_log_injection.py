"""A request cannot forge a log line: the log writer escapes control bytes."""

import re

from conftest import wait_until

# %0A is a newline once the path is decoded: unescaped, everything after it
# would stand as a line of its own, an error the command center never had.
FORGED = ("/nodes/x%0Ats=2026-01-01T00:00:00Z%20level=error"
          "%20event=store_corrupt/approve")

# The head every line starts with: the journal's "<N>" or ts=, then level
# and event (common/log.c).
HEAD = re.compile(r"^(?:<\d>|ts=\S+ )level=(?P<level>\S+) event=(?P<event>\S+)")


def test_newline_in_a_request_path_cannot_forge_a_log_line(cc):
    # debug: the http event logs every request's path.
    c = cc(env={"VAULTMESH_LOG": "debug"})
    mark = c.mark()
    r = c.request("POST", FORGED)
    assert 400 <= r.status < 500, r

    def request_lines():
        lines = [ln for ln in c.lines_since(mark)
                 if "store_corrupt" in ln or "/nodes/x" in ln]
        # The http line is logged once the answer is queued: wait for it.
        return lines if any("status=" in ln for ln in lines) else None

    lines = wait_until(request_lines, 10, "the request's http log line")
    assert len(lines) == 1, f"one request, one log line: {lines!r}"
    line = lines[0]
    # Judge by the line's own head: the path's text after it is data.
    head = HEAD.match(line)
    assert head is not None, f"not a log line: {line!r}"
    assert head.group("level") == "debug" and head.group("event") == "http", line
    # The newline stays inside the one line, shown as the log writer's
    # escape (\n), or as log_quote's "?" where the caller quoted the path.
    assert re.search(r"/nodes/x(\\n|\?|%0A)ts=2026-01-01T00:00:00Z", line), line

    for ln in c.lines_since(mark):
        assert not re.match(r"^(<\d>)?ts=2026-01-01T00:00:00Z", ln), \
            f"forged line: {ln!r}"
        h = HEAD.match(ln)
        assert h is None or not (h.group("level") == "error" and
                                 h.group("event").startswith("store_corrupt")), \
            f"forged line: {ln!r}"
