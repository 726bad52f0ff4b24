-- Takes up to $1 ERP rows, oldest first, under the intake lock (held to
-- commit): it serialises every writer of new inbox rows (Intake, Enqueue,
-- RetryDead), so inbox ids become visible in the order they were handed out
-- and a claimer can never see an agent's later command before its earlier
-- one. Rows another transaction holds are skipped rather than waited for.
-- The rows are deleted by key (= ANY), never by scanning T_TTI. With $2 above
-- zero it takes no more than leaves $2 commands in the inbox (counted no
-- further than that, as of the statement's start). Returns that room on
-- every row, with one row per row taken (or a single row of NULLs).
WITH intake_lock AS (
    SELECT pg_advisory_xact_lock({{intake_lock}})
), room AS (
    SELECT CASE WHEN $2::int <= 0 THEN $1::bigint
                ELSE least($1::bigint, $2::int - (SELECT count(*) FROM (SELECT 1 FROM {{inbox}} LIMIT $2::int) d))
           END AS n
      FROM intake_lock
), taken AS (
    DELETE FROM {{tti}}
     WHERE IS_TTI = ANY (ARRAY(
           SELECT t.IS_TTI FROM {{tti}} t
            ORDER BY t.IS_TTI
            LIMIT (SELECT greatest(n, 0) FROM room)
              FOR UPDATE OF t SKIP LOCKED))
    RETURNING IS_TTI, DS_TTI
)
SELECT r.n, t.IS_TTI, t.DS_TTI
  FROM room r
  LEFT JOIN taken t ON true
