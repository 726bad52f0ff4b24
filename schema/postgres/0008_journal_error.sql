-- ctirelay schema, step 8 (PostgreSQL): why an output did not reach T_TTO.
-- A reply or event the database refused to write to the ERP's outbound table
-- for its data (a DS_TTO too narrow, an encoding, a constraint or trigger of
-- the ERP's) is journaled all the same, with the database's error here, and
-- dead-lettered in {{dead}} with source 'output'. NULL for every other row.
-- Adding a nullable column without a default rewrites nothing.
ALTER TABLE {{journal}} ADD COLUMN error text;
