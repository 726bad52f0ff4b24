-- Which of the agents given have commands in the inbox (1) or none (0),
-- each answered under the spelling asked: one seek on (agent, id) each.
-- Asked with the intake applock held, so every earlier command is there.
SELECT f.agent, CASE WHEN EXISTS (SELECT 1 FROM {{inbox}} AS i WHERE i.agent = f.agent) THEN 1 ELSE 0 END
  FROM (VALUES
--rows
(?)
--end
) AS f(agent)
