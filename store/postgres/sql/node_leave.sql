-- Relay $1 stopped cleanly.
DELETE FROM {{node}} WHERE id = $1
