-- The text columns of the ERP's tables, for the start-up check
-- (relay.ColumnWarnings): which table ('tti' or 'tto'), the column, its type
-- as PostgreSQL prints it, the most characters it holds (0: no bound) and
-- the database's encoding. A table that is missing has no rows.
SELECT t.which, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod),
       CASE WHEN a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype) AND a.atttypmod > 4
            THEN a.atttypmod - 4 ELSE 0 END,
       pg_encoding_to_char(d.encoding)::text
  FROM (VALUES ('tti', to_regclass('{{tti}}')), ('tto', to_regclass('{{tto}}'))) AS t(which, rel)
  JOIN pg_attribute a ON a.attrelid = t.rel
  JOIN pg_database d ON d.datname = current_database()
 WHERE a.attnum > 0 AND NOT a.attisdropped
   AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
 ORDER BY 1, 2
