-- cancel: a waiting job is canceled at once; a running one gets a flag its worker sees.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- ARGV[3]      the queue's cancels channel: the worker running the job hears of it at once
-- Returns {outcome, status}: outcome is 'canceled', 'requested', 'final' (already finished) or
-- 'missing'; status is the job's status afterwards.
-- Invariant: cancel and claim are both single scripts, so exactly one of them sees a queued job.
local now = clock(ARGV[1])
local id = ARGV[2]
local st = load_state(id)
if not st then return {'missing', ''} end
if st.status == 'queued' or st.status == 'scheduled' or st.status == 'running' then
  st.cancel_requested_at = st.cancel_requested_at or now  -- kept once the job ends
end
if st.status == 'queued' or st.status == 'scheduled' then
  detach(id, st)
  st.error = error_json('canceled', 'canceled before it started')
  finish(id, st, 'canceled', now)
  return {'canceled', 'canceled'}
end
if st.status == 'running' then
  st.cancel_requested = true
  save_state(id, st)
  redis.call('PUBLISH', ARGV[3], id)
  return {'requested', 'running'}
end
return {'final', st.status}
