-- Marks the commands of a requester that is gone: only those still waiting
-- (not held by a relay) and not refused already become queued refused
-- messages (the verb given), answered at the head of their queue. A claim
-- under way holds the row's lock; the conditions are read again once it is
-- released, so a command just leased is left alone.
UPDATE {{inbox}} WITH (ROWLOCK) SET verb = ?
 WHERE state = 'ready' AND LEFT(verb, 1) <> '!' AND id IN (
--rows
?
--end
)
