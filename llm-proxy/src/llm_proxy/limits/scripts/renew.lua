-- Renew the leases of requests still in flight: each ends `lease_ms` from now again.
-- KEYS: the set of leases, then the lease hashes. ARGV: lease_ms.
-- Only leases still in the set are renewed: one the sweep already ended stays ended.
local ends = now + tonumber(ARGV[1])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[1], 'XX', ends, KEYS[i])
end
return #KEYS - 1
