-- ctirelay schema, step 2 (SQLite): cheaper claims and settles.
-- Only the oldest command of an agent is ever leased, so claims, reclaims and
-- lease renewals find the heads of the agents' queues along (agent, id), one
-- index seek per agent, instead of through indexes on state that every claim
-- and every settle had to update.
DROP INDEX {{prefix}}inbox_ready;
DROP INDEX {{prefix}}inbox_lease;
-- No statement or view of the SQLite dialect reads the journal by agent (the
-- agent view goes by time), and this index cost every command two writes to
-- pages scattered over the file.
DROP INDEX {{prefix}}journal_agent_id;
