SELECT name, position, updated_at FROM {{cursor}} WHERE left(name, length($1)) = $1 ORDER BY name
