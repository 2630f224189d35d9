-- purge: cancel waiting and scheduled jobs, a bounded number per call (the caller loops).
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      most jobs to cancel in this call
-- Returns how many were canceled.
local now = clock(ARGV[1])
local limit = tonumber(ARGV[2])
local n = 0
local err = error_json('purged', 'removed from the queue by a purge')

local function purged(id)
  local st = load_state(id)
  if st then
    st.error = err
    finish(id, st, 'canceled', now)
  end
  n = n + 1
end

for _, priority in ipairs(PRIORITY_ORDER) do
  while n < limit do
    local id = redis.call('RPOP', K_WAITING[priority])
    if not id then break end
    purged(id)
  end
end
if n < limit then
  for _, id in ipairs(redis.call('ZRANGE', K_SCHEDULED, 0, limit - n - 1)) do
    redis.call('ZREM', K_SCHEDULED, id)
    purged(id)
  end
end
return n
