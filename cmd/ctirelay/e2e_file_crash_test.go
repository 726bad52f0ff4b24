package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// TestE2EFileBridgeKill9: the relay is killed (-9) and started again.
// What it had committed is neither lost nor repeated: a request recorded
// as taken is not enqueued again, an answer whose position was saved is not
// written again; requests written while it was down are answered; and
// under a stream of requests from 100 users, killed mid-stream, every user
// gets its answer.
func TestE2EFileBridgeKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tx, rx := spoolDirs(t)
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fileBridgeConfig(tx, rx, "ingest"))
	p := startRelay(t, dir, "--config", cfg)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctirelay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cursor := func(name string) int {
		return count(t, db, fmt.Sprintf("SELECT count(*) FROM relay_cursor WHERE name = '%s'", name))
	}

	// Committed: the request recorded as taken, the answer renamed and its
	// position saved; SIGACTI has not read it yet.
	protheusDrop(t, tx, "000001", "<jose><L><ON>$")
	wait.Within(t, 20*time.Second, "the answer written and recorded", func() bool {
		_, err := os.Stat(filepath.Join(rx, "000001.CTI"))
		return err == nil && cursor("file:tx:000001") == 1 && cursor("file:rx:000001") == 1
	})
	p.kill()
	protheusDrop(t, tx, "000002", "<ana><L><ON>$") // while the relay is down
	p = startRelay(t, dir, "--config", cfg)
	expectAnswer(t, rx, "000002", "<ana><OK>$")
	expectAnswer(t, rx, "000001", "<jose><OK>$")
	protheusDrop(t, tx, "000001", "<jose><S>$")
	if got := protheusRead(t, rx, "000001"); len(got) != 1 || !strings.HasPrefix(got[0], "<jose><S><") {
		t.Fatalf("after the restart 000001.CTI = %q (a repeat would come first)", got)
	}
	if n := count(t, db, "SELECT count(*) FROM relay_journal WHERE kind = 'command' AND source_ref LIKE '000001/%'"); n != 2 {
		t.Fatalf("000001's commands journaled %d times, want 2 (none enqueued again)", n)
	}

	// A stream, killed in the middle.
	const users = 100
	var mu sync.Mutex
	answers := map[string][]string{}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir(rx)
			for _, e := range ents {
				n := e.Name()
				if !strings.HasSuffix(n, ".CTI") {
					continue
				}
				text, err := os.ReadFile(filepath.Join(rx, n))
				if err != nil {
					continue
				}
				os.Remove(filepath.Join(rx, n))
				mu.Lock()
				for _, l := range strings.Split(string(text), "\r\n") {
					if l != "" {
						answers[strings.TrimSuffix(n, ".CTI")] = append(answers[strings.TrimSuffix(n, ".CTI")], l)
					}
				}
				mu.Unlock()
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	defer func() { close(stop); readers.Wait() }()
	answered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(answers)
	}
	var writers sync.WaitGroup
	writers.Go(func() {
		for i := range users {
			protheusDrop(t, tx, fmt.Sprintf("%06d", 100+i), fmt.Sprintf("<u%d><S>$", 100+i))
			time.Sleep(3 * time.Millisecond)
		}
	})
	wait.Within(t, 20*time.Second, "some answers", func() bool { return answered() >= users/4 })
	p.kill()
	writers.Wait()
	startRelay(t, dir, "--config", cfg)
	wait.Within(t, 30*time.Second, "every user answered", func() bool { return answered() == users })
	time.Sleep(300 * time.Millisecond) // repeats, if any, would come now
	mu.Lock()
	defer mu.Unlock()
	repeated := 0
	for u, got := range answers {
		want := "<u" + strings.TrimLeft(u, "0") + "><S><"
		if !strings.HasPrefix(got[0], want) || slices.ContainsFunc(got, func(s string) bool { return !strings.HasPrefix(s, want) }) {
			t.Fatalf("%s.CTI = %q, want only %s…", u, got, want)
		}
		repeated += len(got) - 1
	}
	// A kill between a commit and the next step (enqueue → file recorded,
	// rename → position saved) repeats at most what was in that step.
	t.Logf("%d users answered, %d answers repeated", len(answers), repeated)
}

// TestE2EFileBridgeCompetingReader: another process keeps creating and
// holding <user>.CTI in Rx while the relay answers: its file is never
// replaced and no answer is lost.
func TestE2EFileBridgeCompetingReader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tx, rx := spoolDirs(t)
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), fileBridgeConfig(tx, rx, "purge"))
	startRelay(t, dir, "--config", cfg)
	path := filepath.Join(rx, "000003.CTI")
	var got []string
	for i := range 20 {
		protheusDrop(t, tx, "000003", "<rui><S>$")
		deadline := time.Now().Add(20 * time.Second)
		for len(got) <= i {
			if time.Now().After(deadline) {
				t.Fatalf("answer %d missing; got %q", i+1, got)
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				f.WriteString("mine")
				f.Close()
				time.Sleep(2 * time.Millisecond)
				if text, _ := os.ReadFile(path); string(text) != "mine" {
					t.Fatalf("the competing file was replaced by %q", text)
				}
				os.Remove(path)
				time.Sleep(3 * time.Millisecond) // a window for the relay
				continue
			}
			text, err := os.ReadFile(path)
			if err != nil || string(text) == "mine" {
				continue
			}
			os.Remove(path)
			for _, l := range strings.Split(string(text), "\r\n") {
				if l != "" {
					got = append(got, l)
				}
			}
		}
	}
	if len(got) != 20 || slices.ContainsFunc(got, func(s string) bool { return !strings.HasPrefix(s, "<rui><S><") }) {
		t.Fatalf("answers = %q", got)
	}
}
