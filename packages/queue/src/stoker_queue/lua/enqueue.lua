-- enqueue: add one or more jobs to a queue in one step.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- KEYS[24..]   one idempotency key per job that has one, in job order
-- ARGV[1]      now ms or ''
-- ARGV[2]      number of jobs
-- ARGV[3..]    per job, 10 values: id, envelope JSON, priority, max_attempts, max_crashes,
--              delay ms, ttl ms (0: none), idempotency TTL ms (0: no idempotency key),
--              1 if the job has a webhook (0: none), task name
-- Returns, per job: the job id (an existing one on an idempotency hit), 1 if created (0 if not),
-- and the job's status. If any job's idempotency key names a job submitted with a different
-- request (its envelope's request_digest differs), nothing is written and the status of each job
-- is 'conflict' for those jobs and '' for the others.
-- Invariant: an idempotency key names at most one live job, and only ever for one request; a new
-- job enters exactly one of waiting or scheduled, and the indexes.
local now = clock(ARGV[1])
local count = tonumber(ARGV[2])
local out = {}
local next_key = FIRST_EXTRA_KEY

-- envelope.py writes the digest right after schema_version, ahead of any client data.
local function digest_of(envelope)
  if not envelope then return nil end
  return string.match(envelope, '^{"schema_version":%d+,"request_digest":"(%x+)"')
end

-- First pass, before any write: the digest each idempotency key stands for (false: a job written
-- before digests, which matches any request), counting jobs earlier in this call.
local held, conflicts, conflicted = {}, {}, false
for j = 0, count - 1 do
  local a = 3 + j * 10
  if tonumber(ARGV[a + 7]) > 0 then
    local idem_key = KEYS[next_key]
    next_key = next_key + 1
    local mine = digest_of(ARGV[a + 1])
    local theirs = held[idem_key]
    if theirs == nil then
      local existing = redis.call('GET', idem_key)
      if existing and redis.call('HEXISTS', K_STATE, existing) == 1 then
        theirs = digest_of(redis.call('HGET', K_JOBS, existing)) or false
      else
        theirs = mine or false
      end
      held[idem_key] = theirs
    end
    if theirs and mine and theirs ~= mine then
      conflicts[j] = true
      conflicted = true
    end
  end
end
if conflicted then
  for j = 0, count - 1 do
    out[#out + 1] = ARGV[3 + j * 10]
    out[#out + 1] = 0
    out[#out + 1] = conflicts[j] and 'conflict' or ''
  end
  return out
end

next_key = FIRST_EXTRA_KEY
local queued = 0
for j = 0, count - 1 do
  local a = 3 + j * 10
  local id, envelope, priority = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local delay_ms, ttl_ms, idem_ttl_ms = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7])
  local existing = nil
  if idem_ttl_ms > 0 then
    local idem_key = KEYS[next_key]
    next_key = next_key + 1
    existing = redis.call('GET', idem_key)
    -- A key whose job has been removed by retention is free again.
    if existing and redis.call('HEXISTS', K_STATE, existing) == 0 then existing = nil end
    if not existing then redis.call('SET', idem_key, id, 'PX', idem_ttl_ms) end
  end
  if existing then
    out[#out + 1] = existing
    out[#out + 1] = 0
    out[#out + 1] = load_state(existing).status
  else
    local st = create_job(id, envelope, ARGV[a + 9], priority, tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]),
                          delay_ms, ttl_ms, ARGV[a + 8] == '1', now)
    if st.status == 'queued' then queued = queued + 1 end
    out[#out + 1] = id
    out[#out + 1] = 1
    out[#out + 1] = st.status
  end
end
wake(queued)
return out
