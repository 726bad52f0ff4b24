-- ctirelay schema, step 2 (SQL Server): scheduled jobs, as PostgreSQL's
-- step 9: one row per (job, scheduled slot), recorded before the run starts,
-- and at most one running run per job, both kept by filtered unique indexes;
-- relay_node.holds lists the locks a relay holds (comma-separated). The
-- columns of step 1 that no release wrote (outcome, detail) stay, unused:
-- status and summary replace them.
ALTER TABLE {{job_run}} ADD
    status       nvarchar(100)  NOT NULL CONSTRAINT {{prefix}}job_run_status_df DEFAULT N'abandoned',
    summary      nvarchar(max)  NULL,
    slot         datetime2(6)   NULL,
    manual       bit            NOT NULL CONSTRAINT {{prefix}}job_run_manual_df DEFAULT 0,
    heartbeat_at datetime2(6)   NULL;
-- The new columns exist only once the batch above has run.
EXEC (N'UPDATE {{job_run}} SET slot = started_at, heartbeat_at = started_at, manual = 1');
EXEC (N'ALTER TABLE {{job_run}} ALTER COLUMN slot datetime2(6) NOT NULL');
EXEC (N'ALTER TABLE {{job_run}} ALTER COLUMN heartbeat_at datetime2(6) NOT NULL');
EXEC (N'CREATE UNIQUE INDEX {{prefix}}job_run_slot ON {{job_run}} (job, slot) WHERE manual = 0');
EXEC (N'CREATE UNIQUE INDEX {{prefix}}job_run_running ON {{job_run}} (job) WHERE status = N''running''');

ALTER TABLE {{node}} ADD holds nvarchar(1000) NOT NULL CONSTRAINT {{prefix}}node_holds_df DEFAULT N'';
