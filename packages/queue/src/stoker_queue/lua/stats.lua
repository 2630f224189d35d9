-- stats: a consistent snapshot of one queue's counts.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- Returns {now, waiting high, normal, low, scheduled, running, dead, paused (0/1),
--          enqueue time ms of the oldest waiting job (-1: none)}.
local now = clock(ARGV[1])
local oldest = -1
for _, priority in ipairs(PRIORITY_ORDER) do
  local id = redis.call('LINDEX', K_WAITING[priority], -1)
  if id then
    local st = load_state(id)
    if st and st.enqueued_at and (oldest < 0 or st.enqueued_at < oldest) then oldest = st.enqueued_at end
  end
end
return {now, redis.call('LLEN', K_WAITING.high), redis.call('LLEN', K_WAITING.normal),
        redis.call('LLEN', K_WAITING.low), redis.call('ZCARD', K_SCHEDULED), redis.call('LLEN', K_RUNNING),
        redis.call('LLEN', K_DEAD), redis.call('EXISTS', K_PAUSED), oldest}
