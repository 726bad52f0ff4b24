SELECT id, host, pid, version, started_at, heartbeat_at FROM {{node}} ORDER BY id
