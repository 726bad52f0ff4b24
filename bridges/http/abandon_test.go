package httpbridge

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// A client that leaves while waiting on POST /v1/commands?wait= never
// learns its dial's id: the dial must not be carried out later on its
// behalf (DESIGN §4, as the socket bridge does for a closed connection).
func TestWaitAbandonedDialNeverRuns(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "POST", r.base+"/v1/commands?wait=30s", strings.NewReader("<jose><A><85><40050500><>$"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	wait.For(t, "the dial queued", func() bool {
		return r.do("GET", "/v1/commands/1", "", "").status == http.StatusOK
	})
	cancel()
	<-done
	wait.For(t, "the dial marked abandoned", func() bool { return r.feed.Abandoned() > 0 })
	j := r.claim()
	if p := j.Refusal(); p == nil || p.Code != relay.CodeRequesterGone {
		t.Fatalf("claimed %q with refusal %v, want %s", j.Frame, p, relay.CodeRequesterGone)
	}
}
