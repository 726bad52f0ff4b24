-- ctirelay schema, step 12 (PostgreSQL): the event fence's probe costs an
-- index entry only for logins that are not in lower case.
-- Step 6 indexed every inbox row by (lower(agent), agent, id) so that the
-- probe for another relay's commands (sql/in_flight.sql) finds each
-- spelling's head whatever the letter case. That was one more B-tree entry,
-- and a WAL record, for every command (7% of a PostgreSQL burn-down). A
-- spelling in lower case is lower(agent) itself: the probe reaches its head
-- by the key (agent, id), so only the other spellings need this index. The
-- agent never changes once a command is queued, so the predicate never
-- changes either: claims and renewals stay heap-only updates (step 2).
-- Index names are unqualified, as in step 2.
DROP INDEX {{prefix}}inbox_login;
CREATE INDEX {{prefix}}inbox_login_folded ON {{inbox}} (lower(agent), agent, id) WHERE agent <> lower(agent);
