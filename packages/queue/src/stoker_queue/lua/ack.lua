-- ack: a job succeeded; store its output under its own key with a TTL.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- KEYS[24]     the job's result key
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- ARGV[3]      lease token
-- ARGV[4]      output JSON
-- ARGV[5]      result TTL ms
-- Returns 1, or 0 if the lease was lost (the job was requeued, reclaimed or canceled meanwhile).
-- Invariant: a late ack from an older claim never overwrites the newer attempt.
local now = clock(ARGV[1])
local id, token = ARGV[2], ARGV[3]
local st = load_state(id)
if not holds_lease(st, token) then return 0 end
detach(id, st)
redis.call('SET', KEYS[FIRST_EXTRA_KEY], ARGV[4], 'PX', tonumber(ARGV[5]))
st.error = nil
finish(id, st, 'succeeded', now)
return 1
