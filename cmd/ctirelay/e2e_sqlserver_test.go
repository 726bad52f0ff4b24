package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mssqlDSNEnv names a SQL Server whose login may create databases; the SQL
// Server end-to-end tests run only when it is set (docs/operations.md, SQL
// Server, says how to start one in a container).
const mssqlDSNEnv = "CTIRELAY_TEST_MSSQL_DSN"

// newMSSQLRig creates a database of its own on the server, migrated by the
// real binary, dropped when the test ends. Its checks are the PostgreSQL
// rig's, whose SQL both dialects take.
func newMSSQLRig(t *testing.T, config string) *pgRig {
	t.Helper()
	r := &pgRig{t: t, dsn: newMSSQLDatabase(t), dir: t.TempDir(), param: func(i int) string { return fmt.Sprintf("@p%d", i) }, patience: 2}
	r.cfg = writeFile(t, filepath.Join(r.dir, "ctirelay.yaml"), config)
	if out, errOut, code := ctl(t, r.dir, "migrate", "--db", r.dsn, "--config", r.cfg); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	db, err := sql.Open("sqlserver", r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r.db = db
	return r
}

// newMSSQLDatabase creates an empty database of the test's own on the
// server and returns its DSN; it is dropped when the test ends.
func newMSSQLDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(mssqlDSNEnv)
	if base == "" {
		t.Skip(mssqlDSNEnv + " is not set: no SQL Server to run against (docs/operations.md, SQL Server)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", mssqlDSNEnv, err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "ctirelay_e2e_" + hex.EncodeToString(suffix[:])
	admin, err := sql.Open("sqlserver", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("ALTER DATABASE " + name + " SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	q := u.Query()
	q.Set("database", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestE2ESQLServerThreeRelaysTenThousandCommands: 3 relay processes, 4
// concurrent writers, 10,000 commands for 100 agents, on SQL Server.
func TestE2ESQLServerThreeRelaysTenThousandCommands(t *testing.T) {
	threeRelaysTenThousandCommands(t, newMSSQLRig(t, fmt.Sprintf(pgRelayConfig, "0s")))
}

// TestE2ESQLServerKillNineLosesNothing kills one of three relays mid-run:
// every command is still answered exactly once, in order, and no
// non-idempotent command reaches the switch twice.
func TestE2ESQLServerKillNineLosesNothing(t *testing.T) {
	killNineLosesNothing(t, newMSSQLRig(t, fmt.Sprintf(pgRelayConfig, "20ms")))
}

// TestRunSQLServerReachesTheDriver: `ctirelay run --db sqlserver://…` is
// taken by the SQL Server dialect and fails to connect, naming the host and
// not the password, when no server listens (port 1 on the loopback).
func TestRunSQLServerReachesTheDriver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, errOut, code := ctl(t, dir, "run", "--db", "sqlserver://relay:s3cret@127.0.0.1:1?database=erp&dial+timeout=5")
	if code == 0 {
		t.Fatal("run succeeded without a server")
	}
	if !strings.Contains(errOut, "sqlserver store: connect") || !strings.Contains(errOut, "127.0.0.1") || !strings.Contains(errOut, "database unavailable") {
		t.Fatalf("stderr = %s", errOut)
	}
	if strings.Contains(errOut, "s3cret") || strings.Contains(errOut, "not supported by this build") {
		t.Fatalf("stderr = %s", errOut)
	}
}

// TestE2ESQLServerNarrowOutboundDeadLettersTheLongEvent is the PostgreSQL
// test of that name on SQL Server: an ERP's T_TTO with DS_TTO nvarchar(60)
// refuses the simulated switch's long G event (2628).
func TestE2ESQLServerNarrowOutboundDeadLettersTheLongEvent(t *testing.T) {
	narrowOutbound(t, narrowTTO{
		driver: "sqlserver",
		dsn:    newMSSQLDatabase(t),
		create: `CREATE TABLE T_TTO (IS_TTO bigint IDENTITY(1, 1) NOT NULL PRIMARY KEY, DS_TTO nvarchar(60) NOT NULL)`,
		param:  "@p1",
		reason: func(r string) bool {
			return strings.HasPrefix(r, "T_TTO refused the event: ") && strings.Contains(r, "would be truncated")
		},
		warning: "T_TTO.DS_TTO is nvarchar(60): frames up to max_frame_bytes (",
		deadTxt: "would be truncated",
	})
}
