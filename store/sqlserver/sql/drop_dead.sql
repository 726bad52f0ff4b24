DELETE FROM {{dead}} WHERE id IN (
--rows
?
--end
)
