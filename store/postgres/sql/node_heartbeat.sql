-- Registers relay $1 (host $2, pid $3, version $4, started at $5) or refreshes
-- its row, with heartbeat_at = $6 and the locks it holds $7 (comma-separated).
INSERT INTO {{node}} (id, host, pid, version, started_at, heartbeat_at, holds)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
    started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, holds = excluded.holds
