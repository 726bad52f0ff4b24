-- Deletes the journal rows older than $1 among its first $2 rows by id. Ids
-- follow time (within the relays' clock skew), so the old rows are at the
-- start of the primary key: a batch reads at most $2 rows of any size of
-- journal, locks only the rows it deletes (writers append at the other end
-- and never wait), and the caller stops at the first batch short of $2.
DELETE FROM {{journal}}
 WHERE id IN (SELECT h.id FROM (SELECT id, at FROM {{journal}} ORDER BY id LIMIT $2) h WHERE h.at < $1)
