-- The columns of the ERP's tables but their integer keys, for the start-up
-- check (relay.ColumnWarnings): which table ('tti' or 'tto'), the column, its
-- declared type and the database's text encoding. SQLite enforces no declared
-- length (a varchar(60) holds anything), so only a CHECK or a trigger of the
-- ERP's can refuse a frame, and those are not read here.
SELECT 'tti' AS which, c.cid, c.name, c.type, e.encoding
  FROM pragma_table_info('{{tti}}') AS c, pragma_encoding AS e
 WHERE c.pk = 0
UNION ALL
SELECT 'tto', c.cid, c.name, c.type, e.encoding
  FROM pragma_table_info('{{tto}}') AS c, pragma_encoding AS e
 WHERE c.pk = 0
 ORDER BY 1, 2
