package spool

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// A frame or file the bridge refuses itself is answered in the user's Rx
// file after the replies to the user's earlier commands still at the
// switch and before those of later ones (issue 9 §2), and its ERR is in
// the journal like every other answer.
func TestRefusalsAnsweredInOrder(t *testing.T) {
	t.Parallel()
	const dial = "<ana><A><><40050500><>$"
	for _, tc := range []struct {
		name  string
		files []string // dropped one after the other, each taken before the next
		err   string
	}{
		{"a frame for another user's login, in the same file",
			[]string{dial + "\r\n<bob><S>$\r\n<ana><S>$"}, "<ana><ERR><REJECTED><login bob is bound to another user>$"},
		{"a file that is not frames, between two others",
			[]string{dial, "<ana>garbage>$", "<ana><S>$"}, "<ana><ERR><MALFORMED>"},
		{"invalid bytes, between two others",
			[]string{dial, "<ana><S><\xff>$", "<ana><S>$"}, "<ana><ERR><ENCODING><invalid utf-8 at byte 9 (the bridge's charset is utf-8)>$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			started := make(chan relay.Command, 16)
			d := &relaytest.Driver{Started: started, Handle: func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
				if cmd.Verb == relay.VerbDial {
					select { // the switch's think time
					case <-release:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
					return []relay.Frame{relay.OK(cmd.Login)}, nil
				}
				return []relay.Frame{relay.StatusReply(cmd.Login, relay.StateAvailable)}, nil
			}}
			r := newRigDriver(t, Config{Users: map[string]string{"000001": "ana", "000002": "bob"}}, d)
			var once sync.Once
			open := func() { once.Do(func() { close(release) }) }
			t.Cleanup(open) // before the rig stops, if the test fails early
			for i, text := range tc.files {
				r.drop("000001", text)
				r.txEmpty()
				if i == 0 {
					if c := <-started; c.Verb != relay.VerbDial {
						t.Fatalf("first at the switch: %+v", c)
					}
				}
			}
			open()
			got := r.readUntil("000001", 3)
			if len(got) != 3 || got[0] != "<ana><OK>$" || !strings.HasPrefix(got[1], tc.err) || got[2] != "<ana><S><1>$" {
				t.Fatalf("Rx = %q, want OK, %s…, S", got, tc.err)
			}
			var replies []string
			es, _ := r.store.Journal(context.Background(), 0, 1000)
			for _, e := range es {
				if e.Kind == relay.KindReply {
					if e.Origin != relay.SourceFile || !strings.HasPrefix(e.Ref, "000001/") {
						t.Fatalf("reply journaled as %+v", e)
					}
					replies = append(replies, e.Frame)
				}
			}
			if !slices.Equal(replies, got) {
				t.Fatalf("journaled replies %q, written %q", replies, got)
			}
			if dead := r.dead(); len(dead) != 1 || dead[0].Source != relay.SourceFile || !strings.HasPrefix(dead[0].Ref, "000001/") {
				t.Fatalf("relay_dead = %+v", dead)
			}
		})
	}
}

// A refused file no login can be read for (the user bound to none) is
// dead-lettered and journaled as rejected input; nothing is written to Rx,
// and the spool goes on.
func TestRefusalWithoutALogin(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	r.drop("000007", "garbage>$")
	r.txEmpty()
	wait.For(t, "the dead letter", func() bool { return len(r.dead()) == 1 })
	if d := r.dead()[0]; d.Agent != "" || d.Frame != "garbage>$" || !strings.HasPrefix(d.Ref, "000007/") {
		t.Fatalf("relay_dead = %+v", d)
	}
	if k := r.journalKinds(); !slices.Equal(k, []string{"rejected:"}) {
		t.Fatalf("journal = %q", k)
	}
	r.drop("000007", "<ana><S>$")
	if got := r.readUntil("000007", 1); !slices.Equal(got, []string{"<ana><S><1>$"}) {
		t.Fatalf("Rx = %q", got)
	}
	if _, err := os.Stat(filepath.Join(r.rx, "000007"+Ext)); !os.IsNotExist(err) {
		t.Fatalf("an answer for the refused file: %v", err)
	}
}

// Two requests of a user in a row whose files have the same modification
// time (a coarse clock: FAT's 2 s, a kernel tick) are both taken: only a
// file that may have been left from before (a restart, a failed removal)
// is recognised by its time.
func TestSameModificationTimeTwice(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range 2 {
		tmp := filepath.Join(r.tx, "x.tmp")
		os.WriteFile(tmp, []byte("<ana><S>$"), 0o644)
		if err := os.Chtimes(tmp, at, at); err != nil {
			t.Fatal(err)
		}
		os.Rename(tmp, filepath.Join(r.tx, "000001"+Ext))
		if got := r.readUntil("000001", 1); !slices.Equal(got, []string{"<ana><S><1>$"}) {
			t.Fatalf("request %d: Rx = %q", i+1, got)
		}
	}
}
