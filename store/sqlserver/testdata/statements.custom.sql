-- ==== agents.sql
-- The agent status view at the relay's clock @p1 (as in status.sql).
SET NOCOUNT ON;
EXEC sp_set_session_context @key = N'ctirelay.now', @value = @p1;
SELECT agent, pending, in_flight, last_activity
  FROM cti.ctr_agent_status
 ORDER BY agent;
EXEC sp_set_session_context @key = N'ctirelay.now', @value = NULL;
-- ==== any_tti.sql
-- Is there a row to take? Asked before the intake transaction, so an idle
-- relay's poll is one seek on an empty index and takes no applock. A locking
-- read (READCOMMITTEDLOCK, whatever READ_COMMITTED_SNAPSHOT says) that skips
-- rows an ERP has not committed yet (READPAST) rather than waiting for them.
SELECT TOP (1) 1 FROM cti.ERP_IN WITH (READCOMMITTEDLOCK, READPAST)
-- ==== backlog_first_output.sql
-- The oldest output the journal still holds (relay.Backlog, when fewer are
-- journaled than rows are unread).
SELECT TOP (1) at FROM cti.ctr_journal
 WHERE direction = 'out' AND error IS NULL AND (kind = 'event' OR (kind = 'reply' AND origin = 'erp'))
 ORDER BY id
-- ==== backlog_tti.sql
-- The ends of T_TTI (relay.Backlog): both 0 when it is empty. Each is one
-- seek on the primary key; READPAST so rows an ERP has not committed yet
-- are skipped rather than waited for (as any_tti.sql does).
SELECT COALESCE((SELECT MIN(IS_TTI) FROM cti.ERP_IN WITH (READCOMMITTEDLOCK, READPAST)), 0),
       COALESCE((SELECT MAX(IS_TTI) FROM cti.ERP_IN WITH (READCOMMITTEDLOCK, READPAST)), 0)
-- ==== backlog_tto.sql
-- When the oldest unread T_TTO row was written (relay.Backlog): the at of
-- the n-th newest output journaled (@p1 = n - 1), outputs being what went
-- to T_TTO: events, and replies to the ERP's commands the database did not
-- refuse. Read backwards along the clustered key; n is bounded by the caller.
SELECT at FROM cti.ctr_journal
 WHERE direction = 'out' AND error IS NULL AND (kind = 'event' OR (kind = 'reply' AND origin = 'erp'))
 ORDER BY id DESC OFFSET @p1 ROWS FETCH NEXT 1 ROWS ONLY
