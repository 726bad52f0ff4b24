-- ctirelay schema, step 4 (PostgreSQL): no per-agent index on the journal.
-- Every command writes two journal rows (the command taken and its reply),
-- and each cost an entry in (agent, id) at one of as many points as there are
-- agents; only the agent_status view read that index. The view now finds the
-- last day's activity through the time index, as the SQLite view does: it
-- reads a day of journal, which suits a view a DBA queries by hand (the relay
-- itself never reads it).
-- Index names are unqualified, as in step 2.
CREATE OR REPLACE VIEW {{agent_status}} AS
WITH clock AS (
    SELECT coalesce(nullif(current_setting('ctirelay.now', true), '')::timestamptz, now()) AS now
), recent AS (
    SELECT j.agent, max(j.at) AS last_at
      FROM {{journal}} j, clock
     WHERE j.at >= clock.now - interval '1 day' AND j.agent <> ''
     GROUP BY j.agent
), queued AS (
    SELECT agent,
           count(*) FILTER (WHERE state = 'ready')                  AS pending,
           count(*) FILTER (WHERE state = 'running')                AS in_flight,
           count(*) FILTER (WHERE state = 'ready' AND attempts > 0) AS retrying,
           min(enqueued_at)                                         AS oldest
      FROM {{inbox}}
     GROUP BY agent
)
SELECT coalesce(q.agent, r.agent)                  AS agent,
       coalesce(q.pending, 0)                      AS pending,
       coalesce(q.in_flight, 0)                    AS in_flight,
       coalesce(q.retrying, 0)                     AS retrying,
       CASE WHEN q.oldest IS NOT NULL
            THEN greatest(0, floor(extract(epoch FROM clock.now - q.oldest)))::bigint END AS oldest_age_s,
       coalesce(r.last_at, q.oldest)               AS last_activity
  FROM queued q
  FULL JOIN recent r ON r.agent = q.agent
 CROSS JOIN clock;

DROP INDEX {{prefix}}journal_agent_id;
