UPDATE {{inbox}}
   SET lease_expires = $2
 WHERE state = 'running' AND lease_owner = $1
