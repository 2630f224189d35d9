-- reap: return jobs whose lease expired (their worker died) to the front of their waiting list.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      most jobs to reap in this call
-- Returns {requeued, failed (poison: max_crashes reached), canceled, then per reaped job:
--          id, task, new status (queued, failed or canceled)}, so the caller counts each crash once.
-- Invariant: only a lease whose deadline passed is taken; a worker that renewed in time keeps its job.
local now = clock(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[2]))
local requeued, failed, canceled = 0, 0, 0
local reaped = {}
for _, id in ipairs(expired) do
  local st = load_state(id)
  if st and st.status == 'running' then
    detach(id, st)
    st.crash_attempts = st.crash_attempts + 1
    if st.cancel_requested then
      finish(id, st, 'canceled', now)
      canceled = canceled + 1
    elseif st.crash_attempts >= st.max_crashes then
      st.error = error_json('crashed', 'the worker running this job stopped renewing its lease '
        .. st.crash_attempts .. ' times (poison job)')
      finish(id, st, 'failed', now)
      failed = failed + 1
    else
      push_waiting(id, st, now, true)
      save_state(id, st)
      requeued = requeued + 1
    end
    reaped[#reaped + 1] = id
    reaped[#reaped + 1] = cjson.decode(redis.call('HGET', K_JOBS, id)).task
    reaped[#reaped + 1] = st.status
  else
    -- A lease without a running job: remove the stray entry.
    redis.call('ZREM', K_LEASES, id)
  end
end
wake(requeued)
local out = {requeued, failed, canceled}
for _, v in ipairs(reaped) do out[#out + 1] = v end
return out
