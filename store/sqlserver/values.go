package sqlserver

import (
	"database/sql"
	"time"

	"github.com/golang-sql/civil"
	mssql "github.com/microsoft/go-mssqldb"
)

// Parameters are typed to their columns. The driver sends a Go string as
// nvarchar, an int as bigint and a time.Time as datetimeoffset; a parameter
// of a type above its column's forces SQL Server to convert the column, row
// by row, and an index seek becomes a scan. So:
//   - varchar columns (the relay's own ASCII words: source, state, kind,
//     direction, origin, outcome) take vc, an mssql.VarChar;
//   - nvarchar columns take a plain string;
//   - int columns (attempts, pid, a batch's row number) take i32;
//   - bigint columns (ids, positions, microseconds) take int64;
//   - datetime2(6) columns take ts or nullTS, a datetime2 parameter.

// vc is a parameter for a varchar column.
func vc(s string) mssql.VarChar { return mssql.VarChar(s) }

// i32 is a parameter for an int column.
func i32(n int) int32 { return int32(n) }

// micro rounds a time down to datetime2(6), in UTC, so a value written and
// read back compares equal (the server would round to nearest).
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ts is a parameter for a datetime2(6) column: civil.DateTime goes as
// datetime2 (a time.Time would go as datetimeoffset, above datetime2, and
// convert the column), the UTC wall clock, as every time column holds.
func ts(t time.Time) civil.DateTime { return civil.DateTimeOf(micro(t)) }

// nullTS is ts, or a NULL datetime2 for the zero time.
func nullTS(t time.Time) mssql.NullDateTime {
	if t.IsZero() {
		return mssql.NullDateTime{}
	}
	return mssql.NullDateTime{DateTime: ts(t), Valid: true}
}

// nullNV is an nvarchar parameter, a typed NULL for "".
func nullNV(s string) any {
	if s == "" {
		return sql.NullString{}
	}
	return s
}

// nullVC is a varchar parameter, NULL for "" (the driver has no typed
// varchar NULL; a NULL takes its column's type where it lands).
func nullVC(s string) any {
	if s == "" {
		return nil
	}
	return vc(s)
}

// nullID is a bigint parameter, a typed NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return sql.NullInt64{}
	}
	return id
}
