-- Saves positions $1 (names) and $2 (positions), parallel arrays with unique
-- names, at $3. A position only moves forward; an equal one refreshes
-- updated_at.
INSERT INTO {{cursor}} AS c (name, position, updated_at)
SELECT v.name, v.position, $3
  FROM unnest($1::text[], $2::bigint[]) AS v(name, position)
ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
 WHERE excluded.position >= c.position
