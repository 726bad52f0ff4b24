-- Creates cursor $1 at position $2, at $3, once: a second insert of the name
-- changes nothing (PublishOnce reads the row count).
INSERT INTO {{cursor}} (name, position, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING
