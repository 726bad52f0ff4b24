-- The ends of T_TTI (relay.Backlog): both 0 when it is empty. Each is one
-- step down the primary key.
SELECT COALESCE((SELECT min(IS_TTI) FROM {{tti}}), 0), COALESCE((SELECT max(IS_TTI) FROM {{tti}}), 0)
