-- Removes the rows of relays whose last heartbeat is before $1: they died
-- without leaving.
DELETE FROM {{node}} WHERE heartbeat_at < $1 RETURNING id
