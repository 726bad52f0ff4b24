-- Creates cursor @p1 at position @p2, at @p3, once: when the name is there
-- it inserts nothing (PublishOnce reads the row count). UPDLOCK, HOLDLOCK
-- hold the key range, so two relays publishing one spill cannot both insert.
INSERT INTO {{cursor}} (name, position, updated_at)
SELECT @p1, @p2, @p3
 WHERE NOT EXISTS (SELECT 1 FROM {{cursor}} WITH (UPDLOCK, HOLDLOCK) WHERE name = @p1)
