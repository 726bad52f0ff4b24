-- ctirelay schema, step 5 (PostgreSQL): the inbox keyed by (agent, id).
-- Every statement of the relay reaches an inbox row through its agent: the
-- heads of the agents' queues, the next command of an agent, a settled
-- command (the relay knows whose it was). So the primary key becomes
-- (agent, id) and the separate (agent, id) index goes: one B-tree entry per
-- command instead of two. Ids stay unique: they come from the identity.
-- Relays of earlier versions look inbox rows up by id alone: stop them all
-- before this step runs (docs/operations.md, Migrations).
-- The old key's name is looked up: PostgreSQL shortens a long table name
-- when it names a key, so it cannot be spelled from the prefix.
-- Index names are unqualified, as in step 2.
DO $$
DECLARE
    old_key name;
BEGIN
    SELECT conname INTO STRICT old_key
      FROM pg_constraint
     WHERE conrelid = '{{inbox}}'::regclass AND contype = 'p';
    EXECUTE format('ALTER TABLE {{inbox}} DROP CONSTRAINT %I', old_key);
END
$$;
ALTER TABLE {{inbox}} ADD PRIMARY KEY (agent, id);
DROP INDEX {{prefix}}inbox_agent_id;
