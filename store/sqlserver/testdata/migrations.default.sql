-- version table
IF OBJECT_ID(N'relay_schema_migrations', N'U') IS NULL
    EXEC (N'CREATE TABLE relay_schema_migrations (
        version    int           NOT NULL PRIMARY KEY,
        name       nvarchar(200) NOT NULL,
        applied_at datetime2(6)  NOT NULL
    )');
-- exists: SELECT CAST(CASE WHEN OBJECT_ID(@p1, N'U') IS NULL THEN 0 ELSE 1 END AS bit)
-- is applied: SELECT COUNT(*) FROM {{migrations}} WHERE version = @p1
-- record: INSERT INTO {{migrations}} (version, name, applied_at) VALUES (@p1, @p2, @p3)

-- 0001 init
-- ctirelay schema, step 1 (SQL Server 2016 or later; written for 2019 and 2022).
-- Times are datetime2(6), in UTC, always written by the relay from its own
-- clock; the views read the database clock (SYSUTCDATETIME, or the relay's,
-- see ctirelay.now below) only to show ages. Text is nvarchar: a frame is
-- Unicode, and a Go string parameter is nvarchar, so no implicit conversion
-- turns an index seek into a scan. Columns holding only the relay's own
-- ASCII words (source, state, kind ...) are varchar, and the relay sends
-- those as varchar. The agent and lease owner columns compare in binary
-- (Latin1_General_100_BIN2), as PostgreSQL does: per-agent order and lease
-- fences must not merge two spellings that a case-insensitive database
-- collation would call equal.
-- CREATE VIEW must be alone in its batch, so the views are created through
-- EXEC; the whole step still runs in the migrator's one transaction.

-- The ERP's tables, exactly as the Tactium document defines them. Created when
-- absent, never altered: legacy writers insert positionally. IS_TTI and IS_TTO
-- are bigint IDENTITY unless the relay is configured for an ERP that numbers
-- its own rows (database.explicit_ids: erp_ids below reads 'explicit'):
--   identity: INSERT INTO T_TTI (DS_TTI) VALUES (N'...') and
--             INSERT INTO T_TTI VALUES (N'...') work; INSERT INTO T_TTI
--             VALUES (1, N'...') fails (error 8101) unless the writer sets
--             IDENTITY_INSERT ON.
--   explicit: INSERT INTO T_TTI VALUES (1, N'...') works; VALUES (N'...')
--             fails on the column count (error 213), and a row without
--             IS_TTI fails on NOT NULL (error 515).
-- One CREATE TABLE each, run through EXEC so the column's definition can be
-- chosen here.
DECLARE @erp_id nvarchar(60) = CASE WHEN 'identity' = 'identity'
                                    THEN N'bigint IDENTITY(1, 1) NOT NULL PRIMARY KEY'
                                    ELSE N'bigint NOT NULL PRIMARY KEY' END;
IF OBJECT_ID(N'T_TTI', N'U') IS NULL
    EXEC (N'CREATE TABLE T_TTI (IS_TTI ' + @erp_id + N', DS_TTI nvarchar(max) NOT NULL)');
IF OBJECT_ID(N'T_TTO', N'U') IS NULL
    EXEC (N'CREATE TABLE T_TTO (IS_TTO ' + @erp_id + N', DS_TTO nvarchar(max) NOT NULL)');

