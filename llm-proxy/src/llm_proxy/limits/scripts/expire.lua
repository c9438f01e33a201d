-- End leases: give back what their reservations hold, or settle it with real usage (the
-- spend record of an answer its dead replica delivered).
-- KEYS: the set of leases, m lease hashes, then every counter their charges name.
-- ARGV: only_ended ("1": skip a lease that has not ended, as renewed meanwhile), m, then 4
--   per lease: served (1 or 0), input tokens, output tokens, nano-USD.
-- A lease naming a counter not among KEYS (a part added since the caller read it) is left
-- for the next sweep. Reply: how many leases were ended.
local leases, only_ended, m = KEYS[1], ARGV[1] == '1', tonumber(ARGV[2])
local declared = {}
for i = m + 2, #KEYS do
  declared[KEYS[i]] = true
end

local function actual(dimension, usage)
  if dimension == 'requests' then
    return usage[1]
  elseif dimension == 'tokens' then
    return usage[2] + usage[3]
  elseif dimension == 'input_tokens' then
    return usage[2]
  elseif dimension == 'output_tokens' then
    return usage[3]
  end
  return usage[4]
end

local function parts_of(lease)
  local parts, fields = {}, redis.call('HGETALL', lease)
  for f = 2, #fields, 2 do
    for _, charge in ipairs(cjson.decode(fields[f])) do
      if not declared[charge[1]] then
        return nil
      end
      parts[#parts + 1] = charge
    end
  end
  return parts
end

local ended = 0
for i = 1, m do
  local lease, a = KEYS[i + 1], 2 + (i - 1) * 4
  local score = redis.call('ZSCORE', leases, lease)
  local due = score and (not only_ended or tonumber(score) <= now)
  local charges = due and parts_of(lease)
  if charges then
    local usage = {tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]),
      tonumber(ARGV[a + 4])}
    for _, c in ipairs(charges) do
      local real = actual(c[5], usage)
      apply(c[1], tonumber(c[2]), tonumber(c[3]), int(real - tonumber(c[4])), int(real))
    end
    redis.call('DEL', lease)
    redis.call('ZREM', leases, lease)
    ended = ended + 1
  end
end
return ended
