-- wrk script: POST contract-shaped heartbeats (shared/spec/CONTRACT.md) for the enrolled
-- nodes of a tokens file ("node_id token" per line, written by `vm-load enroll`), each with
-- its own `Authorization: Bearer` token. The body has the same shape and size as
-- shared/anchors/heartbeat.lua's, so the project and the anchors parse the same bytes.
--   wrk -t1 -c64 -d10s -s heartbeat-tokens.lua URL -- TOKENS [COUNT] [UPTIME]
-- COUNT: use the first COUNT nodes (default 10000); UPTIME: the uptime_secs sent.
local ids, toks, n, count, uptime = {}, {}, 0, 0, 12345

function init(args)
  local path = args[1] or os.getenv("VM_TOKENS")
  local want = tonumber(args[2] or "10000")
  uptime = tonumber(args[3] or "12345")
  local f = assert(io.open(path, "r"), "cannot open tokens file " .. tostring(path))
  for line in f:lines() do
    local id, tok = line:match("^(%S+)%s+(%S+)$")
    if id then
      count = count + 1
      ids[count], toks[count] = id, tok
      if count == want then break end
    end
  end
  f:close()
  assert(count > 0, "no tokens in " .. path)
end

request = function()
  local i = n % count
  n = n + 1
  local id = ids[i + 1]
  local body = '{"node_id":"' .. id .. '","hostname":"node-' .. i .. '","os_profile":"BenchNode",'
    .. '"agent_version":"1.0.0","uptime_secs":' .. uptime .. ',"load1":0.42,"mem_used_pct":41.5,'
    .. '"root_disk_used_pct":12.5,"cloudflare":"up","services":[{"name":"cloudflared.service",'
    .. '"state":"active"},{"name":"vaultmesh-node-agent.service","state":"active"}],'
    .. '"sent_at":"2026-11-27T10:00:00Z"}'
  return wrk.format("POST", "/api/agent/heartbeat",
    {["Content-Type"]="application/json", ["Authorization"]="Bearer " .. toks[i + 1]}, body)
end
