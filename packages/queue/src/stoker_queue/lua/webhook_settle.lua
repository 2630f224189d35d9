-- webhook_settle: record how a webhook delivery went on the job, and end it or make it due again.
-- KEYS[1..23]  the queue's core keys (_prelude.lua)
-- ARGV[1]      now ms or ''
-- ARGV[2]      job id
-- ARGV[3]      the attempt being settled (webhook_attempts as webhook_take returned it)
-- ARGV[4]      outcome: 'delivered', 'failed', 'refused' (final: out of the outbox),
--              'retry' (due again after ARGV[6], still pending) or 'skip' (nothing to deliver: no state)
-- ARGV[5]      the error to show ('' for none): short, never a secret
-- ARGV[6]      delay ms before the next attempt ('retry' only)
-- Returns 1 when settled, 0 when this attempt no longer owns the delivery.
-- Invariant: only the latest taker settles. A taker that overran its visibility timeout, or one
-- whose job was retried and ended again since, changes neither the outbox nor the job's record.
local now = clock(ARGV[1])
local id, attempt, outcome, err = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
if not redis.call('ZSCORE', K_WEBHOOKS, id) then return 0 end
local st = load_state(id)
if not st or st.webhook_attempts ~= attempt then return 0 end
if err == '' then err = nil end
if outcome == 'retry' then
  redis.call('ZADD', K_WEBHOOKS, now + tonumber(ARGV[6]), id)
  st.webhook_state, st.webhook_error = 'pending', err
else
  redis.call('ZREM', K_WEBHOOKS, id)
  if outcome == 'skip' then
    st.webhook_state, st.webhook_attempts, st.webhook_error = nil, nil, nil
  else
    st.webhook_state, st.webhook_error = outcome, err
  end
end
-- No event: the job's status did not change.
redis.call('HSET', K_STATE, id, cjson.encode(st))
return 1
