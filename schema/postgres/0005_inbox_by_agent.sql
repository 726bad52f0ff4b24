-- ctirelay schema, step 5 (PostgreSQL): the inbox keyed by (agent, id).
-- Every statement of the relay reaches an inbox row through its agent: the
-- heads of the agents' queues, the next command of an agent, a settled
-- command (the relay knows whose it was). So the primary key becomes
-- (agent, id) and the separate (agent, id) index goes: one B-tree entry per
-- command instead of two. Ids stay unique: they come from the identity.
-- Index names are unqualified, as in step 2.
ALTER TABLE {{inbox}}
    DROP CONSTRAINT {{prefix}}inbox_pkey,
    ADD CONSTRAINT {{prefix}}inbox_pkey PRIMARY KEY (agent, id);
DROP INDEX {{prefix}}inbox_agent_id;
