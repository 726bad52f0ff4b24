SELECT name, position, updated_at FROM {{cursor}} WHERE name = $1
