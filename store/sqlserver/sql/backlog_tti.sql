-- The ends of T_TTI (relay.Backlog): both 0 when it is empty. Each is one
-- seek on the primary key; READPAST so rows an ERP has not committed yet
-- are skipped rather than waited for (as any_tti.sql does).
SELECT COALESCE((SELECT MIN(IS_TTI) FROM {{tti}} WITH (READCOMMITTEDLOCK, READPAST)), 0),
       COALESCE((SELECT MAX(IS_TTI) FROM {{tti}} WITH (READCOMMITTEDLOCK, READPAST)), 0)
