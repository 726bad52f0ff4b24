-- ctirelay schema, step 1 (SQLite).
-- Times are INTEGER microseconds since the Unix epoch (UTC), always written by
-- the relay from its own clock; the views read the database clock only to show
-- ages to a DBA.

-- The ERP's tables, exactly as the Tactium document defines them. Created when
-- absent, never altered: legacy writers insert positionally.
CREATE TABLE IF NOT EXISTS {{tti}} (
    IS_TTI INTEGER PRIMARY KEY AUTOINCREMENT,
    DS_TTI TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS {{tto}} (
    IS_TTO INTEGER PRIMARY KEY AUTOINCREMENT,
    DS_TTO TEXT NOT NULL
);

-- The relay's work queue: one row per accepted command until it is settled.
-- AUTOINCREMENT: ids are never reused, so an id always means one command and
-- a later command always has a larger id (per-agent order relies on it).
CREATE TABLE {{inbox}} (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source        TEXT    NOT NULL,            -- erp, socket, file, http, cli
    source_ref    TEXT    NOT NULL,            -- IS_TTI, connection id, file name ...
    agent         TEXT    NOT NULL,            -- routing key: the agent login
    verb          TEXT    NOT NULL,
    frame         TEXT    NOT NULL,            -- the command as received
    state         TEXT    NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'running')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    INTEGER,                     -- retry not before this time
    lease_owner   TEXT,
    lease_expires INTEGER,
    enqueued_at   INTEGER NOT NULL,
    last_error    TEXT
);
CREATE INDEX {{prefix}}inbox_agent_id ON {{inbox}} (agent, id);
CREATE INDEX {{prefix}}inbox_ready ON {{inbox}} (id) WHERE state = 'ready';
CREATE INDEX {{prefix}}inbox_lease ON {{inbox}} (lease_expires) WHERE state = 'running';

-- Commands that can never succeed, with why. Rows refused at intake have no
-- inbox_id and no verb (they cannot be retried).
CREATE TABLE {{dead}} (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id    INTEGER,
    source      TEXT    NOT NULL,
    source_ref  TEXT    NOT NULL,
    agent       TEXT    NOT NULL,              -- '' when no login could be read
    verb        TEXT,
    frame       TEXT    NOT NULL,
    code        TEXT,                          -- the ERR code answered
    reason      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL,
    died_at     INTEGER NOT NULL
);

-- Every message in either direction: the audit log, the feed bridges tail and
-- the input of reconciliation. AUTOINCREMENT so a tail cursor never sees an
-- id twice, even after retention deletes the newest rows.
CREATE TABLE {{journal}} (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    direction  TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    kind       TEXT    NOT NULL CHECK (kind IN ('command', 'rejected', 'reply', 'event')),
    agent      TEXT    NOT NULL,
    frame      TEXT    NOT NULL,
    origin     TEXT    NOT NULL,               -- the command's source, or 'switch'
    source_ref TEXT,
    inbox_id   INTEGER,
    outcome    TEXT    CHECK (outcome IN ('ok', 'err')),
    latency_us INTEGER
);
CREATE INDEX {{prefix}}journal_at ON {{journal}} (at);
CREATE INDEX {{prefix}}journal_agent_id ON {{journal}} (agent, id);

-- Durable position of each bridge or webhook in the journal.
CREATE TABLE {{cursor}} (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

-- Running relays and their heartbeats.
CREATE TABLE {{node}} (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

-- History of scheduled jobs.
CREATE TABLE {{job_run}} (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT    NOT NULL,
    node        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT,
    detail      TEXT
);
CREATE INDEX {{prefix}}job_run_job ON {{job_run}} (job, started_at);

-- Views for DBAs. Ages are whole seconds against the database clock; times are
-- shown as UTC text 'YYYY-MM-DD HH:MM:SS.SSS'.

-- One row: the depth of every queue. ready counts every waiting command,
-- retrying those among them that already failed at least once.
CREATE VIEW {{queue_status}} AS
SELECT
    (SELECT count(*) FROM {{tti}})                                         AS pending,
    (SELECT count(*) FROM {{inbox}})                                       AS inbox,
    (SELECT count(*) FROM {{inbox}} WHERE state = 'ready')                 AS ready,
    (SELECT count(*) FROM {{inbox}} WHERE state = 'running')               AS in_flight,
    (SELECT count(*) FROM {{inbox}} WHERE state = 'ready' AND attempts > 0) AS retrying,
    (SELECT count(*) FROM {{dead}})                                        AS dead,
    (SELECT count(*) FROM {{tto}})                                         AS outbox,
    (SELECT max(0, (unixepoch('now') * 1000000 - min(enqueued_at)) / 1000000) FROM {{inbox}}) AS oldest_age_s,
    (SELECT count(*) FROM {{journal}}
      WHERE kind = 'reply' AND at >= (unixepoch('now') - 60) * 1000000)    AS done_1m;

-- One row per agent with commands in the inbox or journal activity in the last day.
CREATE VIEW {{agent_status}} AS
WITH queued AS (
    SELECT agent,
           sum(state = 'ready')                  AS pending,
           sum(state = 'running')                AS in_flight,
           sum(state = 'ready' AND attempts > 0) AS retrying,
           min(enqueued_at)                      AS oldest
      FROM {{inbox}}
     GROUP BY agent
), recent AS (
    SELECT agent, max(at) AS last_at
      FROM {{journal}}
     WHERE at >= (unixepoch('now') - 86400) * 1000000 AND agent <> ''
     GROUP BY agent
), agents AS (
    SELECT agent FROM queued UNION SELECT agent FROM recent
)
SELECT a.agent                                  AS agent,
       coalesce(q.pending, 0)                   AS pending,
       coalesce(q.in_flight, 0)                 AS in_flight,
       coalesce(q.retrying, 0)                  AS retrying,
       CASE WHEN q.oldest IS NULL THEN NULL
            ELSE max(0, (unixepoch('now') * 1000000 - q.oldest) / 1000000) END AS oldest_age_s,
       strftime('%Y-%m-%d %H:%M:%f', coalesce(r.last_at, q.oldest) / 1000000.0, 'unixepoch') AS last_activity
  FROM agents a
  LEFT JOIN queued q ON q.agent = a.agent
  LEFT JOIN recent r ON r.agent = a.agent;

-- Per minute for the last hour: commands taken, replies and events.
CREATE VIEW {{throughput}} AS
SELECT strftime('%Y-%m-%d %H:%M', at / 1000000, 'unixepoch')  AS minute,
       sum(kind = 'command')                                  AS commands,
       sum(kind = 'reply' AND outcome = 'ok')                 AS replies_ok,
       sum(kind = 'reply' AND outcome = 'err')                AS replies_err,
       sum(kind = 'event')                                    AS events
  FROM {{journal}}
 WHERE at >= (unixepoch('now') - 3600) * 1000000
 GROUP BY 1
 ORDER BY 1;
