-- Pipelined load for wrk: each write carries DEPTH requests for the URL's
-- path (default 16), sent back to back without waiting for responses.
-- wrk counts responses, so "requests" in its summary are requests served.
--
--   wrk -t1 -c64 -d10s --latency -s bench/wrk/pipeline.lua http://127.0.0.1:PORT/plaintext
--   wrk ... -s bench/wrk/pipeline.lua URL -- 8     (another depth)

local depth = 16
local batch

function init(args)
  depth = tonumber(args[1]) or depth
  local parts = {}
  for i = 1, depth do
    parts[i] = wrk.format("GET", wrk.path)
  end
  batch = table.concat(parts)
end

function request()
  return batch
end
