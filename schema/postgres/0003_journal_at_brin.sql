-- ctirelay schema, step 3 (PostgreSQL): a cheaper index on journal time.
-- Journal rows are appended in time order, so a BRIN index (a summary per
-- range of pages) finds the last minute, hour or day for the views and for
-- retention about as well as the B-tree did, while costing next to nothing
-- on the two journal rows every command writes.
-- Index names are unqualified, as in step 2.
DROP INDEX {{prefix}}journal_at;
CREATE INDEX {{prefix}}journal_at ON {{journal}} USING brin (at);
