-- The agent status view at the relay's clock @p1 (as in status.sql).
SET NOCOUNT ON;
EXEC sp_set_session_context @key = N'ctirelay.now', @value = @p1;
SELECT agent, pending, in_flight, last_activity
  FROM {{agent_status}}
 ORDER BY agent;
EXEC sp_set_session_context @key = N'ctirelay.now', @value = NULL;
