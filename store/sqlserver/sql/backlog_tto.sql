-- When the oldest unread T_TTO row was written (relay.Backlog): the at of
-- the n-th newest output journaled (@p1 = n - 1), outputs being what went
-- to T_TTO: events, and replies to the ERP's commands the database did not
-- refuse. Read backwards along the clustered key; n is bounded by the caller.
SELECT at FROM {{journal}}
 WHERE direction = 'out' AND error IS NULL AND (kind = 'event' OR (kind = 'reply' AND origin = 'erp'))
 ORDER BY id DESC OFFSET @p1 ROWS FETCH NEXT 1 ROWS ONLY
