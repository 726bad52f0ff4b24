-- Takes up to $1 ERP rows, oldest first. Rows another transaction holds are
-- skipped rather than waited for; the caller already holds the intake lock.
DELETE FROM {{tti}}
 WHERE IS_TTI IN (
       SELECT IS_TTI FROM {{tti}}
        ORDER BY IS_TTI
        LIMIT $1
          FOR UPDATE SKIP LOCKED)
RETURNING IS_TTI, DS_TTI
