package signalr

import (
	"encoding/json"
	"testing"
)

// The hand-rolled invocation is what encoding/json writes, for any
// strings and numbers (agent names, numbers typed by people, unicode,
// control characters, invalid UTF-8).
func FuzzAppendInvocation(f *testing.F) {
	for _, s := range []string{"", "11987654321", `a"b\c`, "<x>&y", "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe", "Disponível", `\u0000`} {
		f.Add("AtendimentoHub", "Discar", s, int64(1), uint64(7))
	}
	f.Fuzz(func(t *testing.T, hub, method, s string, n int64, id uint64) {
		got, err := appendInvocation(nil, hub, method, []any{s, n, int(n), s == "", nil}, id)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(struct {
			H string `json:"H"`
			M string `json:"M"`
			A []any  `json:"A"`
			I string `json:"I"`
		}{hub, method, []any{s, n, int(n), s == "", nil}, uintString(id)})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	})
}

func uintString(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// What parseResult accepts, encoding/json reads the same way: a frame is
// never taken for the result of another invocation, nor with another R.
func FuzzParseResult(f *testing.F) {
	for _, s := range []string{
		`{"I":"12"}`, `{"I":"12","R":null}`, `{"R":{"a":[1,"}"]},"I":"3"}`, ` { "I" : 7 , "R" : "x\"y" } `,
		`{"I":"18446744073709551615","R":true}`, `{"I":"99999999999999999999"}`, `{"I":"1","E":"boom","H":true}`,
		`{"I":"1","R":"\u0000\ud800"}`, `{"I":"1","I":"2"}`, `{"I":"1","R":[1,}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, r, ok := parseResult(data)
		if !ok {
			return
		}
		var fr frame
		if err := json.Unmarshal(data, &fr); err != nil {
			t.Fatalf("parseResult(%q) = %d, %s; encoding/json: %v", data, n, r, err)
		}
		m, idOK := id(fr.I)
		if !idOK || m != n {
			t.Errorf("parseResult(%q) id %d; encoding/json id %d (%v)", data, n, m, idOK)
		}
		if string(fr.R) != string(r) {
			t.Errorf("parseResult(%q) R %s; encoding/json R %s", data, r, fr.R)
		}
	})
}
