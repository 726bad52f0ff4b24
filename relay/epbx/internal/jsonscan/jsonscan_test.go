package jsonscan

import (
	"encoding/json"
	"slices"
	"testing"
)

// Object and Array find what encoding/json finds, and refuse what it
// refuses to read as an object or array.
func TestObjectAndArray(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":"x\"}","b":[1,{"c":"]"}],"d":null}`,
		`{"a":true, "b" : -1.5e3 ,"c":{"d":[]}}`,
		`[]`, `[1,"two",[3],{"f":4},null]`, ` [ "a" , "b" ] `,
		`{"a":1`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{"a":1}x`, `{a:1}`, `[1,]`, `[1`, `"x"`, ``,
	} {
		var obj map[string]json.RawMessage
		objOK := json.Unmarshal([]byte(in), &obj) == nil
		got := map[string]string{}
		ok := Object([]byte(in), func(k, v []byte) bool { got[string(k)] = string(v); return true })
		if ok != objOK {
			t.Errorf("Object(%q) = %v, encoding/json %v", in, ok, objOK)
		}
		for k, v := range obj {
			if ok && got[k] != string(v) {
				t.Errorf("Object(%q)[%s] = %s, want %s", in, k, got[k], v)
			}
		}
		var arr []json.RawMessage
		arrOK := json.Unmarshal([]byte(in), &arr) == nil
		var elems []string
		ok = Array([]byte(in), func(e []byte) bool { elems = append(elems, string(e)); return true })
		if ok != arrOK {
			t.Errorf("Array(%q) = %v, encoding/json %v", in, ok, arrOK)
		}
		var want []string
		for _, e := range arr {
			want = append(want, string(e))
		}
		if ok && !slices.Equal(elems, want) {
			t.Errorf("Array(%q) = %q, want %q", in, elems, want)
		}
	}
}
