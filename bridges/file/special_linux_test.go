//go:build linux

package spool

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// Request names that are not plain files are left alone and logged once:
// a FIFO (opening it would hang the scan), a link (its target, any file
// the relay can read, would end up in relay_dead), a directory. The spool
// goes on.
func TestRequestNamesThatAreNotPlainFiles(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{OnStart: OnStartPurge})
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("password <root><S>$"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(r.tx, "000010"+Ext), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(r.tx, "000011"+Ext)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(r.tx, "000012"+Ext), 0o755); err != nil {
		t.Fatal(err)
	}
	// Not r.drop: its temporary name would be ignored too.
	if err := os.WriteFile(filepath.Join(r.tx, "000013"+Ext), []byte("<ana><S>$"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := r.readUntil("000013", 1); !slices.Equal(got, []string{"<ana><S><1>$"}) {
		t.Fatalf("Rx = %q", got)
	}
	for _, d := range r.dead() {
		if strings.Contains(d.Frame, "password") {
			t.Fatalf("the link's target is in relay_dead: %+v", d)
		}
	}
	for _, n := range []string{"000010", "000011", "000012"} {
		if _, err := os.Lstat(filepath.Join(r.tx, n+Ext)); err != nil {
			t.Fatalf("%s was not left alone: %v", n, err)
		}
	}
	if s := r.b.Stats(); s.FilesIgnored != 3 {
		t.Fatalf("ignored %d, want 3 (each once)", s.FilesIgnored)
	}
}
