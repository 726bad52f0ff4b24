package crm_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ctirelay/ctirelay/bridges/crm"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/store"
)

// divalto starts a Divalto service on the rig, tuned by tune, and returns
// its base URL (with the prefix).
func (r *rig) divalto(tune func(d *crm.Divalto)) (*crm.Divalto, string) {
	r.t.Helper()
	d := &crm.Divalto{Feed: r.feed, Publisher: r.store, Agents: map[string]string{"jose": "1024", "maria": "1025"}, Journal: r.notes}
	if tune != nil {
		tune(d)
	}
	if err := d.Check("bridges.crm.divalto."); err != nil {
		r.t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	r.t.Cleanup(func() { srv.Close(); d.Stop() })
	return d, srv.URL + crm.DefaultDivaltoPrefix
}

func ring(login, caller, ext string) relay.Frame {
	return relay.ReceptiveCall{Login: login, ID: "c-" + caller, Origin: caller, Dest: ext}.Frame()
}

// poll asks getevent until it answers something.
func poll(t *testing.T, base, ext string) string {
	t.Helper()
	var body string
	until(t, "a pop for "+ext, func() bool {
		status, b := get(t, base+"/api/cti/getevent?ident=&telorg="+ext)
		if status != http.StatusOK {
			t.Fatalf("getevent answered %d %s", status, b)
		}
		body = b
		return b != ""
	})
	return body
}

func empty(t *testing.T, base, ext string) {
	t.Helper()
	status, b := get(t, base+"/api/cti/getevent?ident=&telorg="+ext)
	if status != http.StatusOK || b != "" {
		t.Fatalf("getevent answered %d %q, want 200 and nothing", status, b)
	}
}

// The document's example, byte for byte: the line 0388202122 calls the
// extension 1024; the pop is served once.
func TestDivaltoGetEventDocumentExample(t *testing.T) {
	r := newRig(t, nil)
	_, base := r.divalto(nil)
	empty(t, base, "1024")
	r.emit(ring("jose", "0388202122", "1024"))
	if got, want := poll(t, base, "1024"), `{"tel":"0388202122","event":"ring"}`; got != want {
		t.Fatalf("getevent = %s, want %s", got, want)
	}
	empty(t, base, "1024") // served once
	empty(t, base, "1025") // another agent's extension has nothing
	r.emit(relay.EndCall("jose"))
	if got := poll(t, base, "1024"); got != `{"tel":"0388202122","event":"hangup"}` {
		t.Fatalf("after EndCall getevent = %s", got)
	}
}

func TestDivaltoBadRequests(t *testing.T) {
	r := newRig(t, nil)
	_, base := r.divalto(nil)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"no telorg", "GET", "/api/cti/getevent?ident=", "", 400},
		{"unknown extension", "GET", "/api/cti/getevent?ident=&telorg=9999", "", 404},
		{"getevent by POST", "POST", "/api/cti/getevent?telorg=1024", "", 405},
		{"setevent without tel", "POST", "/api/cti/setevent", "telorg=1024", 400},
		{"setevent unknown extension", "POST", "/api/cti/setevent", "telorg=9999&tel=0388202122", 404},
		{"setevent bad event", "POST", "/api/cti/setevent", "telorg=1024&tel=0388202122&event=boom", 400},
		{"setevent frame characters", "POST", "/api/cti/setevent", "telorg=1024&tel=03<88>", 400},
		{"setevent oversized", "POST", "/api/cti/setevent", "telorg=1024&tel=" + strings.Repeat("1", 20000), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if status, b := do(t, req); status != tc.status {
				t.Fatalf("answered %d %s, want %d", status, b, tc.status)
			}
		})
	}
	if !r.notes.has("unknown-extension", "setevent") {
		t.Fatal("setevent for an unknown extension was not journaled")
	}
}

