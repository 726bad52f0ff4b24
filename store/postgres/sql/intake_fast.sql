-- The intake's fast path: the session function intake_function.sql creates,
-- with admit.sql's arguments, the IS_TTI of the rows peek_tti.sql read and
-- the inbox bound; it returns what admit.sql returns.
SELECT o_last, o_leased, o_held
  FROM pg_temp.ctirelay_intake($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
