package signalr

import (
	"encoding/json"
	"strconv"
	"testing"
)

// invocation is a hub call from the client as encoding/json writes it.
type invocation struct {
	H string            `json:"H"`
	M string            `json:"M"`
	A []json.RawMessage `json:"A"`
	I string            `json:"I"`
}

// The hand-rolled invocation is byte for byte what encoding/json writes.
func TestAppendInvocationIsJSONMarshal(t *testing.T) {
	t.Parallel()
	type pair struct{ A, B int }
	for _, args := range [][]any{
		nil,
		{},
		{7},
		{-3, int64(1) << 40},
		{"11987654321", 1},
		{"Disponível", "a\"b\\c", "<x>&y", "tab\tline\n", "\u2028"},
		{true, false, nil},
		{pair{1, 2}, map[string]int{"k": 1}, []string{"x"}, 1.5},
	} {
		got, err := appendInvocation(nil, "atendimentohub", "Discar", args, 42)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		inv := invocation{H: "atendimentohub", M: "Discar", A: make([]json.RawMessage, len(args)), I: "42"}
		for i, a := range args {
			inv.A[i], _ = json.Marshal(a)
		}
		want, _ := json.Marshal(inv)
		if string(got) != string(want) {
			t.Errorf("args %v:\n got %s\nwant %s", args, got, want)
		}
	}
	if _, err := appendInvocation(nil, "h", "M", []any{func() {}}, 1); err == nil {
		t.Error("a function argument encoded")
	}
}

// parseResult takes the result frames and leaves every other frame to
// encoding/json.
func TestParseResult(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
		id uint64
		r  string
	}{
		{`{"I":"12"}`, true, 12, ""},
		{`{"I":"12","R":null}`, true, 12, "null"},
		{`{"R":{"a":[1,"}"]},"I":"3"}`, true, 3, `{"a":[1,"}"]}`},
		{` { "I" : 7 , "R" : "x\"y" } `, true, 7, `"x\"y"`},
		{`{"I":"18446744073709551615","R":true}`, true, 18446744073709551615, "true"},
		{`{"I":"1","E":"boom","H":true}`, false, 0, ""}, // an error
		{`{"I":"1","R":1,"S":{"x":1}}`, false, 0, ""},   // hub state
		{`{"P":{"I":"1","D":5}}`, false, 0, ""},         // progress
		{`{"C":"d-1","M":[]}`, false, 0, ""},            // persistent response
		{`{"I":"x1"}`, false, 0, ""},                    // not a number
		{`{"I":"1","R":[1,}`, false, 0, ""},             // broken
		{`{"I":"1","R":tru}`, false, 0, ""},             // invalid literal
		{`{"I":"1"`, false, 0, ""},
		{`{}`, false, 0, ""},
		{`[]`, false, 0, ""},
		{`{"I":"1"}x`, false, 0, ""},
	} {
		id, r, ok := parseResult([]byte(tc.in))
		if ok != tc.ok || id != tc.id || string(r) != tc.r {
			t.Errorf("parseResult(%s) = %d, %q, %v; want %d, %q, %v", tc.in, id, r, ok, tc.id, tc.r, tc.ok)
		}
		if ok {
			var f frame // what the general path reads agrees
			if err := json.Unmarshal([]byte(tc.in), &f); err != nil {
				t.Errorf("%s: %v", tc.in, err)
			}
			if n, _ := id2(f.I); n != id || string(f.R) != tc.r {
				t.Errorf("%s: encoding/json reads I=%s R=%s", tc.in, f.I, f.R)
			}
		}
	}
}

func id2(raw json.RawMessage) (uint64, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strconv.ParseUint(s, 10, 64)
	}
	return strconv.ParseUint(string(raw), 10, 64)
}

// The invocation path allocates little: the budget is what the pooled
// buffers leave (a regression to encoding/json costs a dozen more).
func TestAppendInvocationAllocs(t *testing.T) {
	b := make([]byte, 0, 256)
	args := []any{"11987654321", 1}
	if n := testing.AllocsPerRun(100, func() { b, _ = appendInvocation(b[:0], "atendimentohub", "Discar", args, 42) }); n != 0 {
		t.Errorf("appendInvocation: %v allocations, want 0", n)
	}
	data := []byte(`{"I":"42"}`)
	if n := testing.AllocsPerRun(100, func() { _, _, _ = parseResult(data) }); n != 0 {
		t.Errorf("parseResult: %v allocations, want 0", n)
	}
}

// A result carrying hub state ("S" an object, which the general path
// reads) reaches its caller; S was once read as the initialising number,
// and such a frame was dropped as unreadable.
func TestResultWithHubState(t *testing.T) {
	t.Parallel()
	c, err := New(Config{URL: "http://127.0.0.1:1/signalr", Hub: "AtendimentoHub"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ frame, want string }{
		{`{"S":{"n":1},"R":42,"I":"3"}`, "42"},
		{`{"I":"3","R":{"a":"b"}}`, `{"a":"b"}`},
		{`{"I":"3"}`, ""},
	} {
		cn := &conn{pending: map[uint64]*pending{}}
		p := newPending(nil)
		cn.add(3, p)
		buf := []byte(tc.frame)
		if err := c.handle(cn, buf); err != nil {
			t.Fatalf("%s: %v", tc.frame, err)
		}
		select {
		case <-p.done:
		default:
			t.Fatalf("%s: the caller got nothing", tc.frame)
		}
		clear(buf) // the read buffer is reused: the result must not alias it
		if string(p.result) != tc.want || p.err != nil {
			t.Errorf("%s: result %s, %v; want %s", tc.frame, p.result, p.err, tc.want)
		}
	}
}
