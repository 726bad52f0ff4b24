package crm_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/bridges/crm"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

func newPlatform(t *testing.T) *httpdial.Driver {
	t.Helper()
	d, err := httpdial.New(httpdial.Config{Host: "pbx.invalid", Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}},
		Vars: httpdial.Vars{Origin: "de", Destination: "para"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The platform's call reports become the agent's events in the journal;
// unknown extensions are journaled and answered 404, never dropped.
func TestPlatformReports(t *testing.T) {
	drv := newPlatform(t)
	r := newRig(t, drv)
	closed := newPlatform(t) // never opened
	notes := r.notes
	mux := http.NewServeMux()
	mux.Handle(crm.PlatformRoute, &crm.PlatformHandler{Platforms: map[string]crm.Platform{"pbx": drv, "down": closed}, Journal: notes, MaxBodyBytes: 512})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL + "/v1/platform/"

	if status, b := get(t, base+"pbx/call?evento=ringing&de=4732100123&para=3501"); status != 200 {
		t.Fatalf("GET report: %d %s", status, b)
	}
	r.until("the R event", func() bool { return r.journaled("<jose><R><><><4732100123><><3501><><>$") })

	req, _ := http.NewRequest(http.MethodPost, base+"pbx/call", strings.NewReader(`{"evento":"answer","de":"4732100123","para":"3501","audio":"https://rec/1.wav"}`))
	req.Header.Set("Content-Type", "application/json")
	if status, b := do(t, req); status != 200 {
		t.Fatalf("JSON report: %d %s", status, b)
	}
	r.until("the G event", func() bool { return r.journaled("<jose><G><https://rec/1.wav>$") })

	req, _ = http.NewRequest(http.MethodPost, base+"pbx/call", strings.NewReader(`evento=end&de=4732100123&para=3501`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, b := do(t, req); status != 200 {
		t.Fatalf("form report: %d %s", status, b)
	}
	r.until("EndCall", func() bool { return r.journaled("<jose><EndCall>$") })

	for _, tc := range []struct {
		name, method, path, body, ctype string
		status                          int
	}{
		{"unknown extension", "GET", "pbx/call?evento=ringing&de=1&para=9999", "", "", 404},
		{"unknown platform", "GET", "nope/call?evento=ringing&de=1&para=3501", "", "", 404},
		{"no event", "GET", "pbx/call?de=1&para=3501", "", "", 400},
		{"no extension", "GET", "pbx/call?evento=ringing&de=1", "", "", 400},
		{"bad event", "GET", "pbx/call?evento=boom&de=1&para=3501", "", "", 400},
		{"frame characters", "GET", "pbx/call?evento=ringing&de=1%3C2&para=3501", "", "", 400},
		{"oversized body", "POST", "pbx/call", "evento=ringing&para=3501&de=" + strings.Repeat("1", 1000), "application/x-www-form-urlencoded", 413},
		{"JSON array", "POST", "pbx/call", `["x"]`, "application/json", 400},
		{"driver not open", "GET", "down/call?evento=ringing&de=1&para=3501", "", "", 503},
		{"PUT", "PUT", "pbx/call", "", "", 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if status, b := do(t, req); status != tc.status {
				t.Fatalf("%d %s, want %d", status, b, tc.status)
			}
		})
	}
	if !notes.has("unknown-extension", "platform pbx") {
		t.Fatal("the unknown extension was not journaled")
	}
}
