-- ctirelay schema, step 2 (PostgreSQL): cheaper claims.
-- Only the oldest command of an agent is ever leased, so claims, reclaims and
-- lease renewals find the heads of the agents' queues along (agent, id), one
-- index probe per agent, instead of through indexes on state. Without those
-- indexes a claim changes no indexed column, so its UPDATE can stay on the
-- row's page as a heap-only tuple and write no index entry; inbox pages are
-- left half empty so that there is room for it.
-- Index names are unqualified: with a schema configured the relay connects
-- with search_path set to it (a DBA running this by hand sets it first).
DROP INDEX {{prefix}}inbox_ready;
DROP INDEX {{prefix}}inbox_lease;
ALTER TABLE {{inbox}} SET (fillfactor = 50);
