package postgres

import (
	"context"

	"github.com/ctirelay/ctirelay/relay"
)

// ERPColumns implements relay.Operators (sql/erp_columns.sql).
func (s *Store) ERPColumns(ctx context.Context) ([]relay.Column, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	// Not prepared: run rarely, and its plan must see the tables as they are.
	rs, err := s.db.QueryContext(ctx, s.q.text[qERPColumns])
	if err != nil {
		return nil, fail("read column types", err)
	}
	defer rs.Close()
	var out []relay.Column
	for rs.Next() {
		var which string
		var attnum int
		var c relay.Column
		if err := rs.Scan(&which, &attnum, &c.Name, &c.Type, &c.MaxChars, &c.Encoding); err != nil {
			return nil, fail("read column types", err)
		}
		c.Table = s.names[which+"_name"]
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, fail("read column types", err)
	}
	return out, nil
}
