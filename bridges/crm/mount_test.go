package crm_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ctirelay/ctirelay/bridges/crm"
	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// The crm routes mounted on the HTTP bridge (Group "", each authenticating
// itself): Senior's modes 1–4 with its own credentials, mode 0 and the
// other routes with the bridge's bearer tokens (by group) or their own
// token; the bridge's own routes stay behind its tokens.
func TestRoutesOnTheHTTPBridge(t *testing.T) {
	r := newRig(t, nil)
	ctd0 := &crm.ClickToDial{Feed: r.feed, Agents: map[string]crm.SeniorAgent{"jose": {Extension: "3501"}}, Journal: r.notes}
	ctd2 := &crm.ClickToDial{Feed: r.feed, Auth: httpdial.AuthHeader, Agents: map[string]crm.SeniorAgent{"jose": {Extension: "3501", Credentials: httpdial.Credentials{Token: "tok-jose"}}}}
	d, _ := r.divalto(nil)
	d.Guard.Token = "div-tok"
	plat := &crm.PlatformHandler{Platforms: map[string]crm.Platform{"pbx": acceptAll{}}, Journal: r.notes}
	mounts := []httpbridge.Mount{
		{Pattern: "/senior0/api/clicktodial", Handler: ctd0},
		{Pattern: crm.DefaultClickToDialPath, Handler: ctd2},
		{Pattern: crm.PlatformRoute, Handler: plat},
	}
	for _, p := range d.Routes() {
		mounts = append(mounts, httpbridge.Mount{Pattern: p, Handler: d.Handler()})
	}
	b := r.bridge(httpbridge.Config{Mounts: mounts, Tokens: []httpbridge.Token{
		{Name: "erp", Secret: "erp-secret-0123456789", Groups: []string{httpbridge.GroupCommands}},
		{Name: "view", Secret: "view-secret-0123456789", Groups: []string{httpbridge.GroupEvents}},
	}})
	ctd0.Guard.Bridge, d.Guard.Bridge, plat.Guard.Bridge = b, b, b
	base := "http://" + b.ListenAddr().String()
	for _, tc := range []struct {
		name, method, path, bearer, tokenAuth string
		status                                int
	}{
		{"mode 0 without a token", "GET", "/senior0/api/clicktodial?origem=3501&destino=2001", "", "", 401},
		{"mode 0 with an events token", "GET", "/senior0/api/clicktodial?origem=3501&destino=2001", "view-secret-0123456789", "", 401},
		{"mode 0 with a commands token", "GET", "/senior0/api/clicktodial?origem=3501&destino=2001", "erp-secret-0123456789", "", 200},
		{"mode 2 with its header, no bearer", "GET", "/api/clicktodial?origem=3501&destino=2001", "", "tok-jose", 200},
		{"mode 2 with a bearer only", "GET", "/api/clicktodial?origem=3501&destino=2001", "erp-secret-0123456789", "", 401},
		{"getevent without a token", "GET", "/DhDivaltoServerCTI/api/cti/getevent?ident=&telorg=1024", "", "", 401},
		{"getevent with an events token", "GET", "/DhDivaltoServerCTI/api/cti/getevent?ident=&telorg=1024", "view-secret-0123456789", "", 200},
		{"getevent with its own token in the URL", "GET", "/DhDivaltoServerCTI/api/cti/getevent?ident=&telorg=1024&token=div-tok", "", "", 200},
		{"getevent with a wrong own token", "GET", "/DhDivaltoServerCTI/api/cti/getevent?ident=&telorg=1024&token=nope", "", "", 401},
		{"setevent with an events token", "GET", "/DhDivaltoServerCTI/api/cti/setevent?telorg=1024&tel=0388202122", "view-secret-0123456789", "", 401},
		{"setevent with a commands token", "GET", "/DhDivaltoServerCTI/api/cti/setevent?telorg=1024&tel=0388202122", "erp-secret-0123456789", "", 200},
		{"platform report without a token", "GET", "/v1/platform/pbx/call?evento=ringing&de=1&para=3501", "", "", 401},
		{"platform report with a commands token", "GET", "/v1/platform/pbx/call?evento=ringing&de=4732100123&para=3501", "erp-secret-0123456789", "", 200},
		{"the bridge's own route", "GET", "/v1/status", "", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, nil)
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			if tc.tokenAuth != "" {
				req.Header.Set("token_auth", tc.tokenAuth)
			}
			if status, body := do(t, req); status != tc.status {
				t.Fatalf("%d %s, want %d", status, body, tc.status)
			}
		})
	}
}

// acceptAll is a platform taking every report.
type acceptAll struct{}

func (acceptAll) Vars() httpdial.Vars {
	v, _ := httpdial.Vars{Origin: "de", Destination: "para"}.WithDefaults()
	return v
}
func (acceptAll) Notify(context.Context, httpdial.Notification) error { return nil }

// getevent is served from memory: with the database failing every call, a
// poll through the HTTP bridge (token checked) still answers the pending pop.
func TestGetEventNeedsNoDatabase(t *testing.T) {
	r := newRig(t, nil)
	d, _ := r.divalto(nil)
	base := r.mounted(mountsOf(d), &d.Guard)
	r.emit(ring("jose", "0388202122", "1024"))
	r.store.SetFail(errors.New("database down"))
	defer r.store.SetFail(nil)
	req, _ := http.NewRequest(http.MethodGet, base+crm.DefaultDivaltoPrefix+"/api/cti/getevent?ident=&telorg=1024", nil)
	req.Header.Set("Authorization", "Bearer "+benchEventsToken)
	if status, body := do(t, req); status != http.StatusOK || body != `{"tel":"0388202122","event":"ring"}` {
		t.Fatalf("%d %s", status, body)
	}
}
