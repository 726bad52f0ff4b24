package storetest

import (
	"testing"
	"time"
)

func init() {
	register("ExpireOutboxNeverAgesARenumberedTTO", expireOutboxRenumbered)
}

// renumberTTO empties T_TTO and resets its numbering the way a DBA does,
// per dialect; "" where the suite knows no way.
var renumberTTO = map[string]string{
	"sqlite":    "DELETE FROM {{tto}}; DELETE FROM sqlite_sequence WHERE name = '{{tto_name}}'",
	"postgres":  "TRUNCATE {{tto}} RESTART IDENTITY",
	"sqlserver": "DELETE FROM {{tto}}; DBCC CHECKIDENT ('{{tto}}', RESEED, 0)",
}

// A mark dates T_TTO ids. Once T_TTO is renumbered, new rows get ids an
// old mark covers: they must not be expired as old (it would delete what
// the ERP has not read yet). The marks go, and expiry starts again from
// marks of the new ids.
func expireOutboxRenumbered(t *testing.T, e *env) {
	e.needSQL(t, "renumbering T_TTO")
	reset, ok := renumberTTO[e.Dialect]
	if !ok {
		t.Skip("no renumbering statement for " + e.Dialect)
	}
	e.publish(t, t0, "<ana><R><1>$", "<ana><R><2>$", "<ana><R><3>$")
	e.mark(t, t0)
	e.exec(t, reset)
	e.publish(t, at(time.Hour), "<ana><R><fresh>$")
	if gone := e.expire(t, at(2*time.Hour), 100); len(gone) != 0 {
		t.Fatalf("expired %+v after T_TTO was renumbered: the old mark aged a fresh row", gone)
	}
	e.mark(t, at(2*time.Hour))
	if gone := e.expire(t, at(time.Hour), 100); len(gone) != 0 {
		t.Fatalf("expired %+v by a cut older than the new mark", gone)
	}
	if got := e.tto(t); len(got) != 1 {
		t.Fatalf("T_TTO = %v, want the fresh row", got)
	}
	if gone := e.expire(t, at(3*time.Hour), 100); len(gone) != 1 {
		t.Fatalf("expired %+v by the new mark, want the fresh row", gone)
	}
}
