-- ctirelay schema, step 7 (SQLite): how old the T_TTO rows are, as
-- PostgreSQL's step 13: every row of T_TTO with an id up to tto_id was
-- written at or before `at` (µs since the Unix epoch); the leader records a
-- mark a minute while jobs.retention.tto_age is set.
CREATE TABLE {{tto_mark}} (
    at     INTEGER NOT NULL,
    tto_id INTEGER NOT NULL
);
CREATE INDEX {{prefix}}tto_mark_at ON {{tto_mark}} (at);
