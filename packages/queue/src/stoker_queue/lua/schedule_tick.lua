-- schedule_tick: take one tick of a periodic schedule (enqueue its job) and move the schedule on,
-- unless another process moved it first.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- KEYS[24]     the queue's schedules HASH: schedule name -> tick state JSON
-- ARGV[1]      now ms or ''
-- ARGV[2]      the schedule's name
-- ARGV[3]      its state JSON as the caller read it, '' for none: the compare of compare-and-set
-- ARGV[4]      its timing (a changed timing starts the schedule afresh)
-- ARGV[5]      the next run ms to store
-- ARGV[6]      the tick ms to take now, or '' to take none (a new schedule, or a changed one)
-- ARGV[7..12]  that tick's job: id, envelope JSON, priority, max_attempts, max_crashes, task name
-- Returns {outcome, job id or ''}: 'stale' (the state is no longer what the caller read: nothing
-- written), 'started' (state stored, no tick taken), 'fired' (the job was enqueued), 'exists' (the
-- tick's job was already there; not enqueued again), 'skipped' (the queue is paused: no job).
-- Invariant: a schedule moves only from the state its caller saw, so however many processes race
-- for a tick one takes it; and a tick's job id derives from the schedule and the tick, so even a
-- schedule whose state was lost cannot enqueue one tick twice.
local now = clock(ARGV[1])
local K_SCHEDULES = KEYS[FIRST_EXTRA_KEY]
local name, seen = ARGV[2], ARGV[3]

local current = redis.call('HGET', K_SCHEDULES, name) or ''
if current ~= seen then return {'stale', ''} end

local st = {timing = ARGV[4], next_run = tonumber(ARGV[5])}
-- A state that does not parse (written by hand, say) is replaced, not an error on every tick.
local ok, old = pcall(cjson.decode, seen)
if ok and type(old) == 'table' then
  st.last_run, st.last_job, st.last_outcome = old.last_run, old.last_job, old.last_outcome
end

local outcome, job_id = 'started', ''
if ARGV[6] ~= '' then
  st.last_run = tonumber(ARGV[6])
  if redis.call('EXISTS', K_PAUSED) == 1 then
    -- A paused queue takes no periodic jobs: they would pile up and run in a burst on resume.
    outcome = 'skipped'
    st.last_outcome = 'skipped'
  else
    job_id = ARGV[7]
    if redis.call('HEXISTS', K_STATE, job_id) == 1 then
      outcome = 'exists'
    else
      create_job(job_id, ARGV[8], ARGV[12], ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11]), 0, 0, false, now)
      wake(1)
      outcome = 'fired'
    end
    st.last_job, st.last_outcome = job_id, 'fired'
  end
end
redis.call('HSET', K_SCHEDULES, name, cjson.encode(st))
return {outcome, job_id}
