-- The queue status view, read with ages against the relay's clock @p1: the
-- session context is set and cleared in this one batch, so a pooled
-- session never keeps it.
SET NOCOUNT ON;
EXEC sp_set_session_context @key = N'ctirelay.now', @value = @p1;
SELECT pending, inbox, ready, in_flight, retrying, dead, outbox, COALESCE(oldest_age_s, 0), done_1m
  FROM {{queue_status}};
EXEC sp_set_session_context @key = N'ctirelay.now', @value = NULL;
