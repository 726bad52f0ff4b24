-- When the oldest unread T_TTO row was written (relay.Backlog): the at of
-- the n-th newest output journaled (?1 = n - 1), outputs being what went to
-- T_TTO: events, and replies to the ERP's commands the database did not
-- refuse. Read backwards along the primary key; n is bounded by the caller.
SELECT at FROM {{journal}}
 WHERE direction = 'out' AND error IS NULL AND (kind = 'event' OR (kind = 'reply' AND origin = 'erp'))
 ORDER BY id DESC LIMIT 1 OFFSET ? + 0
