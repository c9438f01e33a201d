-- Shared by every script: the clock and the sliding-window bookkeeping.
--
-- A sliding-window counter is a hash: 't' the total inside the window, 'lo' and 'hi' the
-- oldest and newest bucket numbers held, and one field per bucket (its number) with the
-- amount added while it was current. A calendar-period counter is a hash with 't' (held:
-- reservations and settled usage) and 's' (settled usage only), its key naming the period.
local BUCKETS = 60
-- Settles of a period's last requests still land after it ends.
local PERIOD_GRACE_MS = 3600000

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function bucket_ms(window_ms)
  return math.max(1, math.floor(window_ms / BUCKETS))
end

local function int(n)
  return string.format('%d', n)
end

-- The words of one argument: a request's (or a settle's) numbers travel as one string,
-- since the client's cost is per argument. '-' stands for an empty word.
local function words(s)
  local w = {}
  for v in string.gmatch(s, '%S+') do
    w[#w + 1] = v == '-' and '' or v
  end
  return w
end

-- Drop the buckets that have left the window. Returns the total still inside and the
-- oldest and newest buckets held (nil when the counter is empty).
local function trim(key, current)
  local f = redis.call('HMGET', key, 't', 'lo', 'hi')
  local total, lo, hi = tonumber(f[1]) or 0, tonumber(f[2]), tonumber(f[3])
  if not lo then
    return 0, nil, nil
  end
  local oldest = current - BUCKETS + 1
  if hi < oldest then
    redis.call('DEL', key)
    return 0, nil, nil
  end
  if lo < oldest then
    local freed = 0
    for b = lo, oldest - 1 do
      local v = redis.call('HGET', key, b)
      if v then
        freed = freed + tonumber(v)
        redis.call('HDEL', key, b)
      end
    end
    total = total - freed
    lo = oldest
    redis.call('HINCRBY', key, 't', int(-freed))
    redis.call('HSET', key, 'lo', lo)
  end
  return total, lo, hi
end

-- Replace what a reservation held on one counter by the real amount: `delta` (real minus
-- held) on the total, and on the bucket it was held in while that is still inside the
-- window. Returns a calendar period's settled total, nil for a window or a counter gone.
local function apply(key, window_ms, at, delta, actual)
  if window_ms > 0 then
    local bms = bucket_ms(window_ms)
    local bucket = math.floor(at / bms)
    local _, lo = trim(key, math.floor(now / bms))
    -- A reservation whose bucket has left the window already counts for nothing.
    if lo and bucket >= lo and redis.call('HEXISTS', key, bucket) == 1 then
      redis.call('HINCRBY', key, bucket, delta)
      redis.call('HINCRBY', key, 't', delta)
    end
    return nil
  end
  if redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBY', key, 't', delta)
    return redis.call('HINCRBY', key, 's', actual)
  end
  return nil
end

-- A lease is a hash (its request's), one field per reserve call ("part") holding the
-- charges as JSON [[counter key, window_ms, at_ms, amount, dimension], ...]; the sorted
-- set of leases scores each by when it ends. Settling a part removes it; the last part
-- gone removes the lease.
local function drop_part(lease, part, leases)
  redis.call('HDEL', lease, part)
  if redis.call('EXISTS', lease) == 0 then
    redis.call('ZREM', leases, lease)
  end
end
