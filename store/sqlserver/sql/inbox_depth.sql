-- The inbox's depth, counted no further than the bound @p1 asked about.
SELECT COUNT_BIG(*) FROM (SELECT TOP (@p1) 1 AS one FROM {{inbox}}) AS d
