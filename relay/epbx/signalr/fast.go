package signalr

import (
	"encoding/json"
	"math"
	"strconv"
	"sync"

	"github.com/ctirelay/ctirelay/relay/epbx/internal/jsonscan"
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
// encoding/json writes a struct of those fields in that order (a test
// compares them).
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
	good := jsonscan.Object(data, func(k, v []byte) bool {
		// A repeated key goes to encoding/json, which reads (and checks)
		// every value, not only the last.
		switch {
		case len(k) == 1 && k[0] == 'I' && idRaw == nil:
			idRaw = v
		case len(k) == 1 && k[0] == 'R' && r == nil:
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
	} else if len(idRaw) > 1 && idRaw[0] == '0' {
		return 0, nil, false // 007 is no JSON number
	}
	if len(idRaw) == 0 || len(idRaw) > 20 {
		return 0, nil, false
	}
	for _, c := range idRaw {
		d := uint64(c - '0')
		if c < '0' || c > '9' || n > (math.MaxUint64-d)/10 {
			return 0, nil, false // an overflowing id is no invocation's: encoding/json refuses it too
		}
		n = n*10 + d
	}
	if r != nil && !json.Valid(r) {
		return 0, nil, false
	}
	return n, r, true
}
