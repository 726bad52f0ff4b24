-- ctirelay schema, step 13 (PostgreSQL): how old the T_TTO rows are.
-- T_TTO (IS_TTO, DS_TTO) is the ERP's table and has no time column, and it
-- is never altered. While the retention job expires unread T_TTO rows
-- (jobs.retention.tto_age), the leader records here, every minute, the
-- largest IS_TTO and when it saw it: every row with an id up to tto_id was
-- written at or before `at` (IS_TTO only grows). The job deletes the marks
-- it no longer needs, so the table holds about a row a minute of tto_age.
CREATE TABLE {{tto_mark}} (
    at     timestamptz NOT NULL,
    tto_id bigint      NOT NULL
);
CREATE INDEX {{prefix}}tto_mark_at ON {{tto_mark}} (at);
