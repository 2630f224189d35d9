-- retry: put a failed, canceled or expired job back on its waiting list with fresh attempts.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- KEYS[24]     the job's result key (cleared)
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- Returns {outcome, status}: outcome 'queued', 'active' (not finished) or 'missing'.
local now = clock(ARGV[1])
local id = ARGV[2]
local st = load_state(id)
if not st then return {'missing', ''} end
if st.status ~= 'failed' and st.status ~= 'canceled' and st.status ~= 'expired' then
  return {'active', st.status}
end
if st.status == 'failed' then
  redis.call('LREM', K_DEAD, 1, id)
else
  redis.call('ZREM', K_FINISHED, id)
end
redis.call('DEL', KEYS[FIRST_EXTRA_KEY])
st.error_attempts, st.crash_attempts = 0, 0
st.error, st.finished_at, st.started_at, st.worker, st.expires_at = nil, nil, nil, nil, nil
st.progress, st.progress_message, st.progress_at = nil, nil, nil
push_waiting(id, st, now, false)
save_state(id, st)
wake(1)
return {'queued', 'queued'}
