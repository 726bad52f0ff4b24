-- As insert_tto.sql for a T_TTO without identity (database.explicit_ids):
-- the relay numbers its rows after the largest IS_TTO present. The caller
-- holds the output applock, so relays number in turn; the range lock
-- (HOLDLOCK) keeps the largest row from moving meanwhile.
SET NOCOUNT ON;
DECLARE @base bigint = (SELECT COALESCE(MAX(IS_TTO), 0) FROM {{tto}} WITH (UPDLOCK, HOLDLOCK));
INSERT INTO {{tto}} (IS_TTO, DS_TTO)
SELECT @base + v.ord, v.frame
  FROM (VALUES
--rows
(?, ?)
--end
) AS v(ord, frame);
