-- The text columns of the ERP's tables, for the start-up check
-- (relay.ColumnWarnings): which table ('tti' or 'tto'), the column, its type
-- as a DBA writes it, the most characters it holds (0: no bound; a varchar's
-- bound is in bytes, characters for a single-byte code page) and how it
-- stores text: UTF-16 for the n types, else its collation's code page
-- (UTF-8 for a _UTF8 collation). A table that is missing has no rows.
SELECT t.which, c.column_id, c.name,
       TYPE_NAME(c.system_type_id)
         + CASE WHEN TYPE_NAME(c.system_type_id) IN ('varchar', 'nvarchar', 'char', 'nchar')
                THEN '(' + CASE WHEN c.max_length = -1 THEN 'max'
                                WHEN TYPE_NAME(c.system_type_id) IN ('nvarchar', 'nchar') THEN CAST(c.max_length / 2 AS varchar(10))
                                ELSE CAST(c.max_length AS varchar(10)) END + ')'
                ELSE '' END AS type,
       CASE WHEN c.max_length = -1 OR TYPE_NAME(c.system_type_id) IN ('text', 'ntext') THEN 0
            WHEN TYPE_NAME(c.system_type_id) IN ('nvarchar', 'nchar') THEN c.max_length / 2
            ELSE c.max_length END AS max_chars,
       CASE WHEN TYPE_NAME(c.system_type_id) IN ('nvarchar', 'nchar', 'ntext') THEN 'UTF-16'
            WHEN CAST(COLLATIONPROPERTY(c.collation_name, 'CodePage') AS int) = 65001 THEN 'UTF-8'
            ELSE 'CP' + CAST(CAST(COLLATIONPROPERTY(c.collation_name, 'CodePage') AS int) AS varchar(10)) END AS encoding
  FROM (VALUES ('tti', OBJECT_ID(N'{{tti}}', N'U')), ('tto', OBJECT_ID(N'{{tto}}', N'U'))) AS t(which, id)
  JOIN sys.columns AS c ON c.object_id = t.id
 WHERE TYPE_NAME(c.system_type_id) IN ('varchar', 'nvarchar', 'char', 'nchar', 'text', 'ntext')
 ORDER BY t.which, c.column_id
