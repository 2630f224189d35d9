-- expire: jobs that did not start before their ttl end as 'expired'.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      most jobs to expire in this call
-- Returns how many expired.
local now = clock(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', K_DEADLINES, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local n = 0
for _, id in ipairs(due) do
  local st = load_state(id)
  if st and (st.status == 'queued' or st.status == 'scheduled') then
    detach(id, st)
    st.error = error_json('expired', 'the job did not start before its ttl_s ran out')
    finish(id, st, 'expired', now)
    n = n + 1
  else
    redis.call('ZREM', K_DEADLINES, id)
  end
end
return n
