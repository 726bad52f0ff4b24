-- Removes the rows of relays whose last heartbeat is before @p1.
DELETE FROM {{node}} OUTPUT DELETED.id WHERE heartbeat_at < @p1
