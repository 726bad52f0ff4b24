-- ctirelay schema, step 3 (SQL Server): the journal holds the relay's own
-- notes too (kind 'note'), as PostgreSQL's step 10. WITH NOCHECK: the rows
-- there passed the stricter check already.
ALTER TABLE {{journal}} DROP CONSTRAINT {{prefix}}journal_kind_ck;
ALTER TABLE {{journal}} WITH NOCHECK ADD CONSTRAINT {{prefix}}journal_kind_ck
    CHECK (kind IN ('command', 'rejected', 'reply', 'event', 'note'));