-- ==== claim.sql
-- Leases, for @p1 until @p4, up to @p3 commands that are ready at @p2 and
-- at the head of their agent's queue (fragment/heads.sql). The ordered CTE
-- locks the heads oldest first, skipping (READPAST) rows another relay is
-- leasing or settling, and re-reads state under its update lock, so two
-- relays never hold commands of one agent: a head stays the head until it
-- is deleted, and a claim by another relay makes it running. The OUTPUT
-- names the CTE's columns (an UPDATE through a CTE sees those), so it
-- selects every column returned. Driven from @heads in id order, TOP stops
-- once @p3 rows qualified, so few rows beyond those are locked.
SET NOCOUNT ON;
DECLARE @heads TABLE (
    id            bigint        NOT NULL PRIMARY KEY,
    agent         nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state         varchar(8)    NOT NULL,
    not_before    datetime2(6)  NULL,
    lease_owner   nvarchar(400) COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires datetime2(6)  NULL
);
WITH head AS (
    SELECT f.id, f.agent, f.state, f.not_before, f.lease_owner, f.lease_expires
      FROM (SELECT TOP (1) i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires
              FROM cti.ctr_inbox AS i
             ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.id, n.agent, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM (SELECT i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires,
                   ROW_NUMBER() OVER (ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN cti.ctr_inbox AS i ON i.agent > h.agent) AS n
     WHERE n.rn = 1
)
INSERT INTO @heads (id, agent, state, not_before, lease_owner, lease_expires)
SELECT id, agent, state, not_before, lease_owner, lease_expires
  FROM head
OPTION (MAXRECURSION 0);
DECLARE @leased TABLE (
    id          bigint        NOT NULL PRIMARY KEY,
    source      varchar(16)   NOT NULL,
    source_ref  nvarchar(max) NOT NULL,
    agent       nvarchar(400) NOT NULL,
    verb        nvarchar(max) NOT NULL,
    frame       nvarchar(max) NOT NULL,
    attempts    int           NOT NULL,
    enqueued_at datetime2(6)  NOT NULL
);
WITH picked AS (
    SELECT TOP (@p3) i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.enqueued_at,
                    i.state, i.lease_owner, i.lease_expires, i.attempts
      FROM @heads AS h
      JOIN cti.ctr_inbox AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
     WHERE h.state = 'ready' AND (h.not_before IS NULL OR h.not_before <= @p2)
       AND i.state = 'ready'
     ORDER BY h.id
)
UPDATE picked
   SET state = 'running', lease_owner = @p1, lease_expires = @p4, attempts = attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased;
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
-- ==== command_dead.sql
-- A dead command by its inbox id (Command), the latest should there be more.
SELECT TOP (1) attempts, source, source_ref, agent, frame, enqueued_at, reason
  FROM cti.ctr_dead
 WHERE inbox_id = @p1
 ORDER BY id DESC
-- ==== command_inbox.sql
-- One command of the inbox by id (Command).
SELECT state, attempts, source, source_ref, agent, frame, enqueued_at, COALESCE(last_error, N'') AS last_error
  FROM cti.ctr_inbox
 WHERE id = @p1
-- ==== command_journal.sql
-- A command's journal rows by its inbox id (Command): the command as taken,
-- then its replies, in journal order, through the filtered index of step 4.
SELECT id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM cti.ctr_journal
 WHERE inbox_id = @p1 AND inbox_id IS NOT NULL AND kind IN ('command', 'rejected', 'reply')
 ORDER BY id
-- ==== cursor.sql
SELECT name, position, updated_at FROM cti.ctr_cursor WHERE name = @p1
-- ==== cursors_with_prefix.sql
-- The cursors whose name begins with @p1 (a file bridge's state), in name
-- order. LEFT compares the prefix as text: no LIKE pattern characters.
SELECT name, position, updated_at FROM cti.ctr_cursor
 WHERE LEFT(name, LEN(@p1 + N'x') - 1) = @p1
 ORDER BY name
-- ==== dead_letters.sql
SELECT TOP (@p2) id, COALESCE(inbox_id, 0) AS inbox_id, source, source_ref, agent, COALESCE(verb, N'') AS verb, frame,
       COALESCE(code, N'') AS code, reason, attempts, enqueued_at, died_at
  FROM cti.ctr_dead
 WHERE id > @p1
 ORDER BY id
-- ==== erp_columns.sql
-- The text columns of the ERP's tables, for the start-up check
-- (relay.ColumnWarnings): which table ('tti' or 'tto'), the column, its type
-- as a DBA writes it, the most characters it holds (0: no bound; a varchar's
-- bound is in bytes, characters for a single-byte code page) and how it
-- stores text: UTF-16 for the n types, else its collation's code page
-- (UTF-8 for a _UTF8 collation). A table that is missing has no rows.
SELECT t.which, c.column_id, c.name,
       TYPE_NAME(c.system_type_id)
         + CASE WHEN TYPE_NAME(c.system_type_id) IN ('varchar', 'nvarchar', 'char', 'nchar')
                THEN '(' + CASE WHEN c.max_length = -1 THEN 'max'
                                WHEN TYPE_NAME(c.system_type_id) IN ('nvarchar', 'nchar') THEN CAST(c.max_length / 2 AS varchar(10))
                                ELSE CAST(c.max_length AS varchar(10)) END + ')'
                ELSE '' END AS type,
       CASE WHEN c.max_length = -1 OR TYPE_NAME(c.system_type_id) IN ('text', 'ntext') THEN 0
            WHEN TYPE_NAME(c.system_type_id) IN ('nvarchar', 'nchar') THEN c.max_length / 2
            ELSE c.max_length END AS max_chars,
       CASE WHEN TYPE_NAME(c.system_type_id) IN ('nvarchar', 'nchar', 'ntext') THEN 'UTF-16'
            WHEN CAST(COLLATIONPROPERTY(c.collation_name, 'CodePage') AS int) = 65001 THEN 'UTF-8'
            ELSE 'CP' + CAST(CAST(COLLATIONPROPERTY(c.collation_name, 'CodePage') AS int) AS varchar(10)) END AS encoding
  FROM (VALUES ('tti', OBJECT_ID(N'cti.ERP_IN', N'U')), ('tto', OBJECT_ID(N'cti.ERP_OUT', N'U'))) AS t(which, id)
  JOIN sys.columns AS c ON c.object_id = t.id
 WHERE TYPE_NAME(c.system_type_id) IN ('varchar', 'nvarchar', 'char', 'nchar', 'text', 'ntext')
 ORDER BY t.which, c.column_id
-- ==== extend.sql
-- Pushes back the lease of what @p1 holds to @p2. Leased commands are heads
-- of their agents' queues (fragment/heads.sql). Rows a settle of the same
-- relay holds are skipped (READPAST): they are being finished, and waiting
-- for them while that settle waits for a row locked here would deadlock.
SET NOCOUNT ON;
DECLARE @heads TABLE (
    id            bigint        NOT NULL PRIMARY KEY,
    agent         nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state         varchar(8)    NOT NULL,
    not_before    datetime2(6)  NULL,
    lease_owner   nvarchar(400) COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires datetime2(6)  NULL
);
WITH head AS (
    SELECT f.id, f.agent, f.state, f.not_before, f.lease_owner, f.lease_expires
      FROM (SELECT TOP (1) i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires
              FROM cti.ctr_inbox AS i
             ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.id, n.agent, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM (SELECT i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires,
                   ROW_NUMBER() OVER (ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN cti.ctr_inbox AS i ON i.agent > h.agent) AS n
     WHERE n.rn = 1
)
INSERT INTO @heads (id, agent, state, not_before, lease_owner, lease_expires)
SELECT id, agent, state, not_before, lease_owner, lease_expires
  FROM head
OPTION (MAXRECURSION 0);
UPDATE i
   SET lease_expires = @p2
  FROM @heads AS h
  JOIN cti.ctr_inbox AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
 WHERE h.state = 'running' AND h.lease_owner = @p1
   AND i.state = 'running' AND i.lease_owner = @p1;
-- ==== inbox_depth.sql
-- The inbox's depth, counted no further than the bound @p1 asked about.
SELECT COUNT_BIG(*) FROM (SELECT TOP (@p1) 1 AS one FROM cti.ctr_inbox) AS d
-- ==== job_last_slot.sql
-- The latest scheduled slot of job @p1 (NULL when none).
SELECT MAX(slot) FROM cti.ctr_job_run WHERE job = @p1 AND manual = 0
-- ==== job_run_begin.sql
-- Records the run of job @p1 for slot @p2 (manual @p3) by node @p4 with
-- status @p5, started @p6, finished @p7 (NULL while running), heartbeat @p8,
-- summary @p9, first marking the job's runs still running with a heartbeat
-- before @p10 abandoned. Returns the new id and 0, or 0 and whether the slot
-- (1) or a running run (0) refused it. The checks hold key-range locks
-- (HOLDLOCK) to the end of the transaction, so two relays cannot both pass
-- them; the filtered unique indexes stay the backstop.
SET NOCOUNT ON;
UPDATE cti.ctr_job_run SET status = N'abandoned', finished_at = @p6,
       summary = N'{"reason":"no heartbeat for three beats: its relay died mid-run"}'
 WHERE job = @p1 AND status = N'running' AND heartbeat_at < @p10;
IF @p3 = 0 AND EXISTS (SELECT 1 FROM cti.ctr_job_run WITH (UPDLOCK, HOLDLOCK) WHERE job = @p1 AND slot = @p2 AND manual = 0)
    SELECT CAST(0 AS bigint), 1;
ELSE IF @p5 = N'running' AND EXISTS (SELECT 1 FROM cti.ctr_job_run WITH (UPDLOCK, HOLDLOCK) WHERE job = @p1 AND status = N'running')
    SELECT CAST(0 AS bigint), 0;
ELSE
BEGIN
    INSERT INTO cti.ctr_job_run (job, slot, manual, node, status, started_at, finished_at, heartbeat_at, summary)
    VALUES (@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9);
    SELECT CAST(SCOPE_IDENTITY() AS bigint), 0;
END
-- ==== job_run_finish.sql
-- Run @p1 ended with status @p2 at @p3 and summary @p4; a finished run stays as it is.
UPDATE cti.ctr_job_run SET status = @p2, finished_at = @p3, heartbeat_at = @p3, summary = @p4
 WHERE id = @p1 AND status = N'running'
-- ==== job_run_touch.sql
-- The runner of run @p1 is alive at @p2.
UPDATE cti.ctr_job_run SET heartbeat_at = @p2 WHERE id = @p1 AND status = N'running'
-- ==== job_runs.sql
-- The runs of job @p1 (every job when ''), newest slot first, at most @p2.
SELECT TOP (@p2) id, job, slot, manual, node, status, started_at, finished_at, heartbeat_at, COALESCE(summary, N'')
  FROM cti.ctr_job_run
 WHERE @p1 = N'' OR job = @p1
 ORDER BY slot DESC, id DESC
-- ==== journal.sql
SELECT TOP (@p2) id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM cti.ctr_journal
 WHERE id > @p1
 ORDER BY id
-- ==== journal_between.sql
-- Journal entries at or after @p1 and before @p2 with id > @p3, in id
-- order, at most @p4.
SELECT TOP (@p4) id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM cti.ctr_journal
 WHERE at >= @p1 AND at < @p2 AND id > @p3
 ORDER BY id
-- ==== journal_head.sql
SELECT COALESCE(MAX(id), 0) FROM cti.ctr_journal
-- ==== lease_holders.sql
-- The commands each lease owner holds at the switch (relay.LeaseHolders).
SELECT lease_owner, COUNT_BIG(*), MAX(lease_expires)
  FROM cti.ctr_inbox
 WHERE state = 'running' AND lease_owner IS NOT NULL
 GROUP BY lease_owner
 ORDER BY lease_owner;
-- ==== mark_cursor.sql
-- Creates cursor @p1 at position @p2, at @p3, once: when the name is there
-- it inserts nothing (PublishOnce reads the row count). UPDLOCK, HOLDLOCK
-- hold the key range, so two relays publishing one spill cannot both insert.
INSERT INTO cti.ctr_cursor (name, position, updated_at)
SELECT @p1, @p2, @p3
 WHERE NOT EXISTS (SELECT 1 FROM cti.ctr_cursor WITH (UPDLOCK, HOLDLOCK) WHERE name = @p1)
-- ==== node_heartbeat.sql
-- Registers relay @p1 (host @p2, pid @p3, version @p4, started at @p5) or
-- refreshes its row, with heartbeat_at = @p6 and the locks it holds @p7
-- (comma-separated). The update holds a key-range lock (SERIALIZABLE) when
-- the row is absent, so two heartbeats of one id cannot both insert.
SET NOCOUNT ON;
UPDATE cti.ctr_node WITH (UPDLOCK, SERIALIZABLE)
   SET host = @p2, pid = @p3, version = @p4, started_at = @p5, heartbeat_at = @p6, holds = @p7
 WHERE id = @p1;
IF @@ROWCOUNT = 0
    INSERT INTO cti.ctr_node (id, host, pid, version, started_at, heartbeat_at, holds)
    VALUES (@p1, @p2, @p3, @p4, @p5, @p6, @p7);
-- ==== node_leave.sql
-- Relay @p1 stopped cleanly.
DELETE FROM cti.ctr_node WHERE id = @p1
-- ==== nodes.sql
SELECT id, host, pid, version, started_at, heartbeat_at, holds FROM cti.ctr_node ORDER BY id
-- ==== outbox_expire.sql
-- Deletes at most @p2 T_TTO rows, oldest id first, written at or before the
-- newest mark at or before @p1 (none without such a mark), and the marks
-- older than that one. Rows the ERP holds (reading them) are skipped, not
-- waited for. The deleted rows go INTO a table variable: a bare OUTPUT fails
-- when T_TTO has an enabled trigger. The caller journals them, under the
-- output applock, in the same transaction.
SET NOCOUNT ON;
DECLARE @mark_at datetime2(6), @up_to bigint;
-- No mark counts while the largest is above T_TTO's largest id (renumbered:
-- see outbox_mark.sql).
SELECT TOP (1) @mark_at = at, @up_to = tto_id FROM cti.ctr_tto_mark
 WHERE at <= @p1
   AND (SELECT MAX(tto_id) FROM cti.ctr_tto_mark) <= COALESCE((SELECT MAX(IS_TTO) FROM cti.ERP_OUT), 0)
 ORDER BY at DESC, tto_id DESC;
DECLARE @gone TABLE (IS_TTO bigint NOT NULL PRIMARY KEY, DS_TTO nvarchar(max) NULL);
IF @up_to IS NOT NULL
BEGIN
    WITH oldest AS (
        SELECT TOP (@p2) t.IS_TTO, t.DS_TTO
          FROM cti.ERP_OUT AS t WITH (ROWLOCK, UPDLOCK, READPAST)
         WHERE t.IS_TTO <= @up_to
         ORDER BY t.IS_TTO
    )
    DELETE FROM oldest
    OUTPUT deleted.IS_TTO, deleted.DS_TTO INTO @gone;
    DELETE FROM cti.ctr_tto_mark WHERE at < @mark_at;
END;
SELECT IS_TTO, DS_TTO FROM @gone ORDER BY IS_TTO;
-- ==== outbox_mark.sql
-- Records @p1 with the largest IS_TTO (relay.OutboxExpiry): every T_TTO row
-- up to it was written at or before @p1, since an identity only grows.
-- Nothing when T_TTO is empty or its largest id is marked already. When
-- the largest mark is above T_TTO's largest id, T_TTO was renumbered
-- (RESEED) or emptied: every mark goes, since they no longer date its ids.
DELETE FROM cti.ctr_tto_mark
 WHERE (SELECT MAX(tto_id) FROM cti.ctr_tto_mark) > COALESCE((SELECT MAX(IS_TTO) FROM cti.ERP_OUT), 0);
INSERT INTO cti.ctr_tto_mark (at, tto_id)
SELECT @p1, t.top_id
  FROM (SELECT CAST(MAX(IS_TTO) AS bigint) AS top_id FROM cti.ERP_OUT) AS t
 WHERE t.top_id > (SELECT COALESCE(MAX(tto_id), 0) FROM cti.ctr_tto_mark);
-- ==== prune_dead.sql
-- Deletes at most @p2 dead letters that died before @p1, oldest first.
DELETE FROM cti.ctr_dead
 WHERE id IN (SELECT TOP (@p2) id FROM cti.ctr_dead WHERE died_at < @p1 ORDER BY id)
-- ==== prune_job_runs.sql
-- Deletes at most @p2 finished job runs started before @p1, oldest first.
DELETE FROM cti.ctr_job_run
 WHERE id IN (SELECT TOP (@p2) id FROM cti.ctr_job_run WHERE started_at < @p1 AND status <> N'running' ORDER BY id)
-- ==== prune_journal.sql
-- Deletes the journal rows older than @p1 among its first @p2 rows by id
-- (ids follow time, so a batch reads at most @p2 rows of any size of
-- journal and locks only the rows it deletes; the caller stops at the first
-- batch short of @p2).
DELETE FROM cti.ctr_journal
 WHERE id IN (SELECT h.id FROM (SELECT TOP (@p2) id, at FROM cti.ctr_journal ORDER BY id) h WHERE h.at < @p1)
-- ==== prune_nodes.sql
-- Removes the rows of relays whose last heartbeat is before @p1.
DELETE FROM cti.ctr_node OUTPUT DELETED.id WHERE heartbeat_at < @p1
-- ==== reclaim.sql
-- Takes over, for @p1 until @p4, up to @p3 commands whose lease expired
-- before @p2, whoever held them; the attempt count fences the previous
-- holder's Settle. A leased command is always the head of its agent's
-- queue, so the heads are all that is looked at (as in claim.sql).
SET NOCOUNT ON;
DECLARE @heads TABLE (
    id            bigint        NOT NULL PRIMARY KEY,
    agent         nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state         varchar(8)    NOT NULL,
    not_before    datetime2(6)  NULL,
    lease_owner   nvarchar(400) COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires datetime2(6)  NULL
);
WITH head AS (
    SELECT f.id, f.agent, f.state, f.not_before, f.lease_owner, f.lease_expires
      FROM (SELECT TOP (1) i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires
              FROM cti.ctr_inbox AS i
             ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.id, n.agent, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM (SELECT i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires,
                   ROW_NUMBER() OVER (ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN cti.ctr_inbox AS i ON i.agent > h.agent) AS n
     WHERE n.rn = 1
)
INSERT INTO @heads (id, agent, state, not_before, lease_owner, lease_expires)
SELECT id, agent, state, not_before, lease_owner, lease_expires
  FROM head
OPTION (MAXRECURSION 0);
DECLARE @leased TABLE (
    id          bigint        NOT NULL PRIMARY KEY,
    source      varchar(16)   NOT NULL,
    source_ref  nvarchar(max) NOT NULL,
    agent       nvarchar(400) NOT NULL,
    verb        nvarchar(max) NOT NULL,
    frame       nvarchar(max) NOT NULL,
    attempts    int           NOT NULL,
    enqueued_at datetime2(6)  NOT NULL
);
WITH picked AS (
    SELECT TOP (@p3) i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.enqueued_at,
                    i.state, i.lease_owner, i.lease_expires, i.attempts
      FROM @heads AS h
      JOIN cti.ctr_inbox AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
     WHERE h.state = 'running' AND h.lease_expires < @p2
       AND i.state = 'running' AND i.lease_expires < @p2
     ORDER BY h.id
)
UPDATE picked
   SET lease_owner = @p1, lease_expires = @p4, attempts = attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased;
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
-- ==== reclaim_dead.sql
-- Takes over, for @p1 until @p2, up to @p5 commands whose relay is known
-- dead, whatever their lease expiry: with @p3 = 1, every owner but @p1 (one
-- relay at a time on this database); otherwise the other incarnations of
-- node @p4 (owners '@p4#…', or '@p4' itself from before incarnations), @p1
-- being the one running under that name. lease_owner compares in binary
-- (the column's collation), so the prefix test is exact. The attempt count
-- fences the dead holder's Settle. Heads are found as in claim.sql.
SET NOCOUNT ON;
DECLARE @heads TABLE (
    id            bigint        NOT NULL PRIMARY KEY,
    agent         nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state         varchar(8)    NOT NULL,
    not_before    datetime2(6)  NULL,
    lease_owner   nvarchar(400) COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires datetime2(6)  NULL
);
WITH head AS (
    SELECT f.id, f.agent, f.state, f.not_before, f.lease_owner, f.lease_expires
      FROM (SELECT TOP (1) i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires
              FROM cti.ctr_inbox AS i
             ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.id, n.agent, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM (SELECT i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires,
                   ROW_NUMBER() OVER (ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN cti.ctr_inbox AS i ON i.agent > h.agent) AS n
     WHERE n.rn = 1
)
INSERT INTO @heads (id, agent, state, not_before, lease_owner, lease_expires)
SELECT id, agent, state, not_before, lease_owner, lease_expires
  FROM head
OPTION (MAXRECURSION 0);
DECLARE @leased TABLE (
    id          bigint        NOT NULL PRIMARY KEY,
    source      varchar(16)   NOT NULL,
    source_ref  nvarchar(max) NOT NULL,
    agent       nvarchar(400) NOT NULL,
    verb        nvarchar(max) NOT NULL,
    frame       nvarchar(max) NOT NULL,
    attempts    int           NOT NULL,
    enqueued_at datetime2(6)  NOT NULL
);
WITH picked AS (
    SELECT TOP (@p5) i.id, i.source, i.source_ref, i.agent, i.verb, i.frame, i.enqueued_at,
                    i.state, i.lease_owner, i.lease_expires, i.attempts
      FROM @heads AS h
      JOIN cti.ctr_inbox AS i WITH (ROWLOCK, UPDLOCK, READPAST) ON i.agent = h.agent AND i.id = h.id
     WHERE h.state = 'running' AND h.lease_owner <> @p1
       AND (@p3 = 1 OR h.lease_owner = @p4 OR LEFT(h.lease_owner, LEN(@p4 + N'#')) = @p4 + N'#')
       AND i.state = 'running' AND i.lease_owner = h.lease_owner
     ORDER BY h.id
)
UPDATE picked
   SET lease_owner = @p1, lease_expires = @p2, attempts = attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased;
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
-- ==== release.sql
-- Hands back what @p1 holds, as if it had never been claimed. Leased
-- commands are heads of their agents' queues (fragment/heads.sql); the
-- conditions are checked again on the row under its update lock, so no row
-- that stopped being this owner's is touched. Release runs once the relay
-- has stopped settling, so nothing of its own is locked meanwhile.
SET NOCOUNT ON;
DECLARE @heads TABLE (
    id            bigint        NOT NULL PRIMARY KEY,
    agent         nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state         varchar(8)    NOT NULL,
    not_before    datetime2(6)  NULL,
    lease_owner   nvarchar(400) COLLATE Latin1_General_100_BIN2 NULL,
    lease_expires datetime2(6)  NULL
);
WITH head AS (
    SELECT f.id, f.agent, f.state, f.not_before, f.lease_owner, f.lease_expires
      FROM (SELECT TOP (1) i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires
              FROM cti.ctr_inbox AS i
             ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.id, n.agent, n.state, n.not_before, n.lease_owner, n.lease_expires
      FROM (SELECT i.id, i.agent, i.state, i.not_before, i.lease_owner, i.lease_expires,
                   ROW_NUMBER() OVER (ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN cti.ctr_inbox AS i ON i.agent > h.agent) AS n
     WHERE n.rn = 1
)
INSERT INTO @heads (id, agent, state, not_before, lease_owner, lease_expires)
SELECT id, agent, state, not_before, lease_owner, lease_expires
  FROM head
OPTION (MAXRECURSION 0);
UPDATE i
   SET state = 'ready', lease_owner = NULL, lease_expires = NULL,
       attempts = CASE WHEN i.attempts > 0 THEN i.attempts - 1 ELSE 0 END
  FROM @heads AS h
  JOIN cti.ctr_inbox AS i WITH (ROWLOCK, UPDLOCK) ON i.agent = h.agent AND i.id = h.id
 WHERE h.state = 'running' AND h.lease_owner = @p1
   AND i.state = 'running' AND i.lease_owner = @p1;
-- ==== status.sql
-- The queue status view, read with ages against the relay's clock @p1: the
-- session context is set and cleared in this one batch, so a pooled
-- session never keeps it.
SET NOCOUNT ON;
EXEC sp_set_session_context @key = N'ctirelay.now', @value = @p1;
SELECT pending, inbox, ready, in_flight, retrying, dead, outbox, COALESCE(oldest_age_s, 0), done_1m
  FROM cti.ctr_queue_status;
EXEC sp_set_session_context @key = N'ctirelay.now', @value = NULL;
-- ==== take_tti.sql
-- Takes up to @p1 ERP rows, oldest first, in the transaction that holds the
-- intake applock (so two relays take T_TTI in turn, and inbox ids become
-- visible in the order they were handed out). DELETE TOP takes no ORDER BY,
-- so the oldest rows are chosen by an ordered CTE and deleted through it.
-- Rows another transaction holds (an ERP's uncommitted insert) are skipped,
-- not waited for. The deleted rows go INTO a table variable: a bare OUTPUT
-- fails when T_TTI has an enabled trigger, which ERP tables often have. The
-- caller keeps @p1 under lock escalation's ~5,000 locks per statement.
SET NOCOUNT ON;
DECLARE @taken TABLE (IS_TTI bigint NOT NULL PRIMARY KEY, DS_TTI nvarchar(max) NULL);
WITH oldest AS (
    SELECT TOP (@p1) t.IS_TTI, t.DS_TTI
      FROM cti.ERP_IN AS t WITH (ROWLOCK, UPDLOCK, READPAST)
     ORDER BY t.IS_TTI
)
DELETE FROM oldest
OUTPUT deleted.IS_TTI, deleted.DS_TTI INTO @taken;
SELECT IS_TTI, DS_TTI FROM @taken ORDER BY IS_TTI;
-- ==== abandon.sql (multi-row: 1 fixed + 1 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- Marks the commands of a requester that is gone: only those still waiting
-- (not held by a relay) and not refused already become queued refused
-- messages (the verb given), answered at the head of their queue. A claim
-- under way holds the row's lock; the conditions are read again once it is
-- released, so a command just leased is left alone.
UPDATE cti.ctr_inbox WITH (ROWLOCK) SET verb = @p1
 WHERE state = 'ready' AND LEFT(verb, 1) <> '!' AND id IN (
@p2)
-- ---- 2 row(s)
-- Marks the commands of a requester that is gone: only those still waiting
-- (not held by a relay) and not refused already become queued refused
-- messages (the verb given), answered at the head of their queue. A claim
-- under way holds the row's lock; the conditions are read again once it is
-- released, so a command just leased is left alone.
UPDATE cti.ctr_inbox WITH (ROWLOCK) SET verb = @p1
 WHERE state = 'ready' AND LEFT(verb, 1) <> '!' AND id IN (
@p2, @p3)
-- ==== advance_cursors.sql (multi-row: 1 fixed + 2 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- Saves positions (name and position per row, names unique) at the time
-- given. A position only moves forward; an equal one refreshes updated_at.
-- HOLDLOCK makes the MERGE's look-up and insert one step, so two relays
-- saving a new name at once do not both insert it.
DECLARE @now datetime2(6) = @p1;
MERGE cti.ctr_cursor WITH (HOLDLOCK) AS c
USING (VALUES
(@p2, @p3)) AS v(name, position)
   ON c.name = v.name
 WHEN MATCHED AND v.position >= c.position THEN
      UPDATE SET position = v.position, updated_at = @now
 WHEN NOT MATCHED THEN
      INSERT (name, position, updated_at) VALUES (v.name, v.position, @now);
-- ---- 2 row(s)
-- Saves positions (name and position per row, names unique) at the time
-- given. A position only moves forward; an equal one refreshes updated_at.
-- HOLDLOCK makes the MERGE's look-up and insert one step, so two relays
-- saving a new name at once do not both insert it.
DECLARE @now datetime2(6) = @p1;
MERGE cti.ctr_cursor WITH (HOLDLOCK) AS c
USING (VALUES
(@p2, @p3), (@p4, @p5)) AS v(name, position)
   ON c.name = v.name
 WHEN MATCHED AND v.position >= c.position THEN
      UPDATE SET position = v.position, updated_at = @now
 WHEN NOT MATCHED THEN
      INSERT (name, position, updated_at) VALUES (v.name, v.position, @now);
-- ==== busy.sql (multi-row: 0 fixed + 1 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- Which of the agents given have commands in the inbox (1) or none (0),
-- each answered under the spelling asked: one seek on (agent, id) each.
-- Asked with the intake applock held, so every earlier command is there.
SELECT f.agent, CASE WHEN EXISTS (SELECT 1 FROM cti.ctr_inbox AS i WHERE i.agent = f.agent) THEN 1 ELSE 0 END
  FROM (VALUES
(@p1)) AS f(agent)
-- ---- 2 row(s)
-- Which of the agents given have commands in the inbox (1) or none (0),
-- each answered under the spelling asked: one seek on (agent, id) each.
-- Asked with the intake applock held, so every earlier command is there.
SELECT f.agent, CASE WHEN EXISTS (SELECT 1 FROM cti.ctr_inbox AS i WHERE i.agent = f.agent) THEN 1 ELSE 0 END
  FROM (VALUES
(@p1), (@p2)) AS f(agent)
-- ==== drop_dead.sql (multi-row: 0 fixed + 1 per row, at most 512 rows a statement)
-- ---- 1 row(s)
DELETE FROM cti.ctr_dead WHERE id IN (
@p1)
-- ---- 2 row(s)
DELETE FROM cti.ctr_dead WHERE id IN (
@p1, @p2)
-- ==== in_flight.sql (multi-row: 1 fixed + 1 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- The commands of the logins given (in lower case, the row tuples) at the
-- switch under a lease not the owner's (the fixed parameter): what an event
-- of those agents may have to wait for. A leased command is the head of its
-- agent's queue, so the walk goes from each login to the head of each of its
-- spellings along (agent_folded, agent, id): one seek each, and one more to
-- find there is no other spelling. As in fragment/heads.sql, the recursive
-- member picks the first row past the previous spelling with ROW_NUMBER.
DECLARE @owner nvarchar(400) = @p1;
WITH login AS (
    SELECT DISTINCT v.l
      FROM (VALUES
(@p2)) AS v(l)
), head AS (
    SELECT f.l, f.agent, f.id, f.attempts, f.state, f.lease_owner
      FROM login AS g
     CROSS APPLY (SELECT TOP (1) i.agent_folded AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner
                    FROM cti.ctr_inbox AS i
                   WHERE i.agent_folded = g.l
                   ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.l, n.agent, n.id, n.attempts, n.state, n.lease_owner
      FROM (SELECT i.agent_folded AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner,
                   ROW_NUMBER() OVER (PARTITION BY h.l ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN cti.ctr_inbox AS i ON i.agent_folded = h.l AND i.agent > h.agent) AS n
     WHERE n.rn = 1
)
SELECT id, attempts, agent
  FROM head
 WHERE state = 'running' AND (lease_owner IS NULL OR lease_owner <> @owner)
OPTION (MAXRECURSION 0);
-- ---- 2 row(s)
-- The commands of the logins given (in lower case, the row tuples) at the
-- switch under a lease not the owner's (the fixed parameter): what an event
-- of those agents may have to wait for. A leased command is the head of its
-- agent's queue, so the walk goes from each login to the head of each of its
-- spellings along (agent_folded, agent, id): one seek each, and one more to
-- find there is no other spelling. As in fragment/heads.sql, the recursive
-- member picks the first row past the previous spelling with ROW_NUMBER.
DECLARE @owner nvarchar(400) = @p1;
WITH login AS (
    SELECT DISTINCT v.l
      FROM (VALUES
(@p2), (@p3)) AS v(l)
), head AS (
    SELECT f.l, f.agent, f.id, f.attempts, f.state, f.lease_owner
      FROM login AS g
     CROSS APPLY (SELECT TOP (1) i.agent_folded AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner
                    FROM cti.ctr_inbox AS i
                   WHERE i.agent_folded = g.l
                   ORDER BY i.agent, i.id) AS f
    UNION ALL
    SELECT n.l, n.agent, n.id, n.attempts, n.state, n.lease_owner
      FROM (SELECT i.agent_folded AS l, i.agent, i.id, i.attempts, i.state, i.lease_owner,
                   ROW_NUMBER() OVER (PARTITION BY h.l ORDER BY i.agent, i.id) AS rn
              FROM head AS h
              JOIN cti.ctr_inbox AS i ON i.agent_folded = h.l AND i.agent > h.agent) AS n
     WHERE n.rn = 1
)
SELECT id, attempts, agent
  FROM head
 WHERE state = 'running' AND (lease_owner IS NULL OR lease_owner <> @owner)
OPTION (MAXRECURSION 0);
-- ==== insert_dead.sql (multi-row: 0 fixed + 12 per row, at most 128 rows a statement)
-- ---- 1 row(s)
-- Dead letters, in the order given.
INSERT INTO cti.ctr_dead (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
SELECT v.inbox_id, v.source, v.source_ref, v.agent, v.verb, v.frame, v.code, v.reason, v.attempts, v.enqueued_at, v.died_at
  FROM (VALUES
(@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12)) AS v(ord, inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
 ORDER BY v.ord
-- ---- 2 row(s)
-- Dead letters, in the order given.
INSERT INTO cti.ctr_dead (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
SELECT v.inbox_id, v.source, v.source_ref, v.agent, v.verb, v.frame, v.code, v.reason, v.attempts, v.enqueued_at, v.died_at
  FROM (VALUES
(@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12), (@p13, @p14, @p15, @p16, @p17, @p18, @p19, @p20, @p21, @p22, @p23, @p24)) AS v(ord, inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
 ORDER BY v.ord
-- ==== insert_inbox.sql (multi-row: 1 fixed + 10 per row, at most 128 rows a statement)
-- ---- 1 row(s)
-- Inserts admitted messages into the inbox, the commands at the head of
-- their agent's queue already leased (state running, attempts 1, owner and
-- expiry set). INSERT … SELECT … ORDER BY assigns identity values in that
-- order, so ids follow arrival order; the caller holds the intake applock,
-- so no other writer's ids interleave. Returns the ids given, in order.
SET NOCOUNT ON;
DECLARE @at datetime2(6) = @p1;
DECLARE @ids TABLE (id bigint NOT NULL PRIMARY KEY);
INSERT INTO cti.ctr_inbox (source, source_ref, agent, verb, frame, state, attempts, enqueued_at, lease_owner, lease_expires)
OUTPUT inserted.id INTO @ids
SELECT v.source, v.source_ref, v.agent, v.verb, v.frame, v.state, v.attempts, @at, v.lease_owner, v.lease_expires
  FROM (VALUES
(@p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11)) AS v(ord, source, source_ref, agent, verb, frame, state, attempts, lease_owner, lease_expires)
 ORDER BY v.ord;
SELECT id FROM @ids ORDER BY id;
-- ---- 2 row(s)
-- Inserts admitted messages into the inbox, the commands at the head of
-- their agent's queue already leased (state running, attempts 1, owner and
-- expiry set). INSERT … SELECT … ORDER BY assigns identity values in that
-- order, so ids follow arrival order; the caller holds the intake applock,
-- so no other writer's ids interleave. Returns the ids given, in order.
SET NOCOUNT ON;
DECLARE @at datetime2(6) = @p1;
DECLARE @ids TABLE (id bigint NOT NULL PRIMARY KEY);
INSERT INTO cti.ctr_inbox (source, source_ref, agent, verb, frame, state, attempts, enqueued_at, lease_owner, lease_expires)
OUTPUT inserted.id INTO @ids
SELECT v.source, v.source_ref, v.agent, v.verb, v.frame, v.state, v.attempts, @at, v.lease_owner, v.lease_expires
  FROM (VALUES
(@p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11), (@p12, @p13, @p14, @p15, @p16, @p17, @p18, @p19, @p20, @p21)) AS v(ord, source, source_ref, agent, verb, frame, state, attempts, lease_owner, lease_expires)
 ORDER BY v.ord;
SELECT id FROM @ids ORDER BY id;
-- ==== insert_journal.sql (multi-row: 0 fixed + 12 per row, at most 128 rows a statement)
-- ---- 1 row(s)
-- Journal rows, ids in the order given; the caller holds the output applock
-- to commit, so they become visible in id order.
INSERT INTO cti.ctr_journal (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
SELECT v.at, v.direction, v.kind, v.agent, v.frame, v.origin, v.source_ref, v.inbox_id, v.outcome, v.latency_us, v.error
  FROM (VALUES
(@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12)) AS v(ord, at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
 ORDER BY v.ord
-- ---- 2 row(s)
-- Journal rows, ids in the order given; the caller holds the output applock
-- to commit, so they become visible in id order.
INSERT INTO cti.ctr_journal (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
SELECT v.at, v.direction, v.kind, v.agent, v.frame, v.origin, v.source_ref, v.inbox_id, v.outcome, v.latency_us, v.error
  FROM (VALUES
(@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12), (@p13, @p14, @p15, @p16, @p17, @p18, @p19, @p20, @p21, @p22, @p23, @p24)) AS v(ord, at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
 ORDER BY v.ord
-- ==== insert_tto.sql (multi-row: 0 fixed + 2 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- Replies and events for the ERP, IS_TTO (an identity) in the order given;
-- the caller holds the output applock to commit. No OUTPUT: T_TTO may have
-- triggers.
INSERT INTO cti.ERP_OUT (DS_TTO)
SELECT v.frame
  FROM (VALUES
(@p1, @p2)) AS v(ord, frame)
 ORDER BY v.ord
-- ---- 2 row(s)
-- Replies and events for the ERP, IS_TTO (an identity) in the order given;
-- the caller holds the output applock to commit. No OUTPUT: T_TTO may have
-- triggers.
INSERT INTO cti.ERP_OUT (DS_TTO)
SELECT v.frame
  FROM (VALUES
(@p1, @p2), (@p3, @p4)) AS v(ord, frame)
 ORDER BY v.ord
-- ==== insert_tto_explicit.sql (multi-row: 0 fixed + 2 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- As insert_tto.sql for a T_TTO without identity (database.explicit_ids):
-- the relay numbers its rows after the largest IS_TTO present. The caller
-- holds the output applock, so relays number in turn; the range lock
-- (HOLDLOCK) keeps the largest row from moving meanwhile.
SET NOCOUNT ON;
DECLARE @base bigint = (SELECT COALESCE(MAX(IS_TTO), 0) FROM cti.ERP_OUT WITH (UPDLOCK, HOLDLOCK));
INSERT INTO cti.ERP_OUT (IS_TTO, DS_TTO)
SELECT @base + v.ord, v.frame
  FROM (VALUES
(@p1, @p2)) AS v(ord, frame);
-- ---- 2 row(s)
-- As insert_tto.sql for a T_TTO without identity (database.explicit_ids):
-- the relay numbers its rows after the largest IS_TTO present. The caller
-- holds the output applock, so relays number in turn; the range lock
-- (HOLDLOCK) keeps the largest row from moving meanwhile.
SET NOCOUNT ON;
DECLARE @base bigint = (SELECT COALESCE(MAX(IS_TTO), 0) FROM cti.ERP_OUT WITH (UPDLOCK, HOLDLOCK));
INSERT INTO cti.ERP_OUT (IS_TTO, DS_TTO)
SELECT @base + v.ord, v.frame
  FROM (VALUES
(@p1, @p2), (@p3, @p4)) AS v(ord, frame);
-- ==== journal_since.sql (multi-row: 2 fixed + 1 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- Up to the limit given of the journal entries after the id given whose
-- kind is one of those listed, for followers (bridges).
SELECT TOP (@p1) id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM cti.ctr_journal
 WHERE id > @p2 AND kind IN (
@p3)
 ORDER BY id
-- ---- 2 row(s)
-- Up to the limit given of the journal entries after the id given whose
-- kind is one of those listed, for followers (bridges).
SELECT TOP (@p1) id, at, direction, kind, agent, frame, origin, COALESCE(source_ref, N'') AS source_ref,
       COALESCE(inbox_id, 0) AS inbox_id, COALESCE(outcome, '') AS outcome, COALESCE(latency_us, 0) AS latency_us,
       COALESCE(error, N'') AS error
  FROM cti.ctr_journal
 WHERE id > @p2 AND kind IN (
@p3, @p4)
 ORDER BY id
-- ==== lease_next.sql (multi-row: 4 fixed + 2 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- Leases, for the owner until the expiry given, up to the limit given of
-- the commands that settled ones (agent and id per row) leave at the head
-- of their agent's queue: the agent's next command, when it is ready at
-- the time given. No other relay can hold it: it was not a head until this
-- transaction, which deleted the older one, commits. So no READPAST.
SET NOCOUNT ON;
DECLARE @owner nvarchar(400) = @p1, @until datetime2(6) = @p2, @now datetime2(6) = @p3, @limit int = @p4;
DECLARE @next TABLE (id bigint NOT NULL PRIMARY KEY, agent nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL);
DECLARE @leased TABLE (
    id          bigint        NOT NULL PRIMARY KEY,
    source      varchar(16)   NOT NULL,
    source_ref  nvarchar(max) NOT NULL,
    agent       nvarchar(400) NOT NULL,
    verb        nvarchar(max) NOT NULL,
    frame       nvarchar(max) NOT NULL,
    attempts    int           NOT NULL,
    enqueued_at datetime2(6)  NOT NULL
);
INSERT INTO @next (id, agent)
SELECT TOP (@limit) x.id, x.agent
  FROM (VALUES
(@p5, @p6)) AS f(agent, id)
 CROSS APPLY (SELECT TOP (1) n.id, n.agent, n.state, n.not_before
                FROM cti.ctr_inbox AS n
               WHERE n.agent = f.agent AND n.id > f.id
               ORDER BY n.id) AS x
 WHERE x.state = 'ready' AND (x.not_before IS NULL OR x.not_before <= @now)
 ORDER BY x.id;
UPDATE i
   SET state = 'running', lease_owner = @owner, lease_expires = @until, attempts = i.attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased
  FROM @next AS x
  JOIN cti.ctr_inbox AS i WITH (ROWLOCK, UPDLOCK) ON i.agent = x.agent AND i.id = x.id
 WHERE i.state = 'ready';
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
-- ---- 2 row(s)
-- Leases, for the owner until the expiry given, up to the limit given of
-- the commands that settled ones (agent and id per row) leave at the head
-- of their agent's queue: the agent's next command, when it is ready at
-- the time given. No other relay can hold it: it was not a head until this
-- transaction, which deleted the older one, commits. So no READPAST.
SET NOCOUNT ON;
DECLARE @owner nvarchar(400) = @p1, @until datetime2(6) = @p2, @now datetime2(6) = @p3, @limit int = @p4;
DECLARE @next TABLE (id bigint NOT NULL PRIMARY KEY, agent nvarchar(400) COLLATE Latin1_General_100_BIN2 NOT NULL);
DECLARE @leased TABLE (
    id          bigint        NOT NULL PRIMARY KEY,
    source      varchar(16)   NOT NULL,
    source_ref  nvarchar(max) NOT NULL,
    agent       nvarchar(400) NOT NULL,
    verb        nvarchar(max) NOT NULL,
    frame       nvarchar(max) NOT NULL,
    attempts    int           NOT NULL,
    enqueued_at datetime2(6)  NOT NULL
);
INSERT INTO @next (id, agent)
SELECT TOP (@limit) x.id, x.agent
  FROM (VALUES
(@p5, @p6), (@p7, @p8)) AS f(agent, id)
 CROSS APPLY (SELECT TOP (1) n.id, n.agent, n.state, n.not_before
                FROM cti.ctr_inbox AS n
               WHERE n.agent = f.agent AND n.id > f.id
               ORDER BY n.id) AS x
 WHERE x.state = 'ready' AND (x.not_before IS NULL OR x.not_before <= @now)
 ORDER BY x.id;
UPDATE i
   SET state = 'running', lease_owner = @owner, lease_expires = @until, attempts = i.attempts + 1
OUTPUT inserted.id, inserted.source, inserted.source_ref, inserted.agent, inserted.verb, inserted.frame,
       inserted.attempts, inserted.enqueued_at
  INTO @leased
  FROM @next AS x
  JOIN cti.ctr_inbox AS i WITH (ROWLOCK, UPDLOCK) ON i.agent = x.agent AND i.id = x.id
 WHERE i.state = 'ready';
SELECT id, source, source_ref, agent, verb, frame, attempts, enqueued_at FROM @leased ORDER BY id;
-- ==== remove.sql (multi-row: 0 fixed + 4 per row, at most 256 rows a statement)
-- ---- 1 row(s)
-- Settle's fence for Done and Dead outcomes: a row is deleted only while it
-- is still running under the outcome's owner and attempt (a takeover
-- changes one of them). Rows are reached by their key (agent, id). Returns
-- the leases removed.
SET NOCOUNT ON;
DECLARE @gone TABLE (id bigint NOT NULL PRIMARY KEY, lease_owner nvarchar(400) NOT NULL, attempts int NOT NULL);
DELETE i
OUTPUT deleted.id, deleted.lease_owner, deleted.attempts INTO @gone
  FROM cti.ctr_inbox AS i WITH (ROWLOCK)
  JOIN (VALUES
(@p1, @p2, @p3, @p4)) AS v(agent, id, owner, attempts)
    ON i.agent = v.agent AND i.id = v.id
 WHERE i.state = 'running' AND i.lease_owner = v.owner AND i.attempts = v.attempts;
SELECT id, lease_owner, attempts FROM @gone;
-- ---- 2 row(s)
-- Settle's fence for Done and Dead outcomes: a row is deleted only while it
-- is still running under the outcome's owner and attempt (a takeover
-- changes one of them). Rows are reached by their key (agent, id). Returns
-- the leases removed.
SET NOCOUNT ON;
DECLARE @gone TABLE (id bigint NOT NULL PRIMARY KEY, lease_owner nvarchar(400) NOT NULL, attempts int NOT NULL);
DELETE i
OUTPUT deleted.id, deleted.lease_owner, deleted.attempts INTO @gone
  FROM cti.ctr_inbox AS i WITH (ROWLOCK)
  JOIN (VALUES
(@p1, @p2, @p3, @p4), (@p5, @p6, @p7, @p8)) AS v(agent, id, owner, attempts)
    ON i.agent = v.agent AND i.id = v.id
 WHERE i.state = 'running' AND i.lease_owner = v.owner AND i.attempts = v.attempts;
SELECT id, lease_owner, attempts FROM @gone;
-- ==== retry.sql (multi-row: 0 fixed + 6 per row, at most 256 rows a statement)
-- ---- 1 row(s)
-- Settle's Retry outcomes, fenced like remove.sql: the command waits, ready,
-- until not_before, keeping its place at the head of its agent's queue.
-- Returns how many applied.
SET NOCOUNT ON;
DECLARE @done TABLE (id bigint NOT NULL PRIMARY KEY);
UPDATE i
   SET state = 'ready', not_before = v.not_before, last_error = v.reason, lease_owner = NULL, lease_expires = NULL
OUTPUT inserted.id INTO @done
  FROM cti.ctr_inbox AS i WITH (ROWLOCK)
  JOIN (VALUES
(@p1, @p2, @p3, @p4, @p5, @p6)) AS v(agent, id, owner, attempts, not_before, reason)
    ON i.agent = v.agent AND i.id = v.id
 WHERE i.state = 'running' AND i.lease_owner = v.owner AND i.attempts = v.attempts;
SELECT COUNT_BIG(*) FROM @done;
-- ---- 2 row(s)
-- Settle's Retry outcomes, fenced like remove.sql: the command waits, ready,
-- until not_before, keeping its place at the head of its agent's queue.
-- Returns how many applied.
SET NOCOUNT ON;
DECLARE @done TABLE (id bigint NOT NULL PRIMARY KEY);
UPDATE i
   SET state = 'ready', not_before = v.not_before, last_error = v.reason, lease_owner = NULL, lease_expires = NULL
OUTPUT inserted.id INTO @done
  FROM cti.ctr_inbox AS i WITH (ROWLOCK)
  JOIN (VALUES
(@p1, @p2, @p3, @p4, @p5, @p6), (@p7, @p8, @p9, @p10, @p11, @p12)) AS v(agent, id, owner, attempts, not_before, reason)
    ON i.agent = v.agent AND i.id = v.id
 WHERE i.state = 'running' AND i.lease_owner = v.owner AND i.attempts = v.attempts;
SELECT COUNT_BIG(*) FROM @done;
-- ==== retry_dead.sql (multi-row: 1 fixed + 1 per row, at most 512 rows a statement)
-- ---- 1 row(s)
-- Moves the dead letters given back to the tail of the inbox as new
-- commands (new ids in dead-letter order, attempts 0, enqueued at the time
-- given). Rows refused at intake have no verb and stay where they are. The
-- caller holds the intake applock, as every writer of new inbox rows does.
-- Returns how many moved.
SET NOCOUNT ON;
DECLARE @at datetime2(6) = @p1;
DECLARE @gone TABLE (id bigint NOT NULL PRIMARY KEY, source varchar(16) NOT NULL, source_ref nvarchar(max) NOT NULL,
                     agent nvarchar(400) NOT NULL, verb nvarchar(max) NOT NULL, frame nvarchar(max) NOT NULL);
DELETE d
OUTPUT deleted.id, deleted.source, deleted.source_ref, deleted.agent, deleted.verb, deleted.frame INTO @gone
  FROM cti.ctr_dead AS d WITH (ROWLOCK)
 WHERE d.verb IS NOT NULL AND d.id IN (
@p2);
INSERT INTO cti.ctr_inbox (source, source_ref, agent, verb, frame, state, attempts, enqueued_at)
SELECT g.source, g.source_ref, g.agent, g.verb, g.frame, 'ready', 0, @at
  FROM @gone AS g
 ORDER BY g.id;
SELECT COUNT_BIG(*) FROM @gone;
-- ---- 2 row(s)
-- Moves the dead letters given back to the tail of the inbox as new
-- commands (new ids in dead-letter order, attempts 0, enqueued at the time
-- given). Rows refused at intake have no verb and stay where they are. The
-- caller holds the intake applock, as every writer of new inbox rows does.
-- Returns how many moved.
SET NOCOUNT ON;
DECLARE @at datetime2(6) = @p1;
DECLARE @gone TABLE (id bigint NOT NULL PRIMARY KEY, source varchar(16) NOT NULL, source_ref nvarchar(max) NOT NULL,
                     agent nvarchar(400) NOT NULL, verb nvarchar(max) NOT NULL, frame nvarchar(max) NOT NULL);
DELETE d
OUTPUT deleted.id, deleted.source, deleted.source_ref, deleted.agent, deleted.verb, deleted.frame INTO @gone
  FROM cti.ctr_dead AS d WITH (ROWLOCK)
 WHERE d.verb IS NOT NULL AND d.id IN (
@p2, @p3);
INSERT INTO cti.ctr_inbox (source, source_ref, agent, verb, frame, state, attempts, enqueued_at)
SELECT g.source, g.source_ref, g.agent, g.verb, g.frame, 'ready', 0, @at
  FROM @gone AS g
 ORDER BY g.id;
SELECT COUNT_BIG(*) FROM @gone;
-- ==== bench floor 1
SET NOCOUNT ON;
DECLARE @moved TABLE (IS_TTI bigint NOT NULL PRIMARY KEY, DS_TTI nvarchar(max) NOT NULL);
WITH oldest AS (
    SELECT TOP (@p1) IS_TTI, DS_TTI FROM cti.ERP_IN WITH (ROWLOCK, UPDLOCK, READPAST) ORDER BY IS_TTI
)
DELETE FROM oldest OUTPUT deleted.IS_TTI, deleted.DS_TTI INTO @moved;
INSERT INTO cti.ERP_OUT (DS_TTO) SELECT DS_TTI FROM @moved ORDER BY IS_TTI;
