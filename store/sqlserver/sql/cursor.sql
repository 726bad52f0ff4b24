SELECT name, position, updated_at FROM {{cursor}} WHERE name = @p1
