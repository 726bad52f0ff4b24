-- Takes up to $1 ERP rows, oldest first, under the intake lock (held to
-- commit): it serialises every writer of new inbox rows (Intake, Enqueue,
-- RetryDead), so inbox ids become visible in the order they were handed out
-- and a claimer can never see an agent's later command before its earlier
-- one. Rows another transaction holds are skipped rather than waited for.
-- The rows are deleted by key (= ANY), never by scanning T_TTI. With $2 above
-- zero it takes no more than leaves $2 commands in the inbox (counted no
-- further than that, as of the statement's start). Returns that room and
-- whether rows were left beyond it on every row, with one row per row taken
-- (or a single row of NULLs). The one row looked at beyond the room stays
-- locked to commit; intakes take turns on the intake lock, so none waits.
WITH intake_lock AS (
    SELECT pg_advisory_xact_lock({{intake_lock}})
), room AS (
    SELECT greatest(CASE WHEN $2::int <= 0 THEN $1::bigint
                         ELSE least($1::bigint, $2::int - (SELECT count(*) FROM (SELECT 1 FROM {{inbox}} LIMIT $2::int) d))
                    END, 0) AS n
      FROM intake_lock
), oldest AS (
    SELECT ARRAY(SELECT t.IS_TTI FROM {{tti}} t
                  ORDER BY t.IS_TTI
                  LIMIT (SELECT n + 1 FROM room)
                    FOR UPDATE OF t SKIP LOCKED) AS ids
), taken AS (
    DELETE FROM {{tti}}
     WHERE IS_TTI = ANY ((SELECT o.ids[1:r.n] FROM oldest o, room r)::bigint[])
    RETURNING IS_TTI, DS_TTI
)
SELECT r.n, coalesce(array_length(o.ids, 1), 0) > r.n AS more, t.IS_TTI, t.DS_TTI
  FROM room r
 CROSS JOIN oldest o
  LEFT JOIN taken t ON true
