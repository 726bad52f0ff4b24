-- Inserts admitted messages into the inbox, the commands at the head of
-- their agent's queue already leased (state running, attempts 1, owner and
-- expiry set). INSERT … SELECT … ORDER BY assigns identity values in that
-- order, so ids follow arrival order; the caller holds the intake applock,
-- so no other writer's ids interleave. Returns the ids given, in order.
SET NOCOUNT ON;
DECLARE @at datetime2(6) = ?;
DECLARE @ids TABLE (id bigint NOT NULL PRIMARY KEY);
INSERT INTO {{inbox}} (source, source_ref, agent, verb, frame, state, attempts, enqueued_at, lease_owner, lease_expires)
OUTPUT inserted.id INTO @ids
SELECT v.source, v.source_ref, v.agent, v.verb, v.frame, v.state, v.attempts, @at, v.lease_owner, v.lease_expires
  FROM (VALUES
--rows
(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
--end
) AS v(ord, source, source_ref, agent, verb, frame, state, attempts, lease_owner, lease_expires)
 ORDER BY v.ord;
SELECT id FROM @ids ORDER BY id;
