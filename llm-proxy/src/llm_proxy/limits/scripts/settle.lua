-- Settle held reservations with real amounts, and report budget thresholds crossed.
-- KEYS: one hash per counter.
-- ARGV: 6 per counter: window_ms (0: calendar period), reserved_at_ms, delta (real minus
--   reserved), real amount, limit, alert thresholds ("0.8,1" or "").
-- Reply: flat triples {counter index, threshold, settled total} for each threshold crossed
-- for the first time in its period (deduplicated by SET NX on '<key>:alert:<threshold>').
local crossed = {}

local function alert(i, key, settled, limit, thresholds)
  for threshold in string.gmatch(thresholds, '[^,]+') do
    if settled >= tonumber(threshold) * limit then
      local ttl = math.max(1, redis.call('PTTL', key))
      if redis.call('SET', key .. ':alert:' .. threshold, '1', 'NX', 'PX', ttl) then
        crossed[#crossed + 1] = i
        crossed[#crossed + 1] = threshold
        crossed[#crossed + 1] = settled
      end
    end
  end
end

for i, key in ipairs(KEYS) do
  local a = (i - 1) * 6
  local window_ms, at, delta = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3]
  if window_ms > 0 then
    local bms = bucket_ms(window_ms)
    local bucket = math.floor(at / bms)
    local _, lo = trim(key, math.floor(now / bms))
    -- A reservation whose bucket has left the window already counts for nothing.
    if lo and bucket >= lo and redis.call('HEXISTS', key, bucket) == 1 then
      redis.call('HINCRBY', key, bucket, delta)
      redis.call('HINCRBY', key, 't', delta)
    end
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBY', key, 't', delta)
    local settled = redis.call('HINCRBY', key, 's', ARGV[a + 4])
    if ARGV[a + 6] ~= '' then
      alert(i, key, settled, tonumber(ARGV[a + 5]), ARGV[a + 6])
    end
  end
end
return crossed
