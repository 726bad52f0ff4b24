package httpbridge

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestMountsAreGuardedLikeTheBridgesRoutes(t *testing.T) {
	t.Parallel()
	served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("mounted " + r.URL.Path)) })
	var b *Bridge
	own := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, status := b.Authorize(r, GroupEvents)
		w.WriteHeader(status)
	})
	r := newRig(t, nil, Config{
		Tokens: []Token{{Name: "ops", Secret: "s3cret-ops", Groups: []string{GroupAdmin}}, {Name: "view", Secret: "s3cret-view", Groups: []string{GroupEvents}}},
		Mounts: []Mount{{Pattern: "GET /api/clicktodial", Group: GroupAdmin, Handler: served}, {Pattern: "/ui/", Handler: own}},
	})
	b = r.b
	for _, tc := range []struct {
		name, path, token string
		status            int
		body              string
	}{
		{"guarded without a token", "/api/clicktodial", "", 401, ""},
		{"guarded with the wrong group", "/api/clicktodial", "Bearer s3cret-view", 403, ""},
		{"guarded with the group", "/api/clicktodial?origem=1", "Bearer s3cret-ops", 200, "mounted /api/clicktodial"},
		{"own auth without a token", "/ui/", "", 401, ""},
		{"own auth with its group", "/ui/x", "Bearer s3cret-view", 200, ""},
		{"own auth with another group", "/ui/", "Bearer s3cret-ops", 403, ""},
		{"the bridge's own 404 stays", "/nowhere", "", 404, "no such route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.token != "" {
				hdr = []string{"Authorization", tc.token}
			}
			res := r.do("GET", tc.path, "", "", hdr...)
			if res.status != tc.status || !strings.Contains(res.body, tc.body) {
				t.Fatalf("got %d %q, want %d with %q", res.status, res.body, tc.status, tc.body)
			}
		})
	}
}

func TestMountCollidingWithARouteIsAConfigError(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	feed := newTestFeed(t, s)
	for _, mt := range []Mount{
		{Pattern: "GET /v1/status", Handler: http.NotFoundHandler()},
		{Pattern: "/ui/"},
	} {
		if _, err := New(Config{Store: s, Feed: feed, Mounts: []Mount{mt}}); err == nil {
			t.Errorf("mount %+v accepted", mt)
		}
	}
}
