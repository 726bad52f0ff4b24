package sqlite

import (
	"context"
	_ "embed"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
)

//go:embed sql/erp_columns.sql
var sqlERPColumns string

// ERPColumns implements relay.Operators (sql/erp_columns.sql).
func (s *Store) ERPColumns(ctx context.Context) ([]relay.Column, error) {
	rs, err := s.db.QueryContext(ctx, schema.Render(sqlERPColumns, s.names))
	if err != nil {
		return nil, fail(ctx, "read column types", err)
	}
	defer rs.Close()
	var out []relay.Column
	for rs.Next() {
		var which string
		var cid int
		var c relay.Column
		if err := rs.Scan(&which, &cid, &c.Name, &c.Type, &c.Encoding); err != nil {
			return nil, fail(ctx, "read column types", err)
		}
		c.Table = s.names[which+"_name"]
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, fail(ctx, "read column types", err)
	}
	return out, nil
}
