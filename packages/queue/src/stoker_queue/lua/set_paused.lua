-- set_paused: pause or resume claiming on a queue.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      '1' to pause, '0' to resume
-- Returns 1. Resuming wakes as many blocked claimers as there are waiting jobs (up to the cap).
if ARGV[2] == '1' then
  redis.call('SET', K_PAUSED, '1')
  redis.call('DEL', K_WAKE)
else
  redis.call('DEL', K_PAUSED)
  local waiting = 0
  for _, priority in ipairs(PRIORITY_ORDER) do waiting = waiting + redis.call('LLEN', K_WAITING[priority]) end
  wake(waiting)
end
return 1
