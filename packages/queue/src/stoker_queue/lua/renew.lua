-- renew: extend the leases a worker holds, and tell it which of its jobs were asked to cancel.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      lease length ms
-- ARGV[3..]    pairs: job id, lease token
-- Returns one code per pair: 0 lease lost, 1 renewed, 2 renewed and cancel requested.
-- Invariant: only the current claim (same token, still running) moves a deadline.
local now = clock(ARGV[1])
local lease_ms = tonumber(ARGV[2])
local out = {}
for a = 3, #ARGV, 2 do
  local id, token = ARGV[a], ARGV[a + 1]
  local st = load_state(id)
  if holds_lease(st, token) then
    redis.call('ZADD', K_LEASES, now + lease_ms, id)
    out[#out + 1] = st.cancel_requested and 2 or 1
  else
    out[#out + 1] = 0
  end
end
return out
