package sqlserver

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
)

// ERPColumns implements relay.Operators (sql/erp_columns.sql).
func (s *Store) ERPColumns(ctx context.Context) ([]relay.Column, error) {
	rs, err := s.query(ctx, qERPColumns)
	if err != nil {
		return nil, fail("read column types", err)
	}
	defer rs.Close()
	var out []relay.Column
	for rs.Next() {
		var which string
		var columnID, maxChars int32
		var c relay.Column
		if err := rs.Scan(&which, &columnID, &c.Name, &c.Type, &maxChars, &c.Encoding); err != nil {
			return nil, fail("read column types", err)
		}
		c.Table = s.names[which+"_name"]
		c.MaxChars = int(maxChars)
		out = append(out, c)
	}
	return out, fail("read column types", rs.Err())
}
