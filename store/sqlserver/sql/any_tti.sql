-- Is there a row to take? Asked before the intake transaction, so an idle
-- relay's poll is one seek on an empty index and takes no applock. A locking
-- read (READCOMMITTEDLOCK, whatever READ_COMMITTED_SNAPSHOT says) that skips
-- rows an ERP has not committed yet (READPAST) rather than waiting for them.
SELECT TOP (1) 1 FROM {{tti}} WITH (READCOMMITTEDLOCK, READPAST)
