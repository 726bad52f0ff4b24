-- ctirelay schema, step 5 (SQL Server): how old the T_TTO rows are, as
-- PostgreSQL's step 13: every row of T_TTO with an id up to tto_id was
-- written at or before `at`; the leader records a mark a minute while
-- jobs.retention.tto_age is set.
CREATE TABLE {{tto_mark}} (
    at     datetime2(6) NOT NULL,
    tto_id bigint       NOT NULL
);
CREATE INDEX {{prefix}}tto_mark_at ON {{tto_mark}} (at);
