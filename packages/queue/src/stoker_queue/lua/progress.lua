-- progress: record how far a running job has got.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- ARGV[3]      lease token
-- ARGV[4]      fraction done, 0..1
-- ARGV[5]      message ('' for none)
-- Returns 0 lease lost, 1 recorded, 2 recorded and cancel requested.
local now = clock(ARGV[1])
local id, token = ARGV[2], ARGV[3]
local st = load_state(id)
if not holds_lease(st, token) then return 0 end
st.progress = tonumber(ARGV[4])
st.progress_message = ARGV[5]
st.progress_at = now
save_state(id, st)
return st.cancel_requested and 2 or 1
