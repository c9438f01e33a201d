-- Settle held reservations with real amounts, and report budget thresholds crossed.
-- KEYS: n counter hashes, then n lease hashes (the i-th adjustment's), then the set of leases.
-- ARGV: one per counter, its 7 words (`words`): window_ms (0: calendar period),
--   reserved_at_ms, delta (real minus reserved), real amount, limit, alert thresholds
--   ("0.8,1" or ""), lease part ("": none).
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

local parts = {}
for i = 1, n do
  local key, lease, w = KEYS[i], KEYS[n + i], words(ARGV[i])
  local window_ms, at, delta = tonumber(w[1]), tonumber(w[2]), w[3]
  parts[i] = w[7]
  if is_held(lease, w[7]) then
    local settled = apply(key, window_ms, at, delta, w[4])
    if settled and w[6] ~= '' then
      alert(i, key, settled, tonumber(w[5]), w[6])
    end
  end
end
for i = 1, n do
  if parts[i] ~= '' then
    drop_part(KEYS[n + i], parts[i], leases)
  end
end
return crossed
