SELECT id, host, pid, version, started_at, heartbeat_at, holds FROM {{node}} ORDER BY id
