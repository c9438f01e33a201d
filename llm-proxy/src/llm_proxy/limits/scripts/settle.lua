-- Settle held reservations with real amounts, and report budget thresholds crossed.
-- KEYS: n counter hashes, then n lease hashes (the i-th adjustment's), then the set of leases.
-- ARGV: 7 per counter: window_ms (0: calendar period), reserved_at_ms, delta (real minus
--   reserved), real amount, limit, alert thresholds ("0.8,1" or ""), lease part ("": none).
-- A leased adjustment applies only while its lease part is held: once the lease ended and
-- the sweep gave the reservation back, settling it too would give it back twice.
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

local n = (#KEYS - 1) / 2
local leases = KEYS[#KEYS]
local held = {}

local function is_held(lease, part)
  if part == '' then
    return true
  end
  local id = lease .. '\n' .. part
  if held[id] == nil then
    held[id] = redis.call('HEXISTS', lease, part) == 1
  end
  return held[id]
end

for i = 1, n do
  local key, lease, a = KEYS[i], KEYS[n + i], (i - 1) * 7
  local window_ms, at, delta = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3]
  if is_held(lease, ARGV[a + 7]) then
    local settled = apply(key, window_ms, at, delta, ARGV[a + 4])
    if settled and ARGV[a + 6] ~= '' then
      alert(i, key, settled, tonumber(ARGV[a + 5]), ARGV[a + 6])
    end
  end
end
for i = 1, n do
  local part = ARGV[(i - 1) * 7 + 7]
  if part ~= '' then
    drop_part(KEYS[n + i], part, leases)
  end
end
return crossed
