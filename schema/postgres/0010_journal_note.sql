-- ctirelay schema, step 10 (PostgreSQL): the journal holds the relay's own
-- notes too (kind 'note': a screen pop a rule suppressed, an agent state the
-- switch changed behind the ERP's back, an expired T_TTO row), next to the
-- messages. The kind CHECK of step 1 has a name PostgreSQL chose (cut to 63
-- bytes for long prefixes), so it is found by its definition. NOT VALID: the
-- rows there passed the stricter check already, and validating would read
-- the whole journal.
DO $$
DECLARE
    c name;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = '{{journal}}'::regclass AND contype = 'c'
                AND pg_get_constraintdef(oid) LIKE '%kind%'
    LOOP
        EXECUTE format('ALTER TABLE {{journal}} DROP CONSTRAINT %I', c);
    END LOOP;
END $$;
ALTER TABLE {{journal}} ADD CONSTRAINT {{prefix}}journal_kind
    CHECK (kind IN ('command', 'rejected', 'reply', 'event', 'note')) NOT VALID;
