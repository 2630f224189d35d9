-- webhook_take: take finished jobs whose webhook is due, hiding each for a visibility timeout.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      most jobs to take
-- ARGV[3]      visibility timeout ms: a taker that dies leaves the job due again after it
-- Returns, per job: id, envelope JSON, state JSON (with webhook_attempts counting this one).
-- Invariant: a job stays in the outbox until its delivery is done or given up, so none is lost.
local now = clock(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', K_WEBHOOKS, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(due) do
  local st = load_state(id)
  if st then
    redis.call('ZADD', K_WEBHOOKS, now + tonumber(ARGV[3]), id)
    st.webhook_attempts = (st.webhook_attempts or 0) + 1
    -- No event: the job's status did not change.
    redis.call('HSET', K_STATE, id, cjson.encode(st))
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGET', K_JOBS, id)
    out[#out + 1] = cjson.encode(st)
  else
    redis.call('ZREM', K_WEBHOOKS, id)
  end
end
return out
