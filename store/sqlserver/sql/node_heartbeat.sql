-- Registers relay @p1 (host @p2, pid @p3, version @p4, started at @p5) or
-- refreshes its row, with heartbeat_at = @p6 and the locks it holds @p7
-- (comma-separated). The update holds a key-range lock (SERIALIZABLE) when
-- the row is absent, so two heartbeats of one id cannot both insert.
SET NOCOUNT ON;
UPDATE {{node}} WITH (UPDLOCK, SERIALIZABLE)
   SET host = @p2, pid = @p3, version = @p4, started_at = @p5, heartbeat_at = @p6, holds = @p7
 WHERE id = @p1;
IF @@ROWCOUNT = 0
    INSERT INTO {{node}} (id, host, pid, version, started_at, heartbeat_at, holds)
    VALUES (@p1, @p2, @p3, @p4, @p5, @p6, @p7);
