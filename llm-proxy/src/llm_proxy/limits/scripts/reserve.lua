-- Reserve amounts on counters, all or nothing per request, under a lease: the requests
-- of one call are decided one after another, as if each had been a call of its own.
-- KEYS: per request, one hash per counter, then the lease's hash (when leased); last, the
--   set of leases.
-- ARGV: how many requests, then one per request, its words (`words`): how many counters,
--   lease part ("": not leased), lease length ms, then 6 per counter: limit, amount,
--   window_ms (0: calendar period), enforce, period_end_ms, dimension.
--   enforce: 0 counted only, 1 the amount must fit under the limit, 2 admitted while the
--   total is below the limit.
-- Reply: per request {admitted, now_ms, then per counter: used, reset_ms, wait_ms}; wait_ms
-- is 0 for a counter that does not refuse, −1 when the amount can never fit.

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

-- One request: its counters are KEYS[k + 1 .. k + n], their words from w[4].
local function reserve(k, w, reply)
  local n, part, lease_ms = tonumber(w[1]), w[2], tonumber(w[3])
  local first = #reply
  reply[first + 1] = 1
  reply[first + 2] = now
  local admitted = 1
  for i = 1, n do
    local c = 3 + (i - 1) * 6
    local used, reset, wait = check(
      KEYS[k + i], tonumber(w[c + 1]), tonumber(w[c + 2]), tonumber(w[c + 3]),
      tonumber(w[c + 4]), tonumber(w[c + 5]))
    if wait ~= 0 then
      admitted = 0
    end
    reply[#reply + 1] = used
    reply[#reply + 1] = reset
    reply[#reply + 1] = wait
  end
  if admitted == 1 then
    local charges = {}
    for i = 1, n do
      local key, c = KEYS[k + i], 3 + (i - 1) * 6
      local window_ms = tonumber(w[c + 3])
      add(key, w[c + 2], window_ms, tonumber(w[c + 5]))
      local r = first + 2 + (i - 1) * 3
      reply[r + 1] = reply[r + 1] + tonumber(w[c + 2])
      if window_ms > 0 then
        local bms = bucket_ms(window_ms)
        reply[r + 2] = (math.floor(now / bms) + BUCKETS) * bms - now
      end
      charges[i] = {key, w[c + 3], int(now), w[c + 2], w[c + 6]}
    end
    if part ~= '' then
      redis.call('HSET', KEYS[k + n + 1], part, cjson.encode(charges))
      redis.call('ZADD', KEYS[#KEYS], now + lease_ms, KEYS[k + n + 1])
    end
  end
  reply[first + 1] = admitted
  return n + (part ~= '' and 1 or 0)
end

local reply = {}
local k = 0
for r = 1, tonumber(ARGV[1]) do
  k = k + reserve(k, words(ARGV[1 + r]), reply)
end
return reply
