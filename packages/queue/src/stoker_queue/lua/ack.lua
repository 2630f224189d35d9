-- ack: jobs succeeded; store each output under its own key with a TTL.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- KEYS[24..]   per job, its result key, in job order
-- ARGV[1]      now ms or ''
-- ARGV[2]      result TTL ms
-- ARGV[3..]    per job, 3 values: id, lease token, output JSON
-- Returns, per job, 1, or 0 if its lease was lost (the job was requeued, reclaimed or canceled meanwhile).
-- Invariant: a late ack from an older claim never overwrites the newer attempt.
local now = clock(ARGV[1])
local ttl_ms = tonumber(ARGV[2])
local out = {}
for j = 0, (#ARGV - 2) / 3 - 1 do
  local a = 3 + j * 3
  local id, token = ARGV[a], ARGV[a + 1]
  local st = load_state(id)
  if holds_lease(st, token) then
    detach(id, st)
    redis.call('SET', KEYS[FIRST_EXTRA_KEY + j], ARGV[a + 2], 'PX', ttl_ms)
    st.error = nil
    finish(id, st, 'succeeded', now)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
