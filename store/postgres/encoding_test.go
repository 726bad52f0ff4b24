package postgres_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// A LATIN1 database (an ERP's, older than UTF-8 everywhere) cannot hold a
// "€": not in T_TTO, not in the relay's own tables either. The start-up
// check says so; an event carrying one is recorded in relay_dead with the
// character escaped, and the events around it are written.
func TestLatin1DatabaseRecordsWhatItCannotHoldEscaped(t *testing.T) {
	t.Parallel()
	admin := rawDB(t, pgtest.DSN(t))
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/") + "_latin1"
	if _, err := admin.Exec("CREATE DATABASE " + name + " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u.Path = "/" + name
	s := open(t, u.String(), store.Options{})
	ctx := context.Background()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	cols, err := s.ERPColumns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := relay.ColumnWarnings(cols, relay.DefaultMaxFrame, "T_TTI", "T_TTO")
	if len(w) != 2 || !strings.Contains(w[0], "T_TTI.ds_tti is stored as LATIN1") || !strings.Contains(w[1], "T_TTO.ds_tto is stored as LATIN1") {
		t.Fatalf("warnings: %q", w)
	}

	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	euro := relay.Frame{"jose", "R", "", "85", "32345678", "", "7001", "promoção 5€", ""}
	if err := s.Publish(ctx, []relay.Frame{relay.EndCall("ana"), euro, relay.EndCall("bob")}, now); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	db := rawDB(t, u.String())
	var tto []string
	rs, err := db.Query("SELECT DS_TTO FROM T_TTO ORDER BY IS_TTO")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var f string
		if err := rs.Scan(&f); err != nil {
			t.Fatal(err)
		}
		tto = append(tto, f)
	}
	rs.Close()
	if want := []string{"<ana><EndCall>$", "<bob><EndCall>$"}; !slices.Equal(tto, want) {
		t.Fatalf("T_TTO = %q, want %q", tto, want)
	}
	letters, err := s.DeadLetters(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	escaped := `<jose><R><><85><32345678><><7001><promo\u{00E7}\u{00E3}o 5\u{20AC}><>$`
	if len(letters) != 1 || letters[0].Source != relay.SourceOutput || letters[0].Frame != escaped ||
		!strings.HasPrefix(letters[0].Reason, "T_TTO refused the event: pq: character with byte sequence") ||
		!strings.Contains(letters[0].Reason, "has no equivalent in encoding") {
		t.Fatalf("dead letters: %+v", letters)
	}
	j, err := s.Journal(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 3 || j[1].Frame != escaped || j[1].Kind != relay.KindEvent || j[1].Error != letters[0].Reason || j[0].Error != "" {
		t.Fatalf("journal: %+v", j)
	}
}
