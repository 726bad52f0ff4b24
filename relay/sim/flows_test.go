package sim

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func rec(login, ext string, at time.Time, callID int64) string {
	return relay.Recording(login, recordingPath(DefaultRecordingDir, ext, at, callID)).String()
}

func TestManualCallFlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{RingTime: 5 * time.Second, TalkTime: 60 * time.Second, WrapUp: 10 * time.Second})
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	h.mustSend("<jose><A><85><40050500><Servico>$", "<jose><OK>$")
	h.state("jose", relay.StateBusy)
	h.mustSend("<jose><AC>$", manualA) // ringing: AC already knows the call
	h.advance(4 * time.Second)
	h.expect()
	h.advance(time.Second)
	h.expect(manualA, `<jose><G><c:\records\2015\1\16\7001-20150116-163842-P1C01-Station.wav>$`)
	h.advance(59 * time.Second)
	h.expect()
	h.state("jose", relay.StateBusy)
	h.advance(time.Second)
	h.expect("<jose><EndCall>$")
	h.state("jose", relay.StateWrapUp)
	h.advance(10 * time.Second)
	h.state("jose", relay.StateAvailable)
	h.expect()
}

func TestHangUpAndLogoffEndCalls(t *testing.T) {
	t.Parallel()
	cfg := Config{RingTime: 5 * time.Second, TalkTime: 60 * time.Second}
	t.Run("D while ringing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cfg)
		h.mustSend("<jose><L><ON>$", "<jose><OK>$")
		h.mustSend("<jose><A><85><40050500><>$", "<jose><OK>$")
		h.advance(2 * time.Second)
		h.mustSend("<jose><D>$", "<jose><EndCall>$")
		h.advance(time.Hour) // the cancelled answer and hang-up never happen
		h.expect()
		h.state("jose", relay.StateWrapUp) // WrapUp 0: until POS OFF
		h.mustSend("<jose><POS><OFF>$", "<jose><OK>$")
		h.state("jose", relay.StateAvailable)
	})
	t.Run("D while talking", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cfg)
		h.mustSend("<jose><L><ON>$", "<jose><OK>$")
		h.mustSend("<jose><A><><40050500><>$", "<jose><OK>$")
		h.advance(30 * time.Second)
		h.expect("<jose><A><><><7001><><40050500><><><>$", `<jose><G><c:\records\2015\1\16\7001-20150116-163842-P1C01-Station.wav>$`)
		h.mustSend("<jose><D>$", "<jose><EndCall>$")
		h.advance(time.Hour)
		h.expect()
		h.mustSend("<jose><P><OFF>$", "<jose><OK>$")
		h.state("jose", relay.StateAvailable)
	})
	t.Run("L OFF while talking", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cfg)
		h.mustSend("<jose><L><ON>$", "<jose><OK>$")
		h.mustSend("<jose><A><><40050500><>$", "<jose><OK>$")
		h.advance(10 * time.Second)
		h.rec.drain(t)
		h.mustSend("<jose><L><OFF>$", "<jose><OK>$")
		h.expect("<jose><EndCall>$")
		h.advance(time.Hour)
		h.expect()
		h.state("jose", relay.StateLoggedOff)
	})
	t.Run("number that never answers", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cfg)
		h.mustSend("<jose><L><ON>$", "<jose><OK>$")
		h.mustSend("<jose><A><11><32210000><>$", "<jose><OK>$")
		h.advance(5 * time.Second)
		h.expect("<jose><EndCall>$")
		h.state("jose", relay.StateWrapUp)
	})
}

// inject has one inbound customer call in now.
func (h *harness) inject() {
	h.t.Helper()
	h.sw.mu.Lock()
	h.sw.inboundArrivalLocked(h.clock.Now())
	h.sw.mu.Unlock()
}

// current is the agent's current call, which must exist.
func (h *harness) current(login string) Call {
	h.t.Helper()
	_, c := h.sw.Agent(login)
	if c == nil {
		h.t.Fatalf("%s has no call", login)
	}
	return *c
}

func TestInboundFlow(t *testing.T) {
	t.Parallel()
	const seed, rate = 11, 0.1
	// The first two arrivals and the first caller, drawn as the switch draws them.
	rng := rand.New(rand.NewPCG(seed, 1))
	first := interArrival(rng, rate)
	second := interArrival(rng, rate)
	ddd, phone := brazilianNumber(rng)
	if second < time.Minute {
		t.Fatalf("seed %d brings the second call too soon for this test", seed)
	}

	h := newHarness(t, Config{Seed: seed, InboundPerMinute: rate, TalkTime: 30 * time.Second, WrapUp: 15 * time.Second})
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	h.advance(first - time.Millisecond)
	h.expect()
	h.advance(time.Millisecond)
	at := t0.Add(first)
	r := fmt.Sprintf("<jose><R><><%s><%s><><7001><><>$", ddd, phone)
	h.expect(r, rec("jose", "7001", at, 1))
	h.state("jose", relay.StateBusy)
	h.mustSend("<jose><AC>$", r)
	h.advance(30 * time.Second)
	h.expect("<jose><EndCall>$")
	h.state("jose", relay.StateWrapUp)
	h.advance(15 * time.Second)
	h.state("jose", relay.StateAvailable)
	if st := h.sw.Stats(); st.Inbound != 1 || st.InboundConnected != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestInboundQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{QueueLength: 2, Abandon: 45 * time.Second})
	h.inject() // call 1: abandons
	h.advance(10 * time.Second)
	h.inject() // call 2: waits
	h.inject() // call 3: busy, the queue is full
	if st := h.sw.Stats(); st.Waiting != 2 || st.Busy != 1 {
		t.Fatalf("stats %+v", st)
	}
	h.advance(35 * time.Second)
	if st := h.sw.Stats(); st.Waiting != 1 || st.Abandoned != 1 {
		t.Fatalf("stats after abandon %+v", st)
	}
	h.advance(5 * time.Second)
	h.mustSend("<jose><L><ON>$", "<jose><OK>$") // takes call 2 at once
	c := h.current("jose")
	if c.ID != 2 || c.Kind != Inbound {
		t.Fatalf("jose got %+v", c)
	}
	h.expect(relay.ReceptiveCall{Login: "jose", OriginDDD: c.DDD, Origin: c.Phone, Dest: "7001"}.Frame().String(),
		rec("jose", "7001", t0.Add(50*time.Second), 2))
	h.advance(time.Minute) // call 2 would have abandoned by now: it did not
	if st := h.sw.Stats(); st.Waiting != 0 || st.Abandoned != 1 || st.InboundConnected != 1 {
		t.Fatalf("final stats %+v", st)
	}
	h.expect()
}

