-- Raise calendar-period counters to totals rebuilt from the request log.
-- KEYS: one hash per counter. ARGV: 2 per counter: rebuilt total, period_end_ms.
-- Reply: per counter, 1 when it was raised, 0 when it already held as much or more.
--
-- Never lowers: a counter that survived, or was refilled by traffic since the loss, may
-- already count requests the log does not have yet (reservations in flight, records
-- still being written), and lowering it would forgive them.
local reply = {}
for i, key in ipairs(KEYS) do
  local rebuilt, period_end = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  local total = tonumber(rebuilt)
  local f = redis.call('HMGET', key, 't', 's')
  reply[i] = 0
  if total > (tonumber(f[1]) or 0) then
    redis.call('HSET', key, 't', rebuilt)
    reply[i] = 1
  end
  -- The log holds settled usage only, which is what 's' (and the alerts on it) count.
  if total > (tonumber(f[2]) or 0) then
    redis.call('HSET', key, 's', rebuilt)
  end
  if reply[i] == 1 then
    redis.call('PEXPIRE', key, math.max(1, period_end - now) + PERIOD_GRACE_MS)
  end
end
return reply
