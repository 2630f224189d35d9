-- cancel: a waiting job is canceled at once; a running one gets a flag its worker sees.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- Returns {outcome, status}: outcome is 'canceled', 'requested', 'final' (already finished) or
-- 'missing'; status is the job's status afterwards.
-- Invariant: cancel and claim are both single scripts, so exactly one of them sees a queued job.
local now = clock(ARGV[1])
local id = ARGV[2]
local st = load_state(id)
if not st then return {'missing', ''} end
if st.status == 'queued' or st.status == 'scheduled' then
  detach(id, st)
  st.error = error_json('canceled', 'canceled before it started')
  finish(id, st, 'canceled', now)
  return {'canceled', 'canceled'}
end
if st.status == 'running' then
  st.cancel_requested = true
  save_state(id, st)
  return {'requested', 'running'}
end
return {'final', st.status}