-- The relay's work queue: one row per accepted command until it is settled.
-- Every statement reaches a row through its agent (the heads of the agents'
-- queues, an agent's next command, a settled command), so the clustered key
-- is (agent, id): one B-tree, seeks only. Ids come from the identity, handed
-- out in ORDER BY order while the writer holds the relay's intake applock,
-- so a later command always has a larger id and commits after the earlier
-- ones (per-agent order relies on it).
CREATE TABLE relay_inbox (
    id            bigint         IDENTITY(1, 1) NOT NULL,
    source        varchar(16)    NOT NULL,            -- erp, socket, file, http, cli
    source_ref    nvarchar(max)  NOT NULL,            -- IS_TTI, connection id, file name ...
    agent         nvarchar(400)  COLLATE Latin1_General_100_BIN2 NOT NULL, -- routing key: the agent login
    verb          nvarchar(max)  NOT NULL,
    frame         nvarchar(max)  NOT NULL,            -- the command as received
    state         varchar(8)     NOT NULL CONSTRAINT relay_inbox_state_df DEFAULT 'ready'
                                 CONSTRAINT relay_inbox_state_ck CHECK (state IN ('ready', 'running')),
    attempts      int            NOT NULL CONSTRAINT relay_inbox_attempts_df DEFAULT 0,
    not_before    datetime2(6)   NULL,                -- retry not before this time
    lease_owner   nvarchar(400)  COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires datetime2(6)   NULL,
    enqueued_at   datetime2(6)   NOT NULL,
    last_error    nvarchar(max)  NULL,
    -- the login in lower case: switches spell logins as they like (Tactium
    -- answers <jose><D>$ with <Jose><EndCall>$), and the relay that hears
    -- the switch's events looks for other relays' commands of an event's
    -- agent whatever the case (InFlight)
    agent_folded  AS CAST(LOWER(agent) AS nvarchar(400)) PERSISTED,
    CONSTRAINT relay_inbox_pk PRIMARY KEY CLUSTERED (agent, id)
);
-- A leased command is the head of its agent's queue, so each spelling of a
-- login costs one seek here. The column is added in this batch, so the
-- index is created through EXEC (compiled when it runs).
EXEC (N'CREATE INDEX relay_inbox_folded ON relay_inbox (agent_folded, agent, id) INCLUDE (state, attempts, lease_owner)');

-- Commands that can never succeed, with why. Rows refused at intake have no
-- inbox_id and no verb (they cannot be retried).
CREATE TABLE relay_dead (
    id          bigint         IDENTITY(1, 1) NOT NULL CONSTRAINT relay_dead_pk PRIMARY KEY CLUSTERED,
    inbox_id    bigint         NULL,
    source      varchar(16)    NOT NULL,
    source_ref  nvarchar(max)  NOT NULL,
    agent       nvarchar(400)  COLLATE Latin1_General_100_BIN2 NOT NULL, -- '' when no login could be read
    verb        nvarchar(max)  NULL,
    frame       nvarchar(max)  NOT NULL,
    code        nvarchar(400)  NULL,                  -- the ERR code answered
    reason      nvarchar(max)  NOT NULL,
    attempts    int            NOT NULL,
    enqueued_at datetime2(6)   NOT NULL,
    died_at     datetime2(6)   NOT NULL
);

-- Every message in either direction: the audit log, the feed bridges tail and
-- the input of reconciliation. Writers take the relay's output applock before
-- their first journal row and keep it to commit, so ids become visible in
-- order and a tail cursor never skips a row committed late.
CREATE TABLE relay_journal (
    id         bigint         IDENTITY(1, 1) NOT NULL CONSTRAINT relay_journal_pk PRIMARY KEY CLUSTERED,
    at         datetime2(6)   NOT NULL,
    direction  varchar(3)     NOT NULL CONSTRAINT relay_journal_direction_ck CHECK (direction IN ('in', 'out')),
    kind       varchar(8)     NOT NULL CONSTRAINT relay_journal_kind_ck CHECK (kind IN ('command', 'rejected', 'reply', 'event')),
    agent      nvarchar(400)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    frame      nvarchar(max)  NOT NULL,
    origin     varchar(16)    NOT NULL,               -- the command's source, or 'switch'
    source_ref nvarchar(max)  NULL,
    inbox_id   bigint         NULL,
    outcome    varchar(3)     NULL CONSTRAINT relay_journal_outcome_ck CHECK (outcome IN ('ok', 'err')),
    latency_us bigint         NULL,
    -- why an output is not in T_TTO: the database refused it (a column too
    -- narrow, a CHECK or trigger of the ERP's); it is in relay_dead too,
    -- with source 'output'. NULL for every other row.
    error      nvarchar(max)  NULL
);
CREATE INDEX relay_journal_at ON relay_journal (at);

-- Durable position of each bridge or webhook in the journal.
CREATE TABLE relay_cursor (
    name       nvarchar(200)  COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT relay_cursor_pk PRIMARY KEY CLUSTERED,
    position   bigint         NOT NULL CONSTRAINT relay_cursor_position_df DEFAULT 0,
    updated_at datetime2(6)   NOT NULL
);

-- Running relays and their heartbeats.
CREATE TABLE relay_node (
    id           nvarchar(200)  COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT relay_node_pk PRIMARY KEY CLUSTERED,
    host         nvarchar(400)  NOT NULL,
    pid          int            NOT NULL,
    version      nvarchar(200)  NOT NULL,
    started_at   datetime2(6)   NOT NULL,
    heartbeat_at datetime2(6)   NOT NULL
);

-- History of scheduled jobs.
CREATE TABLE relay_job_run (
    id          bigint         IDENTITY(1, 1) NOT NULL CONSTRAINT relay_job_run_pk PRIMARY KEY CLUSTERED,
    job         nvarchar(200)  NOT NULL,
    node        nvarchar(200)  NOT NULL,
    started_at  datetime2(6)   NOT NULL,
    finished_at datetime2(6)   NULL,
    outcome     nvarchar(100)  NULL,
    detail      nvarchar(max)  NULL
);
CREATE INDEX relay_job_run_job ON relay_job_run (job, started_at);

-- Views for DBAs. "Now" is the database clock (UTC), unless the session set
-- ctirelay.now in its session context (the relay does, in the batch that reads
-- a view, so `ctirelay status` and its tests use the relay's clock); ages are
-- whole seconds.

-- One row: the depth of every queue. ready counts every waiting command,
-- retrying those among them that already failed at least once.
EXEC (N'CREATE VIEW relay_queue_status AS
WITH clock AS (
    SELECT COALESCE(CONVERT(datetime2(6), SESSION_CONTEXT(N''ctirelay.now'')), SYSUTCDATETIME()) AS now
)
SELECT
    (SELECT COUNT_BIG(*) FROM T_TTI)                                            AS pending,
    (SELECT COUNT_BIG(*) FROM relay_inbox)                                          AS inbox,
    (SELECT COUNT_BIG(*) FROM relay_inbox WHERE state = ''ready'')                  AS ready,
    (SELECT COUNT_BIG(*) FROM relay_inbox WHERE state = ''running'')                AS in_flight,
    (SELECT COUNT_BIG(*) FROM relay_inbox WHERE state = ''ready'' AND attempts > 0) AS retrying,
    (SELECT COUNT_BIG(*) FROM relay_dead)                                           AS dead,
    (SELECT COUNT_BIG(*) FROM T_TTO)                                            AS outbox,
    (SELECT CASE WHEN COUNT_BIG(*) > 0
                 THEN CASE WHEN MIN(i.enqueued_at) < clock.now
                           THEN DATEDIFF_BIG(microsecond, MIN(i.enqueued_at), clock.now) / 1000000
                           ELSE 0 END END
       FROM relay_inbox AS i)                                                       AS oldest_age_s, -- NULL when empty
    (SELECT COUNT_BIG(*) FROM relay_journal AS j
      WHERE j.kind = ''reply'' AND j.at >= DATEADD(minute, -1, clock.now))       AS done_1m
  FROM clock');

-- One row per agent with commands in the inbox or journal activity in the
-- last day (found through the journal's time index).
EXEC (N'CREATE VIEW relay_agent_status AS
WITH clock AS (
    SELECT COALESCE(CONVERT(datetime2(6), SESSION_CONTEXT(N''ctirelay.now'')), SYSUTCDATETIME()) AS now
), recent AS (
    SELECT j.agent, MAX(j.at) AS last_at
      FROM relay_journal AS j CROSS JOIN clock
     WHERE j.at >= DATEADD(day, -1, clock.now) AND j.agent <> N''''
     GROUP BY j.agent
), queued AS (
    SELECT agent,
           COUNT_BIG(CASE WHEN state = ''ready'' THEN 1 END)                  AS pending,
           COUNT_BIG(CASE WHEN state = ''running'' THEN 1 END)                AS in_flight,
           COUNT_BIG(CASE WHEN state = ''ready'' AND attempts > 0 THEN 1 END) AS retrying,
           MIN(enqueued_at)                                                   AS oldest
      FROM relay_inbox
     GROUP BY agent
)
SELECT COALESCE(q.agent, r.agent)                AS agent,
       COALESCE(q.pending, 0)                    AS pending,
       COALESCE(q.in_flight, 0)                  AS in_flight,
       COALESCE(q.retrying, 0)                   AS retrying,
       CASE WHEN q.oldest IS NULL THEN NULL
            WHEN q.oldest >= clock.now THEN CAST(0 AS bigint)
            ELSE DATEDIFF_BIG(microsecond, q.oldest, clock.now) / 1000000 END AS oldest_age_s,
       COALESCE(r.last_at, q.oldest)             AS last_activity
  FROM queued AS q
  FULL JOIN recent AS r ON r.agent = q.agent
 CROSS JOIN clock');

-- Per minute for the last hour: commands taken, replies and events. A view
-- has no ORDER BY: order by minute when reading it.
EXEC (N'CREATE VIEW relay_throughput AS
WITH clock AS (
    SELECT COALESCE(CONVERT(datetime2(6), SESSION_CONTEXT(N''ctirelay.now'')), SYSUTCDATETIME()) AS now
), m AS (
    SELECT DATEADD(minute, DATEDIFF(minute, CAST(''2000-01-01'' AS datetime2(6)), j.at),
                   CAST(''2000-01-01'' AS datetime2(6))) AS minute,
           j.kind, j.outcome
      FROM relay_journal AS j CROSS JOIN clock
     WHERE j.at >= DATEADD(hour, -1, clock.now)
)
SELECT minute,
       COUNT_BIG(CASE WHEN kind = ''command'' THEN 1 END)                    AS commands,
       COUNT_BIG(CASE WHEN kind = ''reply'' AND outcome = ''ok'' THEN 1 END)  AS replies_ok,
       COUNT_BIG(CASE WHEN kind = ''reply'' AND outcome = ''err'' THEN 1 END) AS replies_err,
       COUNT_BIG(CASE WHEN kind = ''event'' THEN 1 END)                      AS events
  FROM m
 GROUP BY minute');

-- 0002 jobs
-- ctirelay schema, step 2 (SQL Server): scheduled jobs, as PostgreSQL's
-- step 9: one row per (job, scheduled slot), recorded before the run starts,
-- and at most one running run per job, both kept by filtered unique indexes;
-- relay_node.holds lists the locks a relay holds (comma-separated). The
-- columns of step 1 that no release wrote (outcome, detail) stay, unused:
-- status and summary replace them.
ALTER TABLE relay_job_run ADD
    status       nvarchar(100)  NOT NULL CONSTRAINT relay_job_run_status_df DEFAULT N'abandoned',
    summary      nvarchar(max)  NULL,
    slot         datetime2(6)   NULL,
    manual       bit            NOT NULL CONSTRAINT relay_job_run_manual_df DEFAULT 0,
    heartbeat_at datetime2(6)   NULL;
-- The new columns exist only once the batch above has run.
EXEC (N'UPDATE relay_job_run SET slot = started_at, heartbeat_at = started_at, manual = 1');
EXEC (N'ALTER TABLE relay_job_run ALTER COLUMN slot datetime2(6) NOT NULL');
EXEC (N'ALTER TABLE relay_job_run ALTER COLUMN heartbeat_at datetime2(6) NOT NULL');
EXEC (N'CREATE UNIQUE INDEX relay_job_run_slot ON relay_job_run (job, slot) WHERE manual = 0');
EXEC (N'CREATE UNIQUE INDEX relay_job_run_running ON relay_job_run (job) WHERE status = N''running''');

ALTER TABLE relay_node ADD holds nvarchar(1000) NOT NULL CONSTRAINT relay_node_holds_df DEFAULT N'';

-- 0003 journal_note
-- ctirelay schema, step 3 (SQL Server): the journal holds the relay's own
-- notes too (kind 'note'), as PostgreSQL's step 10. WITH NOCHECK: the rows
-- there passed the stricter check already.
ALTER TABLE relay_journal DROP CONSTRAINT relay_journal_kind_ck;
ALTER TABLE relay_journal WITH NOCHECK ADD CONSTRAINT relay_journal_kind_ck
    CHECK (kind IN ('command', 'rejected', 'reply', 'event', 'note'));

-- 0004 journal_by_inbox
-- ctirelay schema, step 4 (SQL Server): find a command's journal rows and
-- dead letter by its inbox id (GET /v1/commands/{id}, whatever its source),
-- as PostgreSQL's step 11 and SQLite's step 6. Filtered: events (no inbox
-- id) are not indexed; inbox ids grow with the journal, so inserts land at
-- the index's right edge.
CREATE INDEX relay_journal_inbox ON relay_journal (inbox_id) WHERE inbox_id IS NOT NULL;
CREATE INDEX relay_dead_inbox ON relay_dead (inbox_id) WHERE inbox_id IS NOT NULL;

-- 0005 tto_mark
-- ctirelay schema, step 5 (SQL Server): how old the T_TTO rows are, as
-- PostgreSQL's step 13: every row of T_TTO with an id up to tto_id was
-- written at or before `at`; the leader records a mark a minute while
-- jobs.retention.tto_age is set.
CREATE TABLE relay_tto_mark (
    at     datetime2(6) NOT NULL,
    tto_id bigint       NOT NULL
);
CREATE INDEX relay_tto_mark_at ON relay_tto_mark (at);
