-- Records the run of job @p1 for slot @p2 (manual @p3) by node @p4 with
-- status @p5, started @p6, finished @p7 (NULL while running), heartbeat @p8,
-- summary @p9, first marking the job's runs still running with a heartbeat
-- before @p10 abandoned. Returns the new id and 0, or 0 and whether the slot
-- (1) or a running run (0) refused it. The checks hold key-range locks
-- (HOLDLOCK) to the end of the transaction, so two relays cannot both pass
-- them; the filtered unique indexes stay the backstop.
SET NOCOUNT ON;
UPDATE {{job_run}} SET status = N'abandoned', finished_at = @p6,
       summary = N'{"reason":"no heartbeat for three beats: its relay died mid-run"}'
 WHERE job = @p1 AND status = N'running' AND heartbeat_at < @p10;
IF @p3 = 0 AND EXISTS (SELECT 1 FROM {{job_run}} WITH (UPDLOCK, HOLDLOCK) WHERE job = @p1 AND slot = @p2 AND manual = 0)
    SELECT CAST(0 AS bigint), 1;
ELSE IF @p5 = N'running' AND EXISTS (SELECT 1 FROM {{job_run}} WITH (UPDLOCK, HOLDLOCK) WHERE job = @p1 AND status = N'running')
    SELECT CAST(0 AS bigint), 0;
ELSE
BEGIN
    INSERT INTO {{job_run}} (job, slot, manual, node, status, started_at, finished_at, heartbeat_at, summary)
    VALUES (@p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9);
    SELECT CAST(SCOPE_IDENTITY() AS bigint), 0;
END
