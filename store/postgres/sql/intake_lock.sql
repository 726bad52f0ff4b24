-- Serialises every writer of new inbox rows (Intake, Enqueue, RetryDead) until
-- commit, so inbox ids become visible in the order they were handed out: a
-- claimer can never see an agent's later command before its earlier one.
SELECT pg_advisory_xact_lock({{intake_lock}})
