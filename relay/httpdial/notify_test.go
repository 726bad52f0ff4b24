package httpdial_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/relay/httpdial"
)

func openDriver(t *testing.T) (*httpdial.Driver, *sink) {
	t.Helper()
	d := newDriver(t, httpdial.Config{Host: "pbx.example", Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}, "maria": {Extension: "3502"}}})
	s := &sink{}
	if err := d.Open(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return d, s
}

// Call reports become the events of the agent owning the extension.
func TestNotifyMakesEvents(t *testing.T) {
	t.Parallel()
	out := func(ev httpdial.Event, audio string) httpdial.Notification {
		return httpdial.Notification{Event: ev, Direction: httpdial.Outbound, Origin: "3501", Destination: "8540050500", Audio: audio}
	}
	in := func(ev httpdial.Event, audio string) httpdial.Notification {
		return httpdial.Notification{Event: ev, Direction: httpdial.Inbound, Origin: "8532221111", Destination: "3502", Audio: audio}
	}
	cases := []struct {
		name    string
		reports []httpdial.Notification
		want    []string
	}{
		{"outgoing: A when answered, G, EndCall",
			[]httpdial.Notification{out("start", ""), out("ringing", ""), out("answer", ""), out("end", "https://pbx.example/rec/1.wav")},
			[]string{"<jose><A><><><3501><><8540050500><><><>$", "<jose><G><https://pbx.example/rec/1.wav>$", "<jose><EndCall>$"}},
		{"outgoing, never answered: EndCall only",
			[]httpdial.Notification{out("start", ""), out("ringing", ""), out("end", "")},
			[]string{"<jose><EndCall>$"}},
		{"received: R at the first report, once",
			[]httpdial.Notification{in("start", ""), in("ringing", ""), in("answer", "https://pbx.example/rec/2.wav"), in("end", "https://pbx.example/rec/2.wav")},
			[]string{"<maria><R><><><8532221111><><3502><><>$", "<maria><G><https://pbx.example/rec/2.wav>$", "<maria><EndCall>$"}},
		{"received, ringing only then end",
			[]httpdial.Notification{in("ringing", ""), in("end", "")},
			[]string{"<maria><R><><><8532221111><><3502><><>$", "<maria><EndCall>$"}},
		{"a new start is a new call",
			[]httpdial.Notification{in("ringing", ""), in("start", "")},
			[]string{"<maria><R><><><8532221111><><3502><><>$", "<maria><R><><><8532221111><><3502><><>$"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, s := openDriver(t)
			for _, n := range c.reports {
				if err := d.Notify(context.Background(), n); err != nil {
					t.Fatalf("Notify(%+v): %v", n, err)
				}
			}
			if got := s.take(); !slices.Equal(got, c.want) {
				t.Fatalf("events\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// S follows the notified call: busy during it, available after.
func TestStatusFollowsNotifications(t *testing.T) {
	t.Parallel()
	d, _ := openDriver(t)
	status := func() string {
		f, err := execute(t, d, "<maria><S>$")
		if err != nil {
			t.Fatal(err)
		}
		return f[0].String()
	}
	n := httpdial.Notification{Event: httpdial.EventRinging, Direction: httpdial.Inbound, Origin: "8532221111", Destination: "3502"}
	if err := d.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "<maria><S><3>$" {
		t.Fatalf("during the call: %s", got)
	}
	n.Event = httpdial.EventEnd
	if err := d.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "<maria><S><1>$" {
		t.Fatalf("after the call: %s", got)
	}
}

func TestNotifyRefuses(t *testing.T) {
	t.Parallel()
	d, s := openDriver(t)
	ok := httpdial.Notification{Event: httpdial.EventRinging, Direction: httpdial.Inbound, Origin: "85", Destination: "3502"}
	cases := []struct {
		name string
		edit func(*httpdial.Notification)
		want error
	}{
		{"unknown extension", func(n *httpdial.Notification) { n.Destination = "9999" }, httpdial.ErrUnknownExtension},
		{"no extension", func(n *httpdial.Notification) { n.Destination = "" }, httpdial.ErrBadNotification},
		{"bad event", func(n *httpdial.Notification) { n.Event = "hold" }, httpdial.ErrBadNotification},
		{"a frame's delimiter", func(n *httpdial.Notification) { n.Audio = "http://x/<a>" }, httpdial.ErrBadNotification},
		{"too long", func(n *httpdial.Notification) { n.Audio = string(make([]byte, 600)) }, httpdial.ErrBadNotification},
	}
	for _, c := range cases {
		n := ok
		c.edit(&n)
		err := d.Notify(context.Background(), n)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	var unknown *httpdial.UnknownExtensionError
	if err := d.Notify(context.Background(), httpdial.Notification{Event: "end", Direction: httpdial.Outbound, Origin: "77"}); !errors.As(err, &unknown) || unknown.Extension != "77" {
		t.Fatalf("unknown extension: %v", err)
	}
	if got := s.take(); len(got) != 0 {
		t.Fatalf("refused reports made events: %q", got)
	}
	closed := newDriver(t, httpdial.Config{Host: "pbx.example", Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}}})
	if err := closed.Notify(context.Background(), ok); !errors.Is(err, httpdial.ErrNotOpen) {
		t.Fatalf("before Open: %v", err)
	}
	_ = d.Close()
	if err := d.Notify(context.Background(), ok); !errors.Is(err, httpdial.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// Vars read a report with the configured names (the document's
// nome_variavel_*); the "sainte" ones make it an outgoing call.
func TestVarsParse(t *testing.T) {
	t.Parallel()
	v, err := httpdial.Vars{Event: "tipo", Origin: "de", Destination: "para", OriginOut: "ramal_sai", DestinationOut: "numero_sai", Audio: "gravacao"}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		query string
		want  httpdial.Notification
	}{
		{"tipo=answer&ramal_sai=3501&numero_sai=8540050500",
			httpdial.Notification{Event: "answer", Direction: httpdial.Outbound, Origin: "3501", Destination: "8540050500"}},
		{"tipo=end&de=8532221111&para=3502&gravacao=https%3A%2F%2Fpbx%2Fr.wav&id=77",
			httpdial.Notification{Event: "end", Direction: httpdial.Inbound, Origin: "8532221111", Destination: "3502", Audio: "https://pbx/r.wav", CallID: "77"}},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		got, err := v.Parse(q.Get)
		if err != nil || got != c.want {
			t.Errorf("Parse(%s) = %+v, %v; want %+v", c.query, got, err, c.want)
		}
		if back := v.Values(got); back.Encode() != q.Encode() {
			t.Errorf("Values(%+v) = %s, want %s", got, back.Encode(), q.Encode())
		}
	}
	d := newDriver(t, httpdial.Config{Host: "pbx.example", Vars: httpdial.Vars{Event: "tipo", Origin: "de", Destination: "para", OriginOut: "ramal_sai", DestinationOut: "numero_sai", Audio: "gravacao"}})
	if d.Vars() != v {
		t.Fatalf("the driver's Vars = %+v, want %+v", d.Vars(), v)
	}
	for _, bad := range []string{"", "tipo=ringing", "tipo=ringing&origem=1&destino=3502", "tipo=x&para=3502"} {
		q, _ := url.ParseQuery(bad)
		if _, err := v.Parse(q.Get); !errors.Is(err, httpdial.ErrBadNotification) {
			t.Errorf("Parse(%q) = %v, want ErrBadNotification", bad, err)
		}
	}
}
