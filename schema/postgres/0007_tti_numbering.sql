-- ctirelay schema, step 7 (PostgreSQL): explicit and generated IS_TTI together.
-- An ERP may supply IS_TTI (INSERT INTO T_TTI VALUES (1, ...)) or let the
-- database number the row (INSERT INTO T_TTI (DS_TTI) VALUES (...)). The
-- identity column of step 1 does not see explicit values, so after an
-- explicit 1 the next generated number was 1 again: a duplicate key. This
-- trigger moves the identity's sequence past an explicit value that is ahead
-- of it, so a generated number is always past every explicit one before it
-- (SQLite's AUTOINCREMENT does that by itself). There is no trigger-free
-- way: a column default cannot read the table, and a default-numbered
-- row's number is drawn before anything can look at the row.
--
-- Only a T_TTI that step 1 created gets it: the relay never alters an ERP's
-- own tables. Step 1 created T_TTI when the table's row type was created in
-- the transaction that recorded step 1, and then IS_TTI is its identity.
--
-- The trigger's WHEN clause lets through only an explicit value ahead of
-- the numbering (a generated number was just drawn, so it never is): every
-- other row costs one read of the sequence and no function call. It runs as
-- the ERP's role, which may be allowed only to INSERT into T_TTI: hence
-- SELECT on the sequence for everyone (it only shows the last number given)
-- and a SECURITY DEFINER function, which alone moves the sequence. Every
-- name in its body is pg_catalog's.
CREATE OR REPLACE FUNCTION {{prefix}}tti_numbering() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- found from the table, never stored: a dump restored elsewhere, or a
    -- rename, gives it other oids and names
    seq  regclass := pg_get_serial_sequence(TG_RELID::regclass::text, 'is_tti')::regclass;
    id   bigint   := NEW.is_tti;
    last bigint;
    -- "ctis" in the high half, the sequence in the low: one lock per table
    k    bigint   := 7166468849695457280 | seq::oid::bigint;
BEGIN
    last := coalesce(pg_sequence_last_value(seq), 0);
    -- Numbers above 2^62 are taken as they are but never followed: moving
    -- the sequence there would leave it nothing to give (the trap SQLite's
    -- AUTOINCREMENT falls into at 2^63 - 1; see docs/operations.md).
    IF id IS NULL OR id <= last OR id > 4611686018427387903 THEN
        RETURN NEW;
    END IF;
    IF id - last <= 1000 THEN
        -- nextval never goes back, whoever else draws numbers meanwhile
        WHILE nextval(seq) < id LOOP
        END LOOP;
        RETURN NEW;
    END IF;
    -- A long jump: setval, under a lock so that two explicit values do not
    -- move the sequence back. The lock is the session's and released at once
    -- (a transaction's would hold every other jump until commit).
    BEGIN
        PERFORM pg_advisory_lock(k);
        IF id > coalesce(pg_sequence_last_value(seq), 0) THEN
            PERFORM setval(seq, id);
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock(k);
        RAISE;
    END;
    PERFORM pg_advisory_unlock(k);
    RETURN NEW;
END
$$;

DO $$
DECLARE
    tbl regclass := to_regclass('{{tti}}');
    seq regclass;
BEGIN
    IF tbl IS NULL OR NOT EXISTS (
        SELECT 1
          FROM pg_class c
          JOIN pg_type t ON t.oid = c.reltype
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'is_tti'
         WHERE c.oid = tbl
           AND a.attidentity = 'd' AND a.atttypid = 'bigint'::regtype
           AND t.xmin = (SELECT m.xmin FROM {{migrations}} m WHERE m.version = 1)
    ) THEN
        RETURN; -- the ERP's own table
    END IF;
    seq := pg_get_serial_sequence(tbl::text, 'is_tti')::regclass;
    -- rows supplied before this step: the numbering starts past them
    PERFORM setval(seq, m)
       FROM (SELECT max(is_tti) AS m FROM {{tti}} WHERE is_tti <= 4611686018427387903) x
      WHERE m > coalesce(pg_sequence_last_value(seq), 0);
    EXECUTE format('GRANT SELECT ON SEQUENCE %s TO PUBLIC', seq);
    -- names unquoted, as step 1 made them (the prefix is a checked identifier);
    -- the sequence as a regclass constant, which pg_dump writes by name
    EXECUTE format('CREATE TRIGGER %s BEFORE INSERT ON %s FOR EACH ROW
                    WHEN (NEW.is_tti > coalesce(pg_catalog.pg_sequence_last_value(%L::regclass), 0)
                          AND NEW.is_tti <= 4611686018427387903)
                    EXECUTE FUNCTION %s()',
                   '{{prefix}}tti_numbering', tbl, pg_get_serial_sequence(tbl::text, 'is_tti'), '{{prefix}}tti_numbering');
END
$$;
