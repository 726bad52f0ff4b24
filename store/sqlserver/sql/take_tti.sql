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
      FROM {{tti}} AS t WITH (ROWLOCK, UPDLOCK, READPAST)
     ORDER BY t.IS_TTI
)
DELETE FROM oldest
OUTPUT deleted.IS_TTI, deleted.DS_TTI INTO @taken;
SELECT IS_TTI, DS_TTI FROM @taken ORDER BY IS_TTI;
