package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
)

func TestStopTwiceAndAfterStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{InboundPerMinute: 1})
	if err := h.sw.Start(context.Background()); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	h.sw.Stop()
	h.sw.Stop()
	if err := h.sw.Start(context.Background()); !errors.Is(err, relay.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	if _, err := h.sw.Handle(context.Background(), command(t, "<jose><S>$")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Handle after Stop: %v", err)
	}
	ch, cancel := h.sw.Subscribe(1)
	defer cancel()
	if _, open := <-ch; open {
		t.Fatal("subscription after Stop is open")
	}
}

// The end of Start's context stops the switch like Stop.
func TestContextEndsSwitch(t *testing.T) {
	t.Parallel()
	h := build(t, Config{})
	ch, cancel := h.sw.Subscribe(1)
	defer cancel()
	ctx, end := context.WithCancel(context.Background())
	if err := h.sw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	end()
	select {
	case _, open := <-ch:
		if open {
			t.Fatal("event on an idle switch")
		}
	case <-time.After(safety):
		t.Fatal("subscription not closed when the context ended")
	}
	if _, err := h.sw.Handle(context.Background(), command(t, "<jose><S>$")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Handle after the context ended: %v", err)
	}
}

// Cancelling a subscription closes its channel; the switch goes on without it.
func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	ch, cancel := h.sw.Subscribe(1)
	cancel()
	cancel()
	if _, open := <-ch; open {
		t.Fatal("cancelled subscription is open")
	}
	// An unread, cancelled subscription does not hold the switch back.
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	for range 5 {
		h.mustSend("<jose><A><><40050500><>$", "<jose><OK>$")
		h.mustSend("<jose><D>$", "<jose><EndCall>$")
	}
	h.settle()
	if n := len(h.rec.drain(t)); n != 10 {
		t.Fatalf("%d events, want 10", n)
	}
}

// Unknown verbs are refused as unsupported even when Handle is called
// directly with a command the relay did not parse.
func TestUnknownVerb(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	_, err := h.sw.Handle(context.Background(), relay.Command{Login: "jose", Verb: "HOLD", Frame: relay.NewFrame("jose", "HOLD")})
	if p := relay.AsProtocolError(err); p.Code != relay.CodeUnsupported {
		t.Fatalf("HOLD: %v", err)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		bad  string // part of the error, "" for valid
	}{
		{"zero", Config{}, ""},
		{"negative rate", Config{InboundPerMinute: -1}, "inbound per minute"},
		{"huge rate", Config{DialerPerMinute: 1e9}, "dialer per minute"},
		{"negative ring", Config{RingTime: -time.Second}, "ring time"},
		{"negative wrap-up", Config{WrapUp: -time.Second}, "wrap-up"},
		{"jitter", Config{TalkJitter: 1.5}, "talk jitter"},
		{"recording dir", Config{RecordingDir: `c:\rec>x`}, "recording dir"},
		{"campaign", Config{Campaign: "a;b"}, "campaign"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sw, err := New(tc.cfg)
			switch {
			case tc.bad == "" && err != nil:
				t.Fatal(err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
				t.Fatalf("error %v, want one about %s", err, tc.bad)
			}
			if sw != nil {
				sw.Stop()
			}
		})
	}
	sw, err := New(Config{QueueLength: -1})
	if err != nil {
		t.Fatal(err)
	}
	c := sw.Config()
	if c.QueueLength != 0 || c.Abandon != DefaultAbandon || c.RecordingDir != DefaultRecordingDir ||
		c.FirstExtension != DefaultFirstExtension || c.Campaign != DefaultCampaign || c.RoutingPoint != DefaultRoutingPoint {
		t.Fatalf("defaults %+v", c)
	}
}

// A command first brings the switch up to the clock, even with no scheduler
// running: it sees every call event that is due, in order.
func TestCommandCatchesUp(t *testing.T) {
	t.Parallel()
	h := build(t, Config{RingTime: 5 * time.Second, TalkTime: 30 * time.Second})
	h.rec = h.subscribe(16)
	h.rec.start()
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	h.mustSend("<jose><A><85><40050500><>$", "<jose><OK>$")
	h.clock.Advance(time.Minute)
	h.expect() // not started: nothing moves by itself
	h.mustSend("<jose><S>$", "<jose><S><4>$")
	h.expect("<jose><A><><><7001><85><40050500><><><>$",
		`<jose><G><c:\records\2015\1\16\7001-20150116-163842-P1C01-Station.wav>$`,
		"<jose><EndCall>$")
}

func TestSwitchLifecycle(t *testing.T) {
	relaytest.StressStartStop(t, func(t *testing.T) relay.Service {
		sw, err := New(Config{Seed: 1, Clock: relaytest.NewClock(t0), InboundPerMinute: 60, DialerPerMinute: 60})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sw.Stop()
			if _, err := sw.Handle(context.Background(), command(t, "<jose><S>$")); !errors.Is(err, ErrStopped) {
				t.Errorf("Handle after Stop: %v", err)
			}
		})
		return sw
	})
}
