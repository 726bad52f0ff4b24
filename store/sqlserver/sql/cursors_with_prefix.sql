-- The cursors whose name begins with @p1 (a file bridge's state), in name
-- order. LEFT compares the prefix as text: no LIKE pattern characters.
SELECT name, position, updated_at FROM {{cursor}}
 WHERE LEFT(name, LEN(@p1 + N'x') - 1) = @p1
 ORDER BY name
