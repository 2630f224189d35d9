-- claim: move up to N waiting jobs to running, each with a lease, highest priority first.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      most jobs to claim
-- ARGV[3]      lease length ms
-- ARGV[4]      worker id
-- ARGV[5..]    the tasks this worker serves (none: every task). A job of another task stays where it
--              is, in its place, for a worker that serves it (a rolling update adding a task).
-- Returns {paused (0/1), next scheduled due ms (-1: none), then per claimed job:
--          id, lease token, envelope JSON, error attempts, crash attempts, evicted attempts,
--          created ms, enqueued ms, started ms, traceparent of the previous attempt ('' if none)}.
-- Invariant: a job leaves its waiting list and enters running + leases in the same step, so two
-- claimers can never both hold it. The blocking wait happens outside, on the wake list.
local now = clock(ARGV[1])
local limit, lease_ms, worker = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local serves = nil
if #ARGV >= 5 then
  serves = {}
  for i = 5, #ARGV do serves[ARGV[i]] = true end
end
-- Jobs of other tasks looked at in one claim, at most: bounds the cost when many wait at the head.
local MAX_PASSED = 100

-- The job's task, read once from its envelope and kept in its state (without an event: nothing changed).
-- nil when the envelope cannot be read: the job is then claimed, and the caller dead-letters it.
local function task_of(id, st)
  if not st.task then
    local ok, envelope = pcall(cjson.decode, redis.call('HGET', K_JOBS, id) or '')
    if not ok or type(envelope) ~= 'table' or type(envelope.task) ~= 'string' then return nil end
    st.task = envelope.task
    redis.call('HSET', K_STATE, id, cjson.encode(st))
  end
  return st.task
end

local function number_or_nil(v) return v == nil or type(v) == 'number' end

-- Whether a state has what a claim reads; anything else is a corrupt record.
local function readable(st)
  return type(st) == 'table' and type(st.status) == 'string' and K_WAITING[st.priority] ~= nil
    and type(st.claims) == 'number' and type(st.created_at) == 'number'
    and type(st.error_attempts) == 'number' and type(st.crash_attempts) == 'number'
    and type(st.evicted_attempts) == 'number' and number_or_nil(st.expires_at)
    and number_or_nil(st.enqueued_at)
end

-- A state that cannot be read: replaced by one that says so, and the job dead-lettered. One corrupt
-- record must not stop its queue.
local function dead_letter_corrupt(id)
  for _, index in pairs(K_STATUS) do redis.call('ZREM', index, id) end
  local st = {created_at = now, priority = 'normal', claims = 0, error_attempts = 0, crash_attempts = 0,
              evicted_attempts = 0, max_attempts = 1}
  st.error = error_json('corrupt_job', "the job's record in Redis could not be read; it was dead-lettered")
  finish(id, st, 'failed', now)
end

local function next_due()
  local first = redis.call('ZRANGE', K_SCHEDULED, 0, 0, 'WITHSCORES')
  if first[2] then return tonumber(first[2]) end
  return -1
end

if redis.call('EXISTS', K_PAUSED) == 1 then
  -- Nobody may claim: drop the tokens so blocked claimers sleep until resume wakes them.
  redis.call('DEL', K_WAKE)
  return {1, next_due()}
end

promote_due(now, 1000)
local out = {0, 0}
local claimed, passed_total = 0, 0
local emptied = {}  -- lists this claim found empty (and put nothing back on): no need to count them
for _, priority in ipairs(PRIORITY_ORDER) do
  local passed = {}
  while claimed < limit do
    local id = redis.call('RPOP', K_WAITING[priority])
    if not id then
      emptied[priority] = true
      break
    end
    local ok, st = pcall(load_state, id)
    if not ok or (st ~= nil and not readable(st)) then
      dead_letter_corrupt(id)
    elseif st and st.status == 'queued' and serves and task_of(id, st) and not serves[st.task] then
      passed[#passed + 1] = id
      if #passed + passed_total >= MAX_PASSED then break end
    elseif st and st.status == 'queued' then
      if st.expires_at and st.expires_at <= now then
        st.error = error_json('expired', 'the job did not start before its ttl_s ran out')
        finish(id, st, 'expired', now)
      else
        st.claims = st.claims + 1
        st.started_at = now
        st.worker = worker
        redis.call('RPUSH', K_RUNNING, id)
        redis.call('ZADD', K_LEASES, now + lease_ms, id)
        if st.expires_at then redis.call('ZREM', K_DEADLINES, id) end
        set_status(id, st, 'running')
        save_state(id, st)
        claimed = claimed + 1
        out[#out + 1] = id
        out[#out + 1] = st.claims
        out[#out + 1] = redis.call('HGET', K_JOBS, id)
        out[#out + 1] = st.error_attempts
        out[#out + 1] = st.crash_attempts
        out[#out + 1] = st.evicted_attempts
        out[#out + 1] = st.created_at
        out[#out + 1] = st.enqueued_at or st.created_at
        out[#out + 1] = now
        out[#out + 1] = st.last_attempt_trace or ''
      end
    end
  end
  -- Back in their places, next in line, oldest first.
  for i = #passed, 1, -1 do redis.call('RPUSH', K_WAITING[priority], passed[i]) end
  if #passed > 0 then emptied[priority] = nil end
  passed_total = passed_total + #passed
end

local left = 0
for _, priority in ipairs(PRIORITY_ORDER) do
  if not emptied[priority] then left = left + redis.call('LLEN', K_WAITING[priority]) end
end
if left == 0 then
  -- No job is left to wake anybody for.
  redis.call('DEL', K_WAKE)
elseif left > passed_total and redis.call('LLEN', K_WAKE) == 0 then
  -- Jobs remain that this worker might have taken: pass the wake-up on to the next blocked claimer.
  -- Not for jobs it passed over only: two workers without their task would wake each other in a loop;
  -- a worker that serves it finds them at its next claim, within one blocking wait.
  wake(1)
end
out[2] = next_due()
return out
