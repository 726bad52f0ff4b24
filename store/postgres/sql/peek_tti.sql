-- Reads up to $1 ERP rows, oldest first, for the intake's fast path, taking
-- and locking nothing (intake_function.sql takes them): with $2 above zero,
-- no more than leave $2 commands in the inbox, counted as take_tti.sql
-- counts them. Returns that room on every row, with one row per row read,
-- one more beyond the room when T_TTI has it (or a single row of NULLs).
SELECT r.n, t.IS_TTI, t.DS_TTI
  FROM (SELECT greatest(CASE WHEN $2::int <= 0 THEN $1::bigint
                             ELSE least($1::bigint, $2::int - (SELECT count(*) FROM (SELECT 1 FROM {{inbox}} LIMIT $2::int) d))
                        END, 0) AS n) r
  LEFT JOIN LATERAL (SELECT t.IS_TTI, t.DS_TTI FROM {{tti}} t ORDER BY t.IS_TTI LIMIT r.n + 1) t ON true
