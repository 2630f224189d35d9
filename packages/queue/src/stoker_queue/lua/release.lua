-- release: a worker shutting down hands a claimed job back, next in line. Not charged.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- ARGV[3]      lease token
-- ARGV[4]      this attempt's W3C traceparent ('' for none), for the next attempt's span link
-- Returns 1, or 0 if the lease was lost.
local now = clock(ARGV[1])
local id, token = ARGV[2], ARGV[3]
local st = load_state(id)
if not holds_lease(st, token) then return 0 end
detach(id, st)
st.last_attempt_trace = ARGV[4] ~= '' and ARGV[4] or nil
st.evicted_attempts = st.evicted_attempts + 1
if st.cancel_requested then
  finish(id, st, 'canceled', now)
  return 1
end
push_waiting(id, st, now, true)
save_state(id, st)
wake(1)
return 1
