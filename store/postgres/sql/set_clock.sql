-- The status views read ctirelay.now when set, so they show ages against the
-- relay's clock; local to the transaction.
SELECT set_config('ctirelay.now', $1, true)
