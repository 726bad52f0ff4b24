package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

func simEnv() (*cli, *relaytest.Buffer, *relaytest.Buffer) {
	out, errs := &relaytest.Buffer{}, &relaytest.Buffer{}
	return &cli{stdout: out, stderr: errs, getenv: func(string) string { return "" }}, out, errs
}

func TestSimCmdStopsWithItsContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env, out, errs := simEnv()
	if err := runCommand(ctx, env, []string{"sim", "--listen", "127.0.0.1:0", "--seed", "7", "--inbound-per-minute", "30"}); err != nil {
		t.Fatalf("simCmd = %v (stderr %s)", err, errs)
	}
	if !strings.Contains(out.String(), "ctirelay sim: Tactium IP socket on 127.0.0.1:") {
		t.Fatalf("stdout = %q", out)
	}
}

func TestSimCmdServesTheSimulator(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	env, out, errs := simEnv()
	done := make(chan error, 1)
	go func() {
		done <- runCommand(ctx, env, []string{"sim", "--listen", "127.0.0.1:0", "--admin-secret", "s3cret", "--charset", "windows-1252"})
	}()
	addrRE := regexp.MustCompile(`socket on (127\.0\.0\.1:\d+)`)
	var addr string
	t.Cleanup(cancel) // also when no address is announced
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stderr: %s", errs)
		}
	})
	wait.For(t, "the address announced", func() bool {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	dial := func() (net.Conn, *bufio.Reader) {
		nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		return nc, bufio.NewReader(nc)
	}
	roundTrip := func(nc net.Conn, r *bufio.Reader, send, want string) {
		t.Helper()
		if _, err := io.WriteString(nc, send); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
			t.Fatalf("sent %q, got %q (%v), want %q", send, got, err, want)
		}
	}
	admin, ar := dial()
	defer admin.Close()
	roundTrip(admin, ar, "<ADMSOCKET><L><ON>$", "<ADMSOCKET><ERR><UNAUTHORIZED><wrong or missing secret: send <ADMSOCKET)<L)<ON)<secret)$>$")
	roundTrip(admin, ar, "<ADMSOCKET><L><ON><s3cret>$", "<ADMSOCKET><OK>$")
	agent, r := dial()
	defer agent.Close()
	roundTrip(agent, r, "<jos\xe9><L><ON>$", "<jos\xe9><OK>$")
	roundTrip(agent, r, "<jos\xe9><A><85><40050500><Servi\xe7o>$", "<jos\xe9><OK>$")
	// The callee answers at once (ring time 0): the monitor sees the call.
	want := "<jos\xe9><A><><><7001><85><40050500><Servi\xe7o><><>$"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(ar, got); err != nil || string(got) != want {
		t.Fatalf("monitor got %q (%v), want %q", got, err, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("simCmd = %v", err)
	}
}

func TestSimCmdRejectsBadFlags(t *testing.T) {
	tests := [][]string{
		{"--charset", "latin9"},
		{"--tls-cert", "cert.pem"},
		{"--inbound-per-minute", "-1"},
		{"extra"},
		{"--listen", "127.0.0.1:notaport"},
	}
	for _, args := range tests {
		env, _, _ := simEnv()
		if err := runCommand(context.Background(), env, append([]string{"sim", "--listen", "127.0.0.1:0"}, args...)); err == nil {
			t.Errorf("simCmd(%q) succeeded", args)
		}
	}
}

// --listen "" turns the Tactium socket off (it once listened on every
// interface, on a random port); with nothing else to serve it is a usage
// error.
func TestSimCmdListenEmptyServesNoSocket(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env, out, errs := simEnv()
	if err := runCommand(ctx, env, []string{"sim", "--listen", "", "--epbx", "127.0.0.1:0"}); err != nil {
		t.Fatalf("simCmd = %v (stderr %s)", err, errs)
	}
	if strings.Contains(out.String(), "Tactium IP socket on") || strings.Contains(errs.String(), "server=tactium") {
		t.Errorf("a Tactium socket served with --listen \"\": stdout %q stderr %q", out, errs)
	}
	if !strings.Contains(out.String(), "ctirelay sim: EPBX on http://127.0.0.1:") {
		t.Errorf("stdout = %q", out)
	}
	env, _, _ = simEnv()
	err := runCommand(ctx, env, []string{"sim", "--listen", ""}) // ctx is done: it would return at once if it started
	if err != exitError(2) {
		t.Errorf("sim --listen \"\" alone = %v, want a usage error", err)
	}
}