// setevent: a CTI pushes a call; it is published (T_TTO, journal) and
// served by getevent like the relay's own events.
func TestDivaltoSetEvent(t *testing.T) {
	r := newRig(t, nil)
	_, base := r.divalto(func(d *crm.Divalto) { d.PopOn = crm.PopCTI })
	r.emit(ring("maria", "0388111111", "1025")) // the switch's own call: not a CTI request
	resp, err := http.PostForm(base+"/api/cti/setevent", url.Values{"ident": {"site1"}, "telorg": {"1024"}, "tel": {"0388202122"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("setevent answered %d", resp.StatusCode)
	}
	if got := poll(t, base, "1024"); got != `{"tel":"0388202122","event":"ring"}` {
		t.Fatalf("getevent = %s", got)
	}
	if !r.journaled("<jose><R><setevent><><0388202122><><1024><><site1>$") {
		t.Fatal("setevent's call is not in the journal")
	}
	var inTTO bool
	for _, row := range r.store.TTO() {
		inTTO = inTTO || strings.Contains(row.Text, "<jose><R><setevent>")
	}
	if !inTTO {
		t.Fatal("setevent's call is not in T_TTO")
	}
	empty(t, base, "1025") // PopCTI: the switch's own ring does not pop
	// another ident does not take the pop
	if _, err := http.Get(base + "/api/cti/setevent?telorg=1024&tel=0388202122&ident=site1&event=answer"); err != nil {
		t.Fatal(err)
	}
	until(t, "the answer", func() bool { return r.journaled("<jose><A><setevent><><0388202122><><1024><><><site1>$") })
	r.store.TTO()
	if status, b := get(t, base+"/api/cti/getevent?ident=site2&telorg=1024"); status != 200 || b != "" {
		t.Fatalf("another ident got %d %q", status, b)
	}
	if got := poll(t, base, "1024"); got != `{"tel":"0388202122","event":"answer"}` {
		t.Fatalf("getevent = %s", got)
	}
}

// Each rule suppresses the pop, and says so in the journal with its name.
func TestDivaltoRulesSuppress(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules crm.Rules
		setup []relay.Frame // events before the call
		call  relay.Frame
		rule  string
	}{
		{"global exception", crm.Rules{Exceptions: []string{"03 88 20 21 22"}}, nil, ring("jose", "0388202122", "1024"), crm.RuleException},
		{"agent exception", crm.Rules{AgentExceptions: map[string][]string{"jose": {"0388202122"}}}, nil, ring("jose", "0388202122", "1024"), crm.RuleAgentException},
		{"short number", crm.Rules{MinLength: 6}, nil, ring("jose", "2001", "1024"), crm.RuleMinLength},
		{"busy agent", crm.Rules{SkipWhenBusy: true}, []relay.Frame{ring("jose", "0388999999", "1024")}, ring("jose", "0388202122", "1024"), crm.RuleBusy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, nil)
			_, base := r.divalto(func(d *crm.Divalto) { d.Rules = tc.rules })
			for _, f := range tc.setup {
				r.emit(f)
				poll(t, base, "1024") // the first call pops
			}
			r.emit(tc.call)
			r.until("the suppression noted", func() bool { return r.notes.has("pop-suppressed", tc.rule) })
			empty(t, base, "1024")
			// the R event still reached T_TTO
			var n int
			for _, row := range r.store.TTO() {
				if row.Text == tc.call.String() {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("the R event is %d times in T_TTO", n)
			}
			// and a call the rules let through pops for the other agent
			r.emit(ring("maria", "0388777777", "1025"))
			if got := poll(t, base, "1025"); got != `{"tel":"0388777777","event":"ring"}` {
				t.Fatalf("maria's pop = %s", got)
			}
		})
	}
}

func lookupDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "erp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE tiers (code TEXT, name TEXT, tel TEXT);
		INSERT INTO tiers VALUES ('C001', 'Dupont SA', '0388202122')`); err != nil {
		t.Fatal(err)
	}
	return db
}

func queryLookup(t *testing.T, db *sql.DB, query string) crm.Lookup {
	t.Helper()
	q, err := store.NewCustomerQuery(db, query)
	if err != nil {
		t.Fatal(err)
	}
	return crm.LookupFunc(func(ctx context.Context, n string) (crm.Customer, bool, error) {
		code, name, found, err := q.Lookup(ctx, n)
		return crm.Customer{Code: code, Name: name}, found, err
	})
}

// The customer lookup enriches the pop from a table in the database; a
// failing one pops without enrichment and says so; suppress_no_match
// suppresses a caller nobody has.
func TestDivaltoLookup(t *testing.T) {
	db := lookupDB(t)
	format := crm.DivaltoFormat{CustomerCode: "code", CustomerName: "name"}
	r := newRig(t, nil)
	_, base := r.divalto(func(d *crm.Divalto) {
		d.Format = format
		d.Rules = crm.Rules{Lookup: queryLookup(t, db, `SELECT code, name FROM tiers WHERE tel = ?`), SuppressNoMatch: true}
	})
	r.emit(ring("jose", "03 88 20 21 22", "1024"))
	if got, want := poll(t, base, "1024"), `{"tel":"03 88 20 21 22","event":"ring","code":"C001","name":"Dupont SA"}`; got != want {
		t.Fatalf("getevent = %s, want %s", got, want)
	}
	r.emit(relay.EndCall("jose"))
	poll(t, base, "1024")
	r.emit(ring("jose", "0100000000", "1024"))
	r.until("no match noted", func() bool { return r.notes.has("pop-suppressed", crm.RuleNoMatch) })
	empty(t, base, "1024")

	r2 := newRig(t, nil)
	_, base2 := r2.divalto(func(d *crm.Divalto) {
		d.Format = format
		d.Rules = crm.Rules{Lookup: queryLookup(t, db, `SELECT code, name FROM no_such_table WHERE tel = ?`), SuppressNoMatch: true}
	})
	r2.emit(ring("jose", "0388202122", "1024"))
	if got := poll(t, base2, "1024"); got != `{"tel":"0388202122","event":"ring"}` {
		t.Fatalf("with a failing lookup getevent = %s", got)
	}
	if !r2.notes.has("lookup-failed", "lookup") {
		t.Fatal("the failed lookup was not journaled")
	}
}

func TestDivaltoPopOn(t *testing.T) {
	for _, tc := range []struct {
		popOn string
		want  []string // what the poller sees after ring, answer, hangup
	}{
		{crm.PopApplication, []string{"ring", "answer", "hangup"}},
		{crm.PopRing, []string{"ring", "", ""}},
		{crm.PopAnswer, []string{"", "answer", ""}},
	} {
		t.Run(tc.popOn, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, nil)
			_, base := r.divalto(func(d *crm.Divalto) { d.PopOn = tc.popOn })
			events := []relay.Frame{ring("jose", "0388202122", "1024"),
				relay.ActiveCall{Login: "jose", Origin: "0388202122", Dest: "1024"}.Frame(), relay.EndCall("jose")}
			for i, f := range events {
				r.emit(f)
				status, b := get(t, base+"/api/cti/getevent?ident=&telorg=1024")
				want := ""
				if tc.want[i] != "" {
					want = `{"tel":"0388202122","event":"` + tc.want[i] + `"}`
				}
				if status != 200 || b != want {
					t.Fatalf("after %s: %d %q, want %q", f, status, b, want)
				}
			}
		})
	}
}

func TestDivaltoXML(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format crm.DivaltoFormat
		want   string
	}{
		{"elements", crm.DivaltoFormat{Type: "xml", XMLTel: "TEL", XMLEvent: "EVT"}, `<cliktocallevent><TEL>0388202122</TEL><EVT>ring</EVT></cliktocallevent>`},
		{"attributes", crm.DivaltoFormat{Type: "xml", XMLTelInAttrib: true, XMLTelAttrib: "num", XMLEventInAttrib: true},
			`<cliktocallevent><tel num="0388202122"/><event value="ring"/></cliktocallevent>`},
		{"json names", crm.DivaltoFormat{JSONTel: "numero", JSONEvent: "evt"}, `{"numero":"0388202122","evt":"ring"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, nil)
			_, base := r.divalto(func(d *crm.Divalto) { d.Format = tc.format })
			r.emit(ring("jose", "0388202122", "1024"))
			if got := poll(t, base, "1024"); got != tc.want {
				t.Fatalf("getevent = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDivaltoCheckNamesKeys(t *testing.T) {
	t.Parallel()
	d := &crm.Divalto{PopOn: "sometimes", Prefix: "nope/", Format: crm.DivaltoFormat{Type: "csv", XMLTel: "a b"},
		Agents: map[string]string{"jose": "1024", "maria": "1024"}, Rules: crm.Rules{MinLength: -1, SuppressNoMatch: true, Exceptions: []string{"abc"}}}
	err := d.Check("bridges.crm.divalto.")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"divalto.pop_on", "divalto.prefix", "divalto.type_return", "divalto.xml_tel", "divalto.agents.", "divalto.rules.min_length", "divalto.rules.suppress_no_match", "divalto.rules.exceptions[0]"} {
		if !strings.Contains(err.Error(), "bridges.crm."+key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

type failingPublisher struct{}

func (failingPublisher) Publish(context.Context, []relay.Frame, time.Time) error {
	return errors.New("database down")
}

// The service's log lines carry component=divalto; the message does not
// repeat it.
func TestDivaltoLogsWithItsComponent(t *testing.T) {
	r := newRig(t, nil)
	var logs relaytest.Buffer
	_, base := r.divalto(func(d *crm.Divalto) {
		d.Publisher = failingPublisher{}
		d.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	resp, err := http.PostForm(base+"/api/cti/setevent", url.Values{"telorg": {"1024"}, "tel": {"0388202122"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("setevent answered %d", resp.StatusCode)
	}
	if s := logs.String(); !strings.Contains(s, `msg="setevent publish" component=divalto err="database down"`) {
		t.Fatalf("log = %s", s)
	}
}
