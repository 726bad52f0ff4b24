-- Replies and events for the ERP, IS_TTO (an identity) in the order given;
-- the caller holds the output applock to commit. No OUTPUT: T_TTO may have
-- triggers.
INSERT INTO {{tto}} (DS_TTO)
SELECT v.frame
  FROM (VALUES
--rows
(?, ?)
--end
) AS v(ord, frame)
 ORDER BY v.ord
