-- Shared by every queue script: scripts.py prepends _clock.lua and this file to each one.
--
-- Every script receives the queue's 23 core names first, in this order (keys.py, core_keys):
--   KEYS[1]  jobs        HASH id -> envelope JSON (immutable)
--   KEYS[2]  state       HASH id -> state JSON (status, attempts, timestamps, lease token ...)
--   KEYS[3]  waiting:high    LIST of ids, LPUSH to enqueue, RPOP to claim (FIFO)
--   KEYS[4]  waiting:normal
--   KEYS[5]  waiting:low
--   KEYS[6]  running     LIST of claimed ids
--   KEYS[7]  leases      ZSET id -> lease deadline ms
--   KEYS[8]  scheduled   ZSET id -> due ms
--   KEYS[9]  deadlines   ZSET id -> expiry ms of a job that has not started
--   KEYS[10] dead        LIST of failed ids, newest on the left
--   KEYS[11] finished    ZSET id -> finish ms (succeeded, canceled, expired; not failed)
--   KEYS[12] wake        LIST of wake tokens for blocked claimers
--   KEYS[13] paused      STRING flag
--   KEYS[14] index       ZSET of every id (score 0: ordered by id)
--   KEYS[15..21] index:<status> for queued, scheduled, running, succeeded, failed, canceled, expired
--   KEYS[22] events      prefix of the job event channels, <events>:<id> (not a key; passed here so
--                        it names the queue's slot)
--   KEYS[23] webhooks    ZSET id -> due ms: finished jobs whose webhook is to be delivered (the outbox)
-- Per-call keys follow from KEYS[24].
--
-- Invariant kept by every script: a job is in exactly the structures its status calls for:
--   queued -> one waiting list; scheduled -> scheduled; running -> running + leases;
--   failed -> dead; succeeded/canceled/expired -> finished; and always index + index:<status>.

local K_JOBS, K_STATE = KEYS[1], KEYS[2]
local K_WAITING = {high = KEYS[3], normal = KEYS[4], low = KEYS[5]}
local PRIORITY_ORDER = {'high', 'normal', 'low'}
local K_RUNNING, K_LEASES, K_SCHEDULED, K_DEADLINES = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_DEAD, K_FINISHED, K_WAKE, K_PAUSED, K_INDEX = KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local K_STATUS = {queued = KEYS[15], scheduled = KEYS[16], running = KEYS[17], succeeded = KEYS[18],
                  failed = KEYS[19], canceled = KEYS[20], expired = KEYS[21]}
local K_EVENTS, K_WEBHOOKS = KEYS[22], KEYS[23]
local FIRST_EXTRA_KEY = 24
-- Enough tokens to wake every claimer that a burst can use; claimers chain wake-ups beyond it.
local WAKE_CAP = 256

local function load_state(id)
  local raw = redis.call('HGET', K_STATE, id)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Every state change is saved through here, and published on the job's channel, so waiters never poll
-- and a process hears only the jobs it watches.
local function save_state(id, st)
  redis.call('HSET', K_STATE, id, cjson.encode(st))
  redis.call('PUBLISH', K_EVENTS .. ':' .. id, cjson.encode({id = id, status = st.status,
                                                            progress = st.progress,
                                                            message = st.progress_message}))
end

local function set_status(id, st, status)
  if st.status ~= status then
    if st.status then redis.call('ZREM', K_STATUS[st.status], id) end
    redis.call('ZADD', K_STATUS[status], 0, id)
    st.status = status
  end
end

local function wake(n)
  if n <= 0 or redis.call('EXISTS', K_PAUSED) == 1 then return end
  if n > WAKE_CAP then n = WAKE_CAP end
  local tokens = {}
  for i = 1, n do tokens[i] = '1' end
  if redis.call('LPUSH', K_WAKE, unpack(tokens)) > WAKE_CAP then redis.call('LTRIM', K_WAKE, 0, WAKE_CAP - 1) end
end

-- Put a job on its waiting list. `front` puts it next in line (a job handed back or reaped).
local function push_waiting(id, st, now, front)
  if front then
    redis.call('RPUSH', K_WAITING[st.priority], id)
  else
    redis.call('LPUSH', K_WAITING[st.priority], id)
  end
  st.enqueued_at = now
  st.due_at = nil
  set_status(id, st, 'queued')
end

local function push_scheduled(id, st, due)
  redis.call('ZADD', K_SCHEDULED, due, id)
  st.due_at = due
  set_status(id, st, 'scheduled')
end

-- Write a new job and put it where its delay says: waiting, or scheduled. Returns its state; the caller
-- wakes claimers for the jobs it queued. The state keeps the task's name, so claims need not read the
-- envelope to choose jobs. Nothing is published: nobody can be watching a job that did not exist.
local function create_job(id, envelope, task, priority, max_attempts, max_crashes, delay_ms, ttl_ms, webhook, now)
  redis.call('HSET', K_JOBS, id, envelope)
  local st = {task = task, priority = priority, max_attempts = max_attempts, max_crashes = max_crashes,
              created_at = now, claims = 0, error_attempts = 0, crash_attempts = 0, evicted_attempts = 0,
              webhook = webhook or nil}
  redis.call('ZADD', K_INDEX, 0, id)
  if ttl_ms > 0 then
    st.expires_at = now + delay_ms + ttl_ms
    redis.call('ZADD', K_DEADLINES, st.expires_at, id)
  end
  if delay_ms > 0 then
    push_scheduled(id, st, now + delay_ms)
  else
    push_waiting(id, st, now, false)
  end
  redis.call('HSET', K_STATE, id, cjson.encode(st))
  return st
end

-- Take a job out of the structure its active status keeps it in.
local function detach(id, st)
  if st.status == 'queued' then
    redis.call('LREM', K_WAITING[st.priority], 1, id)
  elseif st.status == 'scheduled' then
    redis.call('ZREM', K_SCHEDULED, id)
  elseif st.status == 'running' then
    redis.call('LREM', K_RUNNING, -1, id)
    redis.call('ZREM', K_LEASES, id)
  end
end

-- A final status. Failed jobs go to the dead-letter list, the others to `finished` for retention.
-- A job with a webhook enters the outbox in the same step, so its delivery cannot be lost.
local function finish(id, st, status, now)
  st.finished_at = now
  st.cancel_requested = nil
  if st.expires_at then redis.call('ZREM', K_DEADLINES, id) end
  if st.webhook then
    st.webhook_state, st.webhook_attempts, st.webhook_error = 'pending', 0, nil
    redis.call('ZADD', K_WEBHOOKS, now, id)
  end
  if status == 'failed' then
    redis.call('LPUSH', K_DEAD, id)
  else
    redis.call('ZADD', K_FINISHED, now, id)
  end
  set_status(id, st, status)
  save_state(id, st)
end

-- The claim is current: the job is running under this lease token.
local function holds_lease(st, token)
  return st ~= nil and st.status == 'running' and st.claims == tonumber(token)
end

local function error_json(code, message)
  return cjson.encode({code = code, message = message})
end

-- Move due scheduled jobs to their waiting lists; returns how many moved.
local function promote_due(now, limit)
  local due = redis.call('ZRANGEBYSCORE', K_SCHEDULED, '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(due) do
    redis.call('ZREM', K_SCHEDULED, id)
    local st = load_state(id)
    if st then
      push_waiting(id, st, now, false)
      save_state(id, st)
    end
  end
  wake(#due)
  return #due
end
