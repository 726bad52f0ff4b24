-- ctirelay schema, step 5 (SQLite): the journal holds the relay's own notes
-- too (kind 'note': a screen pop a rule suppressed, an agent state the switch
-- changed behind the ERP's back, an expired T_TTO row), next to the messages.
-- SQLite cannot change a CHECK in place, so the table is rebuilt the way the
-- SQLite manual prescribes (new table, copy, drop, rename; the views that read
-- it dropped and made again as step 1 made them). Ids are copied, and so is
-- the AUTOINCREMENT high-water mark, so a tail cursor never sees an id twice.
-- The copy reads the whole journal once: on a large one this step takes a
-- while (about a second per million rows), once.
DROP VIEW {{queue_status}};
DROP VIEW {{agent_status}};
DROP VIEW {{throughput}};

CREATE TABLE {{prefix}}journal_next (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    direction  TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    kind       TEXT    NOT NULL CHECK (kind IN ('command', 'rejected', 'reply', 'event', 'note')),
    agent      TEXT    NOT NULL,
    frame      TEXT    NOT NULL,
    origin     TEXT    NOT NULL,               -- the command's source, 'switch', or the noting component
    source_ref TEXT,
    inbox_id   INTEGER,
    outcome    TEXT    CHECK (outcome IN ('ok', 'err')),
    latency_us INTEGER,
    error      TEXT
);
INSERT INTO {{prefix}}journal_next (id, at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error)
SELECT id, at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error
  FROM {{journal}} ORDER BY id;
DELETE FROM sqlite_sequence WHERE name = '{{prefix}}journal_next';
INSERT INTO sqlite_sequence (name, seq)
SELECT '{{prefix}}journal_next', seq FROM sqlite_sequence WHERE name = '{{prefix}}journal';
DROP TABLE {{journal}};
ALTER TABLE {{prefix}}journal_next RENAME TO {{prefix}}journal;
CREATE INDEX {{prefix}}journal_at ON {{journal}} (at);

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
     WHERE at >= (unixepoch('now') - 86400) * 1000000 AND agent <> '' AND kind <> 'note'
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
