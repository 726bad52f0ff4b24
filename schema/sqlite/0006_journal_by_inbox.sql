-- ctirelay schema, step 6 (SQLite): find a command's dead letter by its
-- inbox id (GET /v1/commands/{id}, whatever its source). The journal gets
-- no such index: each command would pay two more B-tree inserts for it
-- (6% of a burn-down's CPU, measured); the store finds a command's journal
-- rows by a binary search on the journal's key instead (sql/command.sql).
CREATE INDEX {{prefix}}dead_inbox ON {{dead}} (inbox_id) WHERE inbox_id IS NOT NULL;
