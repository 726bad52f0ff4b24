-- Marks the commands of a requester that is gone: only those still waiting
-- (not held by a relay) and not refused already become queued refused
-- messages ($2, a refused verb), answered at the head of their queue. A claim
-- under way locks the row first; the conditions are checked again on the
-- row version the UPDATE changes, so a command just leased is left alone.
UPDATE {{inbox}} SET verb = $2
 WHERE id = ANY ($1::bigint[]) AND state = 'ready' AND left(verb, 1) <> '!'
