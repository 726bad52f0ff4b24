package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

func init() {
	register("ERPColumnsWarnOfANarrowOutbound", erpColumns)
}

// The start-up check reads the ERP's tables as the database has them: the
// relay's own are wide enough; a DS_TTO narrower than a frame is named.
func erpColumns(t *testing.T, e *env) {
	tti, tto := e.Names["tti_name"], e.Names["tto_name"]
	if e.Names == nil { // a store without SQL keeps the default names
		tti, tto = "T_TTI", "T_TTO"
	}
	read := func() []relay.Column {
		t.Helper()
		cols, err := e.Store.ERPColumns(context.Background())
		if err != nil {
			t.Fatalf("ERPColumns: %v", err)
		}
		return cols
	}
	cols := read()
	if len(cols) != 2 || cols[0].Table != tti || !strings.EqualFold(cols[0].Name, "DS_TTI") ||
		cols[1].Table != tto || !strings.EqualFold(cols[1].Name, "DS_TTO") {
		t.Fatalf("ERPColumns of the relay's own tables: %s", show(cols))
	}
	if w := relay.ColumnWarnings(cols, relay.DefaultMaxFrame, tti, tto); len(w) != 0 {
		t.Fatalf("warnings for the relay's own tables: %q (columns %s)", w, show(cols))
	}

	e.narrowOutbound(t)
	cols = read()
	w := relay.ColumnWarnings(cols, relay.DefaultMaxFrame, tti, tto)
	switch e.Dialect {
	case "sqlite":
		// Declared lengths are not enforced, and a trigger is not a type.
		if len(w) != 0 {
			t.Fatalf("warnings: %q", w)
		}
	default:
		if len(cols) != 2 || cols[1].MaxChars != 60 {
			t.Fatalf("ERPColumns of a varchar(60) DS_TTO: %s", show(cols))
		}
		if len(w) != 1 || !strings.HasPrefix(w[0], tto+"."+cols[1].Name+" is ") || !strings.Contains(w[0], "60") {
			t.Fatalf("warnings: %q", w)
		}
	}
}
