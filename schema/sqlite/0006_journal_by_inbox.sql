-- ctirelay schema, step 6 (SQLite): find a command's journal rows and dead
-- letter by its inbox id (GET /v1/commands/{id}, whatever its source).
-- Partial: events (no inbox id) are not indexed. Inbox ids grow with the
-- journal, so each insert lands at the index's right edge; its cost on the
-- burn-down is in docs/performance.md.
CREATE INDEX {{prefix}}journal_inbox ON {{journal}} (inbox_id) WHERE inbox_id IS NOT NULL;
CREATE INDEX {{prefix}}dead_inbox ON {{dead}} (inbox_id) WHERE inbox_id IS NOT NULL;
