package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// The driver names itself in its logger: the wiring must not add the same
// attribute again (log lines read "switch=tactium switch=tactium" before).
func TestDriverLogsNameTheSwitchOnce(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the driver logs its reconnects
	cfg, err := LoadConfig(writeConfig(t, "switch:\n  driver: tactium\n  tactium:\n    address: "+addr+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var buf relaytest.Buffer
	d, err := newDriver(cfg, memstore.New(), nil, relay.SystemClock{}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = d.Open(ctx, relay.EventSinkFunc(func(context.Context, relay.Frame) {}))
	wait.For(t, "a log line of the driver", func() bool { return strings.Contains(buf.String(), "addr="+addr) })
	cancel()
	_ = d.Close()
	for _, line := range strings.Split(buf.String(), "\n") {
		if n := strings.Count(line, "switch=tactium"); n > 1 {
			t.Fatalf("switch=tactium %d times in %q", n, line)
		}
	}
}