// Queued calls go to whoever becomes available first: from pause, from
// wrap-up (POS OFF or its timer), and through TR in wrap-up.
func TestQueueServedOnAvailability(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{WrapUp: 20 * time.Second})
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	h.mustSend("<jose><P><ON><3>$", "<jose><OK>$")
	h.inject()
	h.mustSend("<jose><P><OFF>$", "<jose><OK>$")
	if c := h.current("jose"); c.ID != 1 {
		t.Fatalf("call %+v", c)
	}
	h.mustSend("<jose><D>$", "<jose><EndCall>$")
	h.inject()
	h.state("jose", relay.StateWrapUp)
	h.advance(20 * time.Second) // wrap-up ends by itself
	if c := h.current("jose"); c.ID != 2 {
		t.Fatalf("call %+v", c)
	}
}

var attachPattern = regexp.MustCompile(`^dialer\.CampaignName=Discador;dialer\.ExternalID=15001;` +
	`dialer\.ItemID=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12};` +
	`dialer\.Description=;dialer\.AttachInfo=CLI[0-9]{6};dialer\.ExternalData=;$`)

// dialerAttempt has the dialer try to connect a customer now.
func (h *harness) dialerAttempt() {
	h.t.Helper()
	h.sw.mu.Lock()
	h.sw.dialerAttemptLocked(h.clock.Now())
	h.sw.mu.Unlock()
}

func TestDialerFlowAndCallbacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Seed: 3})
	h.dialerAttempt() // nobody available: skipped
	if st := h.sw.Stats(); st.DialerIdle != 1 || st.Dialer != 0 {
		t.Fatalf("stats %+v", st)
	}
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	h.dialerAttempt()
	c := h.current("jose")
	info := c.Frame.Arg(7)
	a := relay.ActiveCall{Login: "jose", ID: "15001", OriginDDD: "0", Origin: "9988", DestDDD: c.DDD, Dest: c.Phone, ExternalID: info}.Frame().String()
	h.expect(a, rec("jose", "7001", t0, 1))
	if !attachPattern.MatchString(info) {
		t.Fatalf("attach info %q", info)
	}

	h.mustSend("<jose><C><S><Fax>$", "<jose><OK>$")
	if got := h.current("jose").Outcome; got != "Fax" {
		t.Fatalf("outcome %q", got)
	}
	h.mustSend("<jose><TR><16/01/2015 17:00><><jose>$", "<jose><OK>$") // during the call
	h.mustSend("<jose><D>$", "<jose><EndCall>$")
	h.mustSend("<jose><TR><16/01/2015 17:30><85987654321><>$", "<jose><OK>$") // in wrap-up: resumes
	h.state("jose", relay.StateAvailable)
	h.expect()

	// 17:00: the dialer calls the customer back for jose, same item and attach info.
	h.advance(t0.Add(21*time.Minute+23*time.Second).Sub(h.clock.Now()) - time.Second)
	h.expect()
	h.advance(time.Second)
	at := time.Date(2015, 1, 16, 17, 0, 0, 0, time.UTC)
	h.expect(a, rec("jose", "7001", at, 2))
	h.mustSend("<jose><D>$", "<jose><EndCall>$")
	h.mustSend("<jose><P><ON><9>$", "<jose><OK>$")

	// 17:30: the second callback waits while jose is paused, then goes to
	// whoever becomes available, on the alternative phone.
	h.advance(30 * time.Minute)
	h.expect()
	h.mustSend("<jose><P><OFF>$", "<jose><OK>$")
	alt := relay.ActiveCall{Login: "jose", ID: "15001", OriginDDD: "0", Origin: "9988", DestDDD: "85", Dest: "987654321", ExternalID: info}.Frame().String()
	h.expect(alt, rec("jose", "7001", t0.Add(51*time.Minute+23*time.Second), 3))
	if st := h.sw.Stats(); st.Dialer != 1 || st.Callbacks != 2 || st.CallbacksPlaced != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// With no queue, callers who find nobody available get busy at once.
func TestNoQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{QueueLength: -1})
	h.inject()
	h.mustSend("<jose><L><ON>$", "<jose><OK>$")
	h.expect()
	if st := h.sw.Stats(); st.Busy != 1 || st.Waiting != 0 || st.InboundConnected != 0 {
		t.Fatalf("stats %+v", st)
	}
	h.inject()
	if c := h.current("jose"); c.Kind != Inbound {
		t.Fatalf("call %+v", c)
	}
}
