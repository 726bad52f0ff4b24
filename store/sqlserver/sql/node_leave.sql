-- Relay @p1 stopped cleanly.
DELETE FROM {{node}} WHERE id = @p1
