-- ratelimit: GCRA (generic cell rate algorithm): a rate with a burst, one key per scope.
-- KEYS[1]      the scope's state: the theoretical arrival time (ms) of the next request
-- ARGV[1]      now ms or ''
-- ARGV[2]      emission interval ms (1000 / rate per second)
-- ARGV[3]      burst: requests allowed at once from an idle scope
-- ARGV[4]      cost of this request (a batch of N jobs costs N)
-- Returns {allowed (0/1), retry after ms (-1: the cost exceeds the burst and can never pass)}.
-- Invariant: over any window the scope passes at most rate * window + burst.
local now = clock(ARGV[1])
local interval, burst, cost = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tolerance = interval * burst
local increment = interval * cost
if increment > tolerance then return {0, -1} end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + increment
local allow_at = new_tat - tolerance
if allow_at > now then return {0, math.ceil(allow_at - now)} end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, 0}
