-- Hands back what the owner holds, as if it had never been claimed. Leased
-- commands are heads of their agents' queues, found as in fragment/heads.sql, and
-- updated by the row version the walk read; the UPDATE's conditions are
-- checked again on the row it changes (PostgreSQL follows a row changed
-- since to its newest version, or skips it; either way no row that stopped
-- being this owner's is touched). Release runs once the relay has stopped
-- settling, so nothing of its own is locked meanwhile.
{{> heads}}
UPDATE {{inbox}} u
   SET state = 'ready', lease_owner = NULL, lease_expires = NULL, attempts = u.attempts - 1
 WHERE u.ctid = ANY (ARRAY(SELECT h.tid FROM head h WHERE h.state = 'running' AND h.lease_owner = $1))
   AND u.state = 'running' AND u.lease_owner = $1
