-- ctirelay schema, step 4 (SQL Server): find a command's journal rows and
-- dead letter by its inbox id (GET /v1/commands/{id}, whatever its source),
-- as PostgreSQL's step 11 and SQLite's step 6. Filtered: events (no inbox
-- id) are not indexed; inbox ids grow with the journal, so inserts land at
-- the index's right edge.
CREATE INDEX {{prefix}}journal_inbox ON {{journal}} (inbox_id) WHERE inbox_id IS NOT NULL;
CREATE INDEX {{prefix}}dead_inbox ON {{dead}} (inbox_id) WHERE inbox_id IS NOT NULL;
