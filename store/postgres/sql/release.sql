-- Hands back what the owner holds, as if it had never been claimed.
UPDATE {{inbox}}
   SET state = 'ready', lease_owner = NULL, lease_expires = NULL, attempts = attempts - 1
 WHERE state = 'running' AND lease_owner = $1
