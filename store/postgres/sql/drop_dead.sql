DELETE FROM {{dead}} WHERE id = ANY ($1::bigint[])
