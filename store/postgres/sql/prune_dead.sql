-- Deletes at most $2 dead letters that died before $1, oldest first.
DELETE FROM {{dead}}
 WHERE id IN (SELECT id FROM {{dead}} WHERE died_at < $1 ORDER BY id LIMIT $2)
