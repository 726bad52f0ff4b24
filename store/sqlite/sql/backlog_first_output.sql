-- The oldest output the journal still holds (relay.Backlog, when fewer are
-- journaled than rows are unread).
SELECT at FROM {{journal}}
 WHERE direction = 'out' AND error IS NULL AND (kind = 'event' OR (kind = 'reply' AND origin = 'erp'))
 ORDER BY id LIMIT 1
