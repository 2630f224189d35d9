-- fail: the handler raised. Retry after a backoff while attempts remain, else dead-letter.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- ARGV[3]      lease token
-- ARGV[4]      error JSON {code, message, details}
-- ARGV[5]      retry delay ms, or -1 if the error is permanent (no retry)
-- ARGV[6]      final status when no retry is left: 'failed' (or 'canceled' for a handler that
--              stopped on a cancel request; such an attempt is not counted as an error)
-- ARGV[7]      this attempt's W3C traceparent ('' for none), handed to the next attempt's claim so
--              its span can link to this one
-- Returns the job's new status, or '' if the lease was lost.
local now = clock(ARGV[1])
local id, token, err, delay_ms, final = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local st = load_state(id)
if not holds_lease(st, token) then return '' end
detach(id, st)
st.error = err
st.last_attempt_trace = ARGV[7] ~= '' and ARGV[7] or nil
if final == 'canceled' then
  finish(id, st, 'canceled', now)
  return 'canceled'
end
st.error_attempts = st.error_attempts + 1
if delay_ms >= 0 and st.error_attempts < st.max_attempts and not st.cancel_requested then
  if delay_ms > 0 then
    push_scheduled(id, st, now + delay_ms)
  else
    push_waiting(id, st, now, false)
    wake(1)
  end
  save_state(id, st)
  return st.status
end
finish(id, st, st.cancel_requested and 'canceled' or 'failed', now)
return st.status
