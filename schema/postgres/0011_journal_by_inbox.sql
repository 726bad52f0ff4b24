-- ctirelay schema, step 11 (PostgreSQL): find a command's journal rows by
-- its inbox id (GET /v1/commands/{id}, whichever relay queued it).
-- Inbox ids grow with journal order (a command's row and its replies are
-- written soon after it is queued), so a BRIN index (a min/max per range of
-- pages) narrows the search to a few ranges while costing next to nothing
-- on the rows every command writes; small ranges keep the search short,
-- autosummarize keeps the tail summarised between vacuums.
-- Dead letters by inbox id: relay_dead is written only by failures.
-- Index names are unqualified, as in step 2.
CREATE INDEX {{prefix}}journal_inbox ON {{journal}} USING brin (inbox_id) WITH (pages_per_range = 16, autosummarize = on);
CREATE INDEX {{prefix}}dead_inbox ON {{dead}} (inbox_id);
