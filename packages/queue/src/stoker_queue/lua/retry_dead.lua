-- retry_dead: requeue dead-letter jobs, oldest first, with fresh attempts; the caller loops.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      most jobs to requeue in this call
-- Returns how many were requeued.
local now = clock(ARGV[1])
local limit = tonumber(ARGV[2])
local n = 0
while n < limit do
  local id = redis.call('RPOP', K_DEAD)
  if not id then break end
  local st = load_state(id)
  if st then
    st.error_attempts, st.crash_attempts = 0, 0
    st.error, st.finished_at, st.started_at, st.worker = nil, nil, nil, nil
    push_waiting(id, st, now, false)
    save_state(id, st)
    n = n + 1
  end
end
wake(n)
return n
