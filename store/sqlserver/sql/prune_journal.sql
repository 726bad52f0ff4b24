-- Deletes the journal rows older than @p1 among its first @p2 rows by id
-- (ids follow time, so a batch reads at most @p2 rows of any size of
-- journal and locks only the rows it deletes; the caller stops at the first
-- batch short of @p2).
DELETE FROM {{journal}}
 WHERE id IN (SELECT h.id FROM (SELECT TOP (@p2) id, at FROM {{journal}} ORDER BY id) h WHERE h.at < @p1)
