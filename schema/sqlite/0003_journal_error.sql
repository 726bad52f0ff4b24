-- ctirelay schema, step 3 (SQLite): why an output did not reach T_TTO.
-- A reply or event the database refused to write to the ERP's outbound table
-- (a CHECK or trigger of the ERP's) is journaled all the same, with the
-- database's error here, and dead-lettered in {{dead}} with source 'output'.
-- NULL for every other row.
ALTER TABLE {{journal}} ADD COLUMN error TEXT;
