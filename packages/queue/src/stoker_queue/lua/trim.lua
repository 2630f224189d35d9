-- trim: forget finished jobs older than the retention, and the oldest dead jobs past the cap.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      retention ms for succeeded, canceled and expired jobs
-- ARGV[3]      most dead (failed) jobs to keep
-- ARGV[4]      most jobs to remove in this call
-- Returns how many jobs were removed. Results keep their own TTL and expire by themselves.
local now = clock(ARGV[1])
local retention_ms, dead_max, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local function forget(id)
  local st = load_state(id)
  if st then redis.call('ZREM', K_STATUS[st.status], id) end
  redis.call('HDEL', K_JOBS, id)
  redis.call('HDEL', K_STATE, id)
  redis.call('ZREM', K_INDEX, id)
  redis.call('ZREM', K_WEBHOOKS, id)
end

local old = redis.call('ZRANGEBYSCORE', K_FINISHED, '-inf', now - retention_ms, 'LIMIT', 0, limit)
for _, id in ipairs(old) do
  redis.call('ZREM', K_FINISHED, id)
  forget(id)
end
local removed = #old
while removed < limit and redis.call('LLEN', K_DEAD) > dead_max do
  forget(redis.call('RPOP', K_DEAD))
  removed = removed + 1
end
return removed
