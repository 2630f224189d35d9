-- Shared by every script (scripts.py prepends it).
-- ARGV[1] is the time in ms, or '' for the Redis server's own clock.
local function clock(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
