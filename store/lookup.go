package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// SQLDB is the connection pool under a dialect's store, for a query on the
// ERP's own tables (NewCustomerQuery); false for a store with none
// (memstore).
func SQLDB(db any) (*sql.DB, bool) {
	switch d := db.(type) {
	case interface{ DB() *sql.DB }:
		return d.DB(), true
	case interface{ DB() *sqlx.DB }:
		return d.DB().DB, true
	}
	return nil, false
}

// CustomerQuery is a configured, parameterised query on the ERP's database
// that finds the customer a phone number belongs to (screen-pop
// enrichment): its one parameter is the number, in the dialect's
// placeholder ($1, ?), and its first row's first two columns are the
// customer's code and name. Bridges use it through an interface, so they
// do not import database/sql.
type CustomerQuery struct {
	db    *sql.DB
	query string
}

// NewCustomerQuery checks query (a SELECT or WITH statement) and binds it to db.
func NewCustomerQuery(db *sql.DB, query string) (*CustomerQuery, error) {
	q := strings.TrimSpace(query)
	head := strings.ToUpper(strings.SplitN(q, " ", 2)[0])
	switch {
	case db == nil:
		return nil, errors.New("customer query needs a database")
	case q == "":
		return nil, errors.New("empty query")
	case head != "SELECT" && head != "WITH":
		return nil, fmt.Errorf("must be a SELECT (or WITH) statement, not %s", head)
	case strings.Contains(strings.TrimSuffix(q, ";"), ";"):
		return nil, errors.New("must be one statement")
	}
	return &CustomerQuery{db: db, query: q}, nil
}

// Lookup runs the query for number within ctx (the caller bounds it):
// found is false when no row matches. NULL columns read as empty.
func (c *CustomerQuery) Lookup(ctx context.Context, number string) (code, name string, found bool, err error) {
	var cc, nn sql.NullString
	err = c.db.QueryRowContext(ctx, c.query, number).Scan(&cc, &nn)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", false, nil
	case err != nil:
		return "", "", false, fmt.Errorf("customer lookup: %w", err)
	}
	return cc.String, nn.String, true, nil
}
