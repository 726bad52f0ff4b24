-- Takes up to $1 ERP rows, oldest first, under the intake lock (held to
-- commit): it serialises every writer of new inbox rows (Intake, Enqueue,
-- RetryDead), so inbox ids become visible in the order they were handed out
-- and a claimer can never see an agent's later command before its earlier
-- one. Rows another transaction holds are skipped rather than waited for.
-- The rows are deleted by key (= ANY), never by scanning T_TTI.
WITH intake_lock AS (
    SELECT pg_advisory_xact_lock({{intake_lock}})
)
DELETE FROM {{tti}}
 WHERE IS_TTI = ANY (ARRAY(
       SELECT t.IS_TTI FROM {{tti}} t, intake_lock
        ORDER BY t.IS_TTI
        LIMIT $1
          FOR UPDATE OF t SKIP LOCKED))
RETURNING IS_TTI, DS_TTI
