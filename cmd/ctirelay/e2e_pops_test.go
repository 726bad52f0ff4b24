package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// TestE2EScreenPopsForSubscribers: with only bridges.crm.screen_pop (no
// Divalto, no Senior), the sim's inbound calls to a mapped agent are
// decided and journaled as pop notes, which an SSE client asking for
// kind=pop receives, the R events staying out of its stream.
func TestE2EScreenPopsForSubscribers(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), `
switch:
  driver: sim
  sim: {seed: 3, inbound_per_minute: 120, ring_time: 0s, talk_time: 300ms}
bridges:
  socket: {listen: ""}
  http:
    tokens:
      - {name: erp, secret: erp-secret-0123456789, groups: [commands, events, admin]}
  crm:
    screen_pop:
      agents: {jose: "7001"}
      min_length: 6
`)
	relay := startRelay(t, dir, "--config", cfg, "--http-listen", addr)
	defer relay.stop()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctirelay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/events/stream?kind=pop", nil)
	req.Header.Set("Authorization", "Bearer erp-secret-0123456789")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><L><ON>$')`); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		defer close(got)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				got <- d
				return
			}
		}
	}()
	var data string
	select {
	case data = <-got:
	case <-time.After(30 * time.Second): // only ends a hung test
		t.Fatal("no pop on the kind=pop stream")
	}
	var e struct {
		Kind, Agent, Origin, What, Frame string
	}
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatalf("data %q: %v", data, err)
	}
	var pop struct {
		EventID   int64 `json:"event_id"`
		Caller    string
		Extension string
	}
	if err := json.Unmarshal([]byte(e.Frame), &pop); err != nil || e.Kind != "note" || e.What != "pop" || e.Agent != "jose" || e.Origin != "crm:screen-pop" || pop.Extension != "7001" || pop.Caller == "" {
		t.Fatalf("stream gave %s (%v)", data, err)
	}
	// The R it pops is in the journal and in T_TTO.
	var frame string
	if err := db.QueryRow(`SELECT frame FROM relay_journal WHERE id = ? AND kind = 'event'`, pop.EventID).Scan(&frame); err != nil || !strings.HasPrefix(frame, "<jose><R>") {
		t.Fatalf("event %d: %q %v", pop.EventID, frame, err)
	}
	wait.Within(t, 20*time.Second, "the R in T_TTO", func() bool {
		return count(t, db, fmt.Sprintf("SELECT count(*) FROM T_TTO WHERE DS_TTO = '%s'", strings.ReplaceAll(frame, "'", "''"))) >= 1
	})
}

// TestE2EScreenPopsWithoutHTTP: screen_pop.agents alone needs no HTTP
// listener; the pop notes are in the journal.
func TestE2EScreenPopsWithoutHTTP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "ctirelay.yaml"), `
switch:
  driver: sim
  sim: {seed: 3, inbound_per_minute: 120, ring_time: 0s, talk_time: 300ms}
bridges:
  socket: {listen: ""}
  crm:
    screen_pop:
      agents: {jose: "7001"}
`)
	relay := startRelay(t, dir, "--config", cfg, "--http-listen", "")
	defer relay.stop()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctirelay.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO T_TTI (DS_TTI) VALUES ('<jose><L><ON>$')`); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 30*time.Second, "a pop note", func() bool {
		return count(t, db, `SELECT count(*) FROM relay_journal WHERE kind = 'note' AND source_ref = 'pop' AND agent = 'jose' AND origin = 'crm:screen-pop' AND frame LIKE '{"event_id":%"extension":"7001"}'`) >= 1
	})
}
