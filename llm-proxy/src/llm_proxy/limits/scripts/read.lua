-- Current totals of counters, for the usage API.
-- KEYS: one hash per counter. ARGV: window_ms per counter (0: calendar period).
-- Reply: {total per counter}.
local totals = {}
for i, key in ipairs(KEYS) do
  local window_ms = tonumber(ARGV[i])
  if window_ms > 0 then
    totals[i] = trim(key, math.floor(now / bucket_ms(window_ms)))
  else
    totals[i] = tonumber(redis.call('HGET', key, 't')) or 0
  end
end
return totals
