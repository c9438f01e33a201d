-- Reserve amounts on counters, all or nothing, under a lease.
-- KEYS: one hash per counter, then the lease's hash and the set of leases (when leased).
-- ARGV: lease part ("": not leased), lease length ms, then 6 per counter: limit, amount,
--   window_ms (0: calendar period), enforce, period_end_ms, dimension.
--   enforce: 0 counted only, 1 the amount must fit under the limit, 2 admitted while the
--   total is below the limit.
-- Reply: {admitted, now_ms, then per counter: used, reset_ms, wait_ms}; wait_ms is 0 for a
-- counter that does not refuse, −1 when the amount can never fit.

-- How long until enough of a sliding window's buckets leave it to free `need`.
local function wait_for(key, lo, hi, need, bms)
  local freed = 0
  for b = lo, hi do
    local v = redis.call('HGET', key, b)
    if v then
      freed = freed + tonumber(v)
      if freed >= need then
        return math.max(1, (b + BUCKETS) * bms - now)
      end
    end
  end
  return -1
end

local function check(key, limit, amount, window_ms, enforce, period_end)
  local used, reset, wait = 0, 0, 0
  local need
  if window_ms > 0 then
    local bms = bucket_ms(window_ms)
    local total, lo, hi = trim(key, math.floor(now / bms))
    used = total
    if hi then
      reset = (hi + BUCKETS) * bms - now
    end
    if enforce == 1 then
      need = used + amount - limit
    elseif enforce == 2 then
      need = used - limit + 1
    end
    if need and need > 0 then
      if enforce == 1 and amount > limit then
        wait = -1
      else
        wait = wait_for(key, lo, hi, need, bms)
      end
    end
  else
    used = tonumber(redis.call('HGET', key, 't')) or 0
    reset = math.max(0, period_end - now)
    local over = (enforce == 1 and used + amount > limit) or (enforce == 2 and used >= limit)
    if over then
      wait = (enforce == 1 and amount > limit) and -1 or math.max(1, reset)
    end
  end
  return used, reset, wait
end

local function add(key, amount, window_ms, period_end)
  if window_ms > 0 then
    local bms = bucket_ms(window_ms)
    local current = math.floor(now / bms)
    redis.call('HINCRBY', key, current, amount)
    redis.call('HINCRBY', key, 't', amount)
    redis.call('HSETNX', key, 'lo', current)
    redis.call('HSET', key, 'hi', current)
    redis.call('PEXPIRE', key, window_ms + bms)
  else
    redis.call('HINCRBY', key, 't', amount)
    redis.call('PEXPIRE', key, math.max(1, period_end - now) + PERIOD_GRACE_MS)
  end
end

local part, lease_ms = ARGV[1], tonumber(ARGV[2])
local n = #KEYS
if part ~= '' then
  n = n - 2
end

local reply = {1, now}
local admitted = 1
for i = 1, n do
  local key, a = KEYS[i], 2 + (i - 1) * 6
  local used, reset, wait = check(
    key, tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]),
    tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]))
  if wait ~= 0 then
    admitted = 0
  end
  reply[#reply + 1] = used
  reply[#reply + 1] = reset
  reply[#reply + 1] = wait
end
local charges = {}
if admitted == 1 then
  for i = 1, n do
    local key, a = KEYS[i], 2 + (i - 1) * 6
    local window_ms = tonumber(ARGV[a + 3])
    add(key, ARGV[a + 2], window_ms, tonumber(ARGV[a + 5]))
    local r = 2 + (i - 1) * 3
    reply[r + 1] = reply[r + 1] + tonumber(ARGV[a + 2])
    if window_ms > 0 then
      local bms = bucket_ms(window_ms)
      reply[r + 2] = (math.floor(now / bms) + BUCKETS) * bms - now
    end
    charges[i] = {key, ARGV[a + 3], int(now), ARGV[a + 2], ARGV[a + 6]}
  end
  if part ~= '' then
    redis.call('HSET', KEYS[n + 1], part, cjson.encode(charges))
    redis.call('ZADD', KEYS[n + 2], now + lease_ms, KEYS[n + 1])
  end
end
reply[1] = admitted
return reply
