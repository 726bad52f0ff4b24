package spool

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestRequestAnsweredInRx(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	r.drop("000001", "<jose><L><ON>$\r\n<jose><S>$")
	got := r.readUntil("000001", 2)
	want := []string{"<jose><OK>$", "<jose><S><1>$"}
	if !slices.Equal(got, want) {
		t.Fatalf("Rx = %q, want %q", got, want)
	}
	r.txEmpty()
	// Bound by L ON: the login's events go to the user's file.
	r.driver.Emit(context.Background(), relay.EndCall("jose"))
	if got := r.readUntil("000001", 1); !slices.Equal(got, []string{"<jose><EndCall>$"}) {
		t.Fatalf("event = %q", got)
	}
	if s := r.b.Stats(); s.FilesTaken != 1 || s.AnswersWritten < 2 || !s.Serving {
		t.Fatalf("stats = %+v", s)
	}
}

// SIGACTI has not read the last answer: nothing replaces it, what follows
// waits and is gathered into the next file, in order.
func TestNeverReplacesAnUnreadAnswer(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{Users: map[string]string{"000002": "ana"}})
	r.drop("000002", "<ana><S>$")
	path := filepath.Join(r.rx, "000002"+Ext)
	wait.For(t, "the first answer", func() bool { _, err := os.Stat(path); return err == nil })
	for range 3 {
		r.driver.Emit(context.Background(), relay.EndCall("ana"))
	}
	wait.For(t, "the events waiting", func() bool {
		s := r.b.Stats()
		return len(s.Users) == 1 && s.Users[0].Waiting == 3
	})
	first, _ := os.ReadFile(path)
	if string(first) != "<ana><S><1>$\r\n" {
		t.Fatalf("the unread answer was changed: %q", first)
	}
	os.Remove(path)
	if got := r.readUntil("000002", 3); !slices.Equal(got, []string{"<ana><EndCall>$", "<ana><EndCall>$", "<ana><EndCall>$"}) {
		t.Fatalf("next file = %q", got)
	}
}

// A competing reader keeps recreating <user>.CTI while answers flow:
// nothing it wrote is overwritten and no answer is lost.
func TestRenameContention(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{Users: map[string]string{"000003": "rui"}})
	path := filepath.Join(r.rx, "000003"+Ext)
	r.drop("000003", "<rui><S>$") // the switch is open once it answers
	if got := r.readUntil("000003", 1); !slices.Equal(got, []string{"<rui><S><1>$"}) {
		t.Fatalf("Rx = %q", got)
	}
	const events = 50
	for range events {
		r.driver.Emit(context.Background(), relay.EndCall("rui"))
	}
	var got []string
	deadline := time.Now().Add(wait.Safety)
	for len(got) < events {
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d events; stats %+v; journal %q", len(got), events, r.b.Stats(), r.journalKinds())
		}
		// Another process's file in the way, as if SIGACTI were opening
		// it at that moment: created only where no answer is, held a
		// little, removed. The bridge must neither replace it nor lose
		// what it could not write meanwhile.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.WriteString("mine")
			f.Close()
			time.Sleep(time.Millisecond)
			if text, _ := os.ReadFile(path); string(text) != "mine" {
				t.Fatalf("the competing file was replaced by %q", text)
			}
			os.Remove(path)
			time.Sleep(5 * time.Millisecond) // a window for the bridge
			continue
		}
		text, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		got = append(got, splitFrames(string(text))...)
		os.Remove(path)
	}
	if len(got) != events {
		t.Fatalf("got %d frames, want %d", len(got), events)
	}
}

