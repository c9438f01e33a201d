-- The leases that have ended, oldest first.
-- KEYS: the set of leases. ARGV: how many at most.
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
