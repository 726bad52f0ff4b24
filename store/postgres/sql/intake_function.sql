-- Creates, in the session's own temporary schema (at connect, connect.go),
-- the function the intake's fast path calls: one statement, so one round
-- trip and one transaction, that takes the intake lock first and only then
-- reads (a volatile function's statements each take their own snapshot, so
-- they see every intake that held the lock before), takes the rows
-- peek_tti.sql read and admits them as admit.sql does. $1..$15 are
-- admit.sql's; $16 the IS_TTI of the rows read, in order (their texts are
-- $5); $17 the inbox bound (0: none). Unless the oldest rows of T_TTI
-- (skipping those another transaction holds, as take_tti.sql does) are
-- exactly those rows with those texts, and the bound still leaves room for
-- them, it fails with SQLSTATE CTR01 and so takes nothing: the caller runs
-- the locked intake (take_tti.sql, then admit.sql) instead.
CREATE OR REPLACE FUNCTION pg_temp.ctirelay_intake(text[], text[], text[], text[], text[], text[], text[], text[],
    timestamptz, boolean, text, timestamptz, integer, integer[], boolean[], bigint[], integer)
RETURNS TABLE (o_last bigint, o_leased bigint[], o_held bigint[])
LANGUAGE plpgsql VOLATILE AS $ctirelay$
DECLARE
    same bigint;
BEGIN
    PERFORM pg_advisory_xact_lock({{intake_lock}});
    IF $17 > 0 AND $17 - (SELECT count(*) FROM (SELECT 1 FROM {{inbox}} LIMIT $17) d) < cardinality($16) THEN
        RAISE EXCEPTION 'the inbox bound leaves no room for the rows read' USING ERRCODE = 'CTR01';
    END IF;
    WITH oldest AS (
        SELECT ARRAY(SELECT t.IS_TTI FROM {{tti}} t
                      ORDER BY t.IS_TTI
                      LIMIT cardinality($16)
                        FOR UPDATE OF t SKIP LOCKED) AS ids
    ), taken AS (
        DELETE FROM {{tti}}
         WHERE IS_TTI = ANY ((SELECT o.ids FROM oldest o)::bigint[])
        RETURNING IS_TTI, DS_TTI
    )
    SELECT count(*) INTO same
      FROM taken t
      JOIN unnest($16, $5) AS r(id, frame) ON r.id = t.IS_TTI AND r.frame = coalesce(t.DS_TTI, '');
    IF same <> cardinality($16) THEN
        RAISE EXCEPTION 'the rows read are no longer the oldest of T_TTI' USING ERRCODE = 'CTR01';
    END IF;
    RETURN QUERY
{{> admission}};
END
$ctirelay$
