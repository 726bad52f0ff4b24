-- The commands each lease owner holds at the switch (relay.LeaseHolders),
-- read through the partial index on leased rows.
SELECT lease_owner, count(*), max(lease_expires)
  FROM {{inbox}}
 WHERE state = 'running' AND lease_owner IS NOT NULL
 GROUP BY lease_owner
 ORDER BY lease_owner