func TestRenameNoReplace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("new"), 0o644)
	os.WriteFile(b, []byte("old"), 0o644)
	if err := renameNoReplace(a, b); err != errExists {
		t.Fatalf("rename over an existing file: %v, want errExists", err)
	}
	if text, _ := os.ReadFile(b); string(text) != "old" {
		t.Fatalf("replaced: %q", text)
	}
	os.Remove(b)
	if err := renameNoReplace(a, b); err != nil {
		t.Fatal(err)
	}
	if text, _ := os.ReadFile(b); string(text) != "new" {
		t.Fatalf("renamed: %q", text)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Fatalf("the temporary name is still there: %v", err)
	}
	// The portable fallback behaves the same.
	os.WriteFile(a, []byte("x"), 0o644)
	if err := linkThenUnlink(a, b); err != errExists {
		t.Fatalf("link over an existing file: %v", err)
	}
}

func TestValidUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"000001", true}, {"jose_2-b", true}, {"", false}, {"..", false}, {"a.b", false}, {"a/b", false}, {`a\b`, false},
		{"C:x", false}, {"CON", false}, {"nul", false}, {"COM1", false}, {"lpt9", false}, {"CONSOLE", true},
		{strings.Repeat("9", MaxUserCode), true}, {strings.Repeat("9", MaxUserCode+1), false}, {"josé", false},
	} {
		if got := ValidUser(tc.code); got != tc.ok {
			t.Errorf("ValidUser(%q) = %v, want %v", tc.code, got, tc.ok)
		}
	}
}

// A restart keeps the binding (an event of the login still goes to its
// user), does not write again an answer whose rename completed, and only
// removes a file enqueued before a crash stopped its removal.
func TestRestartKeepsBindingPositionAndTakenFiles(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	r.drop("000001", "<jose><L><ON>$")
	if got := r.readUntil("000001", 1); !slices.Equal(got, []string{"<jose><OK>$"}) {
		t.Fatalf("Rx = %q", got)
	}
	// A crash after the enqueue, before the removal: the same file is
	// back in Tx (same content, same modification time).
	r.drop("000001", "<jose><S>$")
	path := filepath.Join(r.tx, "000001"+Ext)
	st, _ := os.Stat(path)
	text, _ := os.ReadFile(path)
	if got := r.readUntil("000001", 1); !slices.Equal(got, []string{"<jose><S><1>$"}) {
		t.Fatalf("Rx = %q", got)
	}
	r.stop()
	os.WriteFile(path, text, 0o644)
	os.Chtimes(path, st.ModTime(), st.ModTime())

	r.start(Config{TxDir: r.tx, RxDir: r.rx, OnStart: OnStartIngest})
	r.txEmpty()
	r.driver.Emit(context.Background(), relay.EndCall("jose"))
	// The event is the only thing written: not the S again, not the
	// answers from before the restart.
	if got := r.readUntil("000001", 1); !slices.Equal(got, []string{"<jose><EndCall>$"}) {
		t.Fatalf("after the restart Rx = %q", got)
	}
	if calls := len(r.driver.Calls()); calls != 2 {
		t.Fatalf("the switch got %d commands, want 2 (the re-read file was not enqueued again)", calls)
	}
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	feed, err := relay.NewFeed(relay.FeedConfig{Store: s, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(feed.Stop)
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		b, err := New(Config{TxDir: t.TempDir(), RxDir: t.TempDir(), ScanInterval: time.Millisecond, Feed: feed, Store: s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// Two request files whose names differ only in case are one user (as on
// Windows): the second is refused, dead-lettered and answered.
func TestNamesDifferingOnlyInCase(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	os.WriteFile(filepath.Join(r.tx, "abc1.CTI"), []byte("<ana><S>$"), 0o644)
	os.WriteFile(filepath.Join(r.tx, "ABC1.cti"), []byte("<ana><S>$"), 0o644)
	got := r.readUntil("ABC1", 2) // the first name in order is ABC1.cti; abc1.CTI is refused
	want := []string{"<ana><ERR><REJECTED><file name differs only in case from ABC1.cti>$", "<ana><S><1>$"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Rx = %q, want %q", got, want)
	}
	d := r.dead()
	if len(d) != 1 || !strings.Contains(d[0].Reason, "differs only in case") || d[0].Frame != "<ana><S>$" {
		t.Fatalf("relay_dead = %+v", d)
	}
}
