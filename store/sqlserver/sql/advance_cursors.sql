-- Saves positions (name and position per row, names unique) at the time
-- given. A position only moves forward; an equal one refreshes updated_at.
-- HOLDLOCK makes the MERGE's look-up and insert one step, so two relays
-- saving a new name at once do not both insert it.
DECLARE @now datetime2(6) = ?;
MERGE {{cursor}} WITH (HOLDLOCK) AS c
USING (VALUES
--rows
(?, ?)
--end
) AS v(name, position)
   ON c.name = v.name
 WHEN MATCHED AND v.position >= c.position THEN
      UPDATE SET position = v.position, updated_at = @now
 WHEN NOT MATCHED THEN
      INSERT (name, position, updated_at) VALUES (v.name, v.position, @now);
