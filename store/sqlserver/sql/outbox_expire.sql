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
SELECT TOP (1) @mark_at = at, @up_to = tto_id FROM {{tto_mark}}
 WHERE at <= @p1
   AND (SELECT MAX(tto_id) FROM {{tto_mark}}) <= COALESCE((SELECT MAX(IS_TTO) FROM {{tto}}), 0)
 ORDER BY at DESC, tto_id DESC;
DECLARE @gone TABLE (IS_TTO bigint NOT NULL PRIMARY KEY, DS_TTO nvarchar(max) NULL);
IF @up_to IS NOT NULL
BEGIN
    WITH oldest AS (
        SELECT TOP (@p2) t.IS_TTO, t.DS_TTO
          FROM {{tto}} AS t WITH (ROWLOCK, UPDLOCK, READPAST)
         WHERE t.IS_TTO <= @up_to
         ORDER BY t.IS_TTO
    )
    DELETE FROM oldest
    OUTPUT deleted.IS_TTO, deleted.DS_TTO INTO @gone;
    DELETE FROM {{tto_mark}} WHERE at < @mark_at;
END;
SELECT IS_TTO, DS_TTO FROM @gone ORDER BY IS_TTO;
