package signalr

import (
	"encoding/json"
	"strconv"
	"sync"
)

// The hot path of an invocation is hand-rolled: encoding/json's reflection
// was most of the allocations of a round trip (profile in
// docs/performance.md, EPBX). Anything the fast paths do not recognise
// falls back to encoding/json, so the wire format is unchanged.

// bufs holds the buffers of invocations being written and of frames being
// read; a buffer a large frame grew is not kept.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const keepBuf = 64 << 10

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > keepBuf {
		return
	}
	*b = (*b)[:0]
	bufs.Put(b)
}

// appendInvocation writes {"H":hub,"M":method,"A":[args…],"I":"id"}, as
// json.Marshal(invocation{…}) does.
func appendInvocation(b []byte, hub, method string, args []any, id uint64) ([]byte, error) {
	b = append(b, `{"H":`...)
	b = appendString(b, hub)
	b = append(b, `,"M":`...)
	b = appendString(b, method)
	b = append(b, `,"A":[`...)
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(b, a); err != nil {
			return b, &argError{i: i, err: err}
		}
	}
	b = append(b, `],"I":"`...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, `"}`...), nil
}

type argError struct {
	i   int
	err error
}

func (e *argError) Error() string { return "argument " + strconv.Itoa(e.i) + ": " + e.err.Error() }
func (e *argError) Unwrap() error { return e.err }

// appendValue writes v as json.Marshal would.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case nil:
		return append(b, "null"...), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, raw...), nil
}

// appendString quotes s; a string json.Marshal would escape (control
// characters, quotes, <, >, &, anything not ASCII) goes through it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s) // a string always marshals
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// parseResult recognises a hub result, {"I":"n"} with an optional "R"
// (in either order), the frame every invocation gets back. It returns
// ok=false for anything else (errors, progress, persistent responses,
// hub state), which the caller decodes with encoding/json. r aliases data.
func parseResult(data []byte) (n uint64, r json.RawMessage, ok bool) {
	var idRaw []byte
	good := fields(data, func(k, v []byte) bool {
		switch {
		case len(k) == 1 && k[0] == 'I':
			idRaw = v
		case len(k) == 1 && k[0] == 'R':
			r = v
		default:
			return false
		}
		return true
	})
	if !good || idRaw == nil {
		return 0, nil, false
	}
	if len(idRaw) >= 2 && idRaw[0] == '"' && idRaw[len(idRaw)-1] == '"' {
		idRaw = idRaw[1 : len(idRaw)-1]
	}
	if len(idRaw) == 0 || len(idRaw) > 20 {
		return 0, nil, false
	}
	for _, c := range idRaw {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		n = n*10 + uint64(c-'0')
	}
	if r != nil && !json.Valid(r) {
		return 0, nil, false
	}
	return n, r, true
}

// fields calls fn with each key (still quoted-free, only plain keys) and
// raw value of the JSON object data; false when data is not an object it
// can read or fn said stop. Keys with escapes are refused (not ours).
func fields(data []byte, fn func(k, v []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(data) && data[j] != '"' {
			if data[j] == '\\' {
				return false
			}
			j++
		}
		if j >= len(data) {
			return false
		}
		k := data[i+1 : j]
		i = skipSpace(data, j+1)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		end := skipValue(data, i)
		if end < 0 {
			return false
		}
		if !fn(k, data[i:end]) {
			return false
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value at i, -1 when unreadable.
// It finds the value's extent only; json.Valid checks what is kept.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				if i = skipString(data, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	j := i
	for j < len(data) {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	return -1 // a scalar cannot end the object
}

func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}
