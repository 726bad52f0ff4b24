package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// sim --clicktodial announces the platform and answers the document's URL
// with the configured authentication; the secret can come from the
// environment.
func TestSimCmdServesAClickToDialPlatform(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	env, out, errs := simEnv()
	env.getenv = func(k string) string { return map[string]string{"CTIRELAY_CLICKTODIAL_TOKEN": "from-env"}[k] }
	done := make(chan error, 1)
	go func() {
		done <- runCommand(ctx, env, []string{"sim", "--listen", "127.0.0.1:0", "--clicktodial", "127.0.0.1:0", "--auth", "2", "--clicktodial-path", "discar"})
	}()
	addrRE := regexp.MustCompile(`click-to-dial platform on (http://127\.0\.0\.1:\d+/discar)`)
	var base string
	wait.For(t, "the platform announced", func() bool {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	get := func(token string) (int, string) {
		req, _ := http.NewRequest("GET", base+"?origem=3501&destino=8540050500", nil)
		if token != "" {
			req.Header.Set("token_auth", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, _ := get("wrong"); code != 401 {
		t.Fatalf("a wrong token: %d", code)
	}
	if code, body := get("from-env"); code != 200 || body != "OK" {
		t.Fatalf("the dial: %d %q (stderr %s)", code, body, errs)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sim = %v", err)
	}
}

func TestSimCmdNotifyNeedsClickToDial(t *testing.T) {
	env, _, errs := simEnv()
	err := runCommand(context.Background(), env, []string{"sim", "--listen", "127.0.0.1:0", "--notify", "http://127.0.0.1:1/"})
	if err == nil || !strings.Contains(err.Error()+errs.String(), "--notify needs --clicktodial") {
		t.Fatalf("sim = %v, stderr %s", err, errs)
	}
}
