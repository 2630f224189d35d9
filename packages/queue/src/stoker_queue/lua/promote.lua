-- promote: move scheduled jobs whose time has come to their waiting lists.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      most jobs to move in this call
-- Returns how many moved.
local now = clock(ARGV[1])
return promote_due(now, tonumber(ARGV[2]))
