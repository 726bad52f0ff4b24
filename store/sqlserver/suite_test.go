package sqlserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/storetest"
)

// DSNEnv names the SQL Server the live tests run against, e.g.
// sqlserver://sa:Secret-123@localhost:1433?database=ctirelay_test (see
// docs/operations.md, SQL Server). Unset, they are skipped, saying so.
const DSNEnv = "CTIRELAY_TEST_MSSQL_DSN"

func liveDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		t.Skip(DSNEnv + " is not set: no SQL Server to run against (docs/operations.md, SQL Server, says how to start one)")
	}
	return dsn
}

// liveHarness opens a store on a schema of its own in the live database,
// migrated, and drops the schema when the test ends.
func liveHarness(t *testing.T, base store.Options) storetest.Harness {
	dsn := liveDSN(t)
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	opts := base
	opts.Schema = "st_" + hex.EncodeToString(suffix[:])
	if base.Schema != "" {
		opts.Schema = base.Schema + "_" + hex.EncodeToString(suffix[:])
	}
	opts, err := opts.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlserver", dsn)
	if err != nil {
		t.Fatal(err)
	}
	names := opts.Names()
	t.Cleanup(func() {
		if err := dropAll(context.Background(), raw, names); err != nil {
			t.Errorf("drop schema %s: %v", opts.Schema, err)
		}
		_ = raw.Close()
	})
	open := func(t *testing.T) relay.Store {
		s, err := Open(context.Background(), dsn, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	s := open(t).(*Store)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	h := storetest.Harness{
		Dialect: "sqlserver",
		Store:   s,
		Open:    open,
		DB:      raw,
		Rebind:  rebindForSuite,
		Names:   names,
		Micros: func(col string) string {
			return "DATEDIFF_BIG(microsecond, CAST('1970-01-01' AS datetime2(6)), " + col + ")"
		},
	}
	if !base.ExplicitIDs {
		// T-SQL refuses an explicit value for an identity column otherwise
		h.InsertKeepingID = `SET IDENTITY_INSERT {{tti}} ON; INSERT INTO {{tti}} (IS_TTI, DS_TTI) VALUES (?, ?); SET IDENTITY_INSERT {{tti}} OFF;`
	}
	h.KillLocks = func(t *testing.T) { killLocks(t, raw, names) }
	h.Tables = storetest.SQLTables(h)
	return h
}

// killLocks ends the sessions holding this installation's named locks, as
// a relay killed or cut off would: sys.dm_tran_locks shows an applock's
// resource by its first 32 characters, which name the lock and the schema
// (one per test). Needs ALTER ANY CONNECTION (sa has it).
func killLocks(t *testing.T, db *sql.DB, names map[string]string) {
	t.Helper()
	s := &Store{names: names}
	prefix := s.lockResource(relay.LockMonitor)[:32]
	rs, err := db.Query(`SELECT DISTINCT request_session_id FROM sys.dm_tran_locks
		WHERE resource_type = 'APPLICATION' AND resource_database_id = DB_ID()
		  AND request_owner_type = 'SESSION' AND CHARINDEX(@p1, resource_description) > 0`, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var sessions []int64
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, id)
	}
	rs.Close()
	if len(sessions) == 0 {
		t.Fatalf("no session holds %s…", prefix)
	}
	for _, id := range sessions {
		if _, err := db.Exec(fmt.Sprintf("KILL %d", id)); err != nil {
			t.Fatal(err)
		}
	}
}

// explicitInsert is the suite's positional insert of an IS_TTI of its own,
// which T-SQL takes into an identity column only with a column list and
// IDENTITY_INSERT on (the session's, so other writers go on numbering).
var explicitInsert = regexp.MustCompile(`^INSERT INTO (\S+) VALUES \((\(SELECT .*\)), \?\)$`)

// renameTable is the suite's PostgreSQL/SQLite rename, which T-SQL spells
// as a procedure taking the new name unqualified.
var renameTable = regexp.MustCompile(`^ALTER TABLE (\S+) RENAME TO (\S+)$`)

// rebindForSuite turns the suite's raw SQL into T-SQL: '?' placeholders
// become @p1 …, and a table rename becomes sp_rename.
func rebindForSuite(q string) string {
	if m := renameTable.FindStringSubmatch(q); m != nil {
		to := m[2]
		if i := strings.LastIndexByte(to, '.'); i >= 0 {
			to = to[i+1:]
		}
		return "EXEC sp_rename N'" + m[1] + "', N'" + to + "'"
	}
	if m := explicitInsert.FindStringSubmatch(q); m != nil {
		return "SET IDENTITY_INSERT " + m[1] + " ON; INSERT INTO " + m[1] + " (IS_TTI, DS_TTI) VALUES (" + m[2] +
			", @p1); SET IDENTITY_INSERT " + m[1] + " OFF;"
	}
	return sqlx.Rebind(sqlx.AT, q)
}

func TestStoreSuite(t *testing.T) {
	liveDSN(t)
	storetest.Run(t, func(t *testing.T) storetest.Harness { return liveHarness(t, store.Options{}) })
}

// TestStoreSuiteCustomNames runs the suite with every name configured.
func TestStoreSuiteCustomNames(t *testing.T) {
	liveDSN(t)
	opts := store.Options{Schema: "cti", InboundTable: "ERP_IN", OutboundTable: "ERP_OUT", Prefix: "ctr_"}
	storetest.Run(t, func(t *testing.T) storetest.Harness { return liveHarness(t, opts) })
}

// TestLiveExplicitIDs: with database.explicit_ids, T_TTI takes the ERP's
// own numbers positionally and refuses a row without one, and the relay
// numbers its T_TTO rows after the largest present.
func TestLiveExplicitIDs(t *testing.T) {
	h := liveHarness(t, store.Options{ExplicitIDs: true})
	ctx := context.Background()
	if _, err := h.DB.Exec(schema.Render(`INSERT INTO {{tti}} VALUES (@p1, @p2)`, h.Names), int64(7), "<jose><ZZ>$"); err != nil {
		t.Fatalf("positional insert with a number: %v", err)
	}
	if _, err := h.DB.Exec(schema.Render(`INSERT INTO {{tti}} VALUES (@p1)`, h.Names), "<jose><S>$"); err == nil {
		t.Fatal("a positional insert without IS_TTI was accepted by a T_TTI without identity")
	}
	if _, err := h.DB.Exec(schema.Render(`INSERT INTO {{tto}} VALUES (@p1, @p2)`, h.Names), int64(40), "earlier"); err != nil {
		t.Fatal(err)
	}
	if n, _, err := h.Store.Intake(ctx, relay.IntakeRequest{Limit: 10, Now: time.Now()}, relay.ClaimRequest{}); err != nil || n != 1 {
		t.Fatalf("Intake = %d, %v", n, err)
	}
	rows := h.Tables.TTO(t)
	if len(rows) != 2 || rows[1].ID != 41 {
		t.Fatalf("T_TTO = %+v, want the ERR reply numbered 41", rows)
	}
}

// TestLiveIdentityRefusesPositionalNumbers: a relay-created T_TTI with
// IDENTITY takes VALUES (text) and refuses VALUES (n, text) (error 8101).
func TestLiveIdentityRefusesPositionalNumbers(t *testing.T) {
	h := liveHarness(t, store.Options{})
	if _, err := h.DB.Exec(schema.Render(`INSERT INTO {{tti}} VALUES (@p1)`, h.Names), "<jose><S>$"); err != nil {
		t.Fatalf("positional insert of the text alone: %v", err)
	}
	_, err := h.DB.Exec(schema.Render(`INSERT INTO {{tti}} VALUES (@p1, @p2)`, h.Names), int64(7), "<jose><S>$")
	if err == nil || !strings.Contains(err.Error(), "8101") {
		t.Fatalf("positional insert with a number: %v, want error 8101", err)
	}
}

// TestSuiteRebind pins the suite's raw SQL as it reaches SQL Server.
func TestSuiteRebind(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ALTER TABLE relay_dead RENAME TO relay_dead_away": "EXEC sp_rename N'relay_dead', N'relay_dead_away'",
		"ALTER TABLE cti.ctr_dead_away RENAME TO ctr_dead": "EXEC sp_rename N'cti.ctr_dead_away', N'ctr_dead'",
		"DELETE FROM T_TTO WHERE IS_TTO = ?":               "DELETE FROM T_TTO WHERE IS_TTO = @p1",
		"INSERT INTO T_TTI (IS_TTI, DS_TTI) VALUES (?, ?)": "INSERT INTO T_TTI (IS_TTI, DS_TTI) VALUES (@p1, @p2)",
	} {
		if got := rebindForSuite(in); got != want {
			t.Errorf("rebindForSuite(%q) = %q, want %q", in, got, want)
		}
	}
}
