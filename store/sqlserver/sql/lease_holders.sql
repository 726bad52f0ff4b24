-- The commands each lease owner holds at the switch (relay.LeaseHolders).
SELECT lease_owner, COUNT_BIG(*), MAX(lease_expires)
  FROM {{inbox}}
 WHERE state = 'running' AND lease_owner IS NOT NULL
 GROUP BY lease_owner
 ORDER BY lease_owner;
