package jsonscan

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// On arbitrary input, what Object and Array read as an object or array is
// one encoding/json reads, with the same members; they refuse only what
// their callers then give to encoding/json.
func FuzzObjectAndArray(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"x\"}","b":[1,{"c":"]"}],"d":null}`, `[1,"two",[3],{"f":4},null]`,
		`{"I":"1","R":[}`, `{"a":1}x`, `[1,]`, `{"a":"\u0000"}`, "{\"a\":\"\x01\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var keys []string
		var vals []string
		// Object finds extents: a value's validity, and control
		// characters or invalid UTF-8 in a key, are for its callers
		// to check (they compare keys with ASCII names).
		plain := func(k, v []byte) bool {
			return json.Valid(v) && utf8.Valid(k) && !slices.ContainsFunc(k, func(c byte) bool { return c < 0x20 })
		}
		if Object(data, func(k, v []byte) bool {
			keys, vals = append(keys, string(k)), append(vals, string(v))
			return plain(k, v)
		}) {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(data, &obj); err != nil {
				t.Fatalf("Object(%q) read %q; encoding/json: %v", data, keys, err)
			}
			for i, k := range keys {
				if _, ok := obj[k]; !ok {
					t.Errorf("Object(%q) key %q; encoding/json has %v", data, k, obj)
				}
				if i == lastIndex(keys, k) && string(obj[k]) != vals[i] {
					t.Errorf("Object(%q)[%q] = %s; encoding/json %s", data, k, vals[i], obj[k])
				}
			}
		}
		var elems []string
		if Array(data, func(e []byte) bool { elems = append(elems, string(e)); return json.Valid(e) }) {
			var arr []json.RawMessage
			if err := json.Unmarshal(data, &arr); err != nil {
				t.Fatalf("Array(%q) read %q; encoding/json: %v", data, elems, err)
			}
			var want []string
			for _, e := range arr {
				want = append(want, string(e))
			}
			if !slices.Equal(elems, want) {
				t.Errorf("Array(%q) = %q; encoding/json %q", data, elems, want)
			}
		}
	})
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}
