package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are every message of the shared frame files plus edge cases the
// grammar singles out.
func fuzzSeeds(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, e := range loadTactiumExamples(t) {
		out = append(out, e.Frame)
	}
	for _, e := range loadInvalidExamples(t) {
		out = append(out, e.Message)
	}
	return append(out,
		"", " ", "$", "<", ">", "<$", "<>$", "<<>>$", "<a><$\r\n", "<a><$<b>$",
		"\r\n<jose><S>$\r\n", "<jose>\x00<S>$", "<jos\xe9><S>$", "< ><S>$",
		"<jose><S>$<maria><S>$", "garbage<jose><S>$", "<jose>x<S>$<maria><S>$",
	)
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := Parse(s)
		if err != nil {
			var fe *FrameError
			if fr != nil || !errors.As(err, &fe) || !errors.Is(err, ErrFrame) {
				t.Fatalf("Parse(%q) = %q, %v (%T): want no fields and a *FrameError", s, fr, err, err)
			}
			if fe.Offset < 0 || fe.Offset > len(s) {
				t.Fatalf("Parse(%q): offset %d outside the input", s, fe.Offset)
			}
			return
		}
		if len(fr) == 0 {
			t.Fatalf("Parse(%q) = no fields and no error", s)
		}
		for _, field := range fr {
			if strings.Contains(field, ">") {
				t.Fatalf("Parse(%q) = field %q containing '>'", s, field)
			}
		}
		enc := fr.String()
		again, err := Parse(enc)
		if err != nil || !reflect.DeepEqual(again, fr) {
			t.Fatalf("Parse(%q) = %q; re-parsing its encoding %q = %q, %v", s, fr, enc, again, err)
		}
		if enc2 := again.String(); enc2 != enc {
			t.Fatalf("encoding is not stable: %q then %q", enc, enc2)
		}
		// A stream decoder reads the same frame, except that only a whole row
		// may end in the "<$" the Tactium document prints.
		if strings.HasSuffix(strings.TrimRight(s, " \t\r\n"), "<$") {
			return
		}
		d := NewDecoder(strings.NewReader(s), len(s)+1)
		df, err := d.Next()
		if err != nil || !reflect.DeepEqual(df, fr) {
			t.Fatalf("Parse(%q) = %q but the decoder reads %q, %v", s, fr, df, err)
		}
		if df, err := d.Next(); err != io.EOF {
			t.Fatalf("after the frame of %q the decoder reads %q, %v; want io.EOF", s, df, err)
		}
	})
}

// framesFromBytes derives a list of frames from arbitrary bytes: 0x00 ends a
// frame, 0x01 ends a field; '>' cannot be carried and is written as ')'.
func framesFromBytes(data []byte) []Frame {
	var out []Frame
	for _, fb := range bytes.Split(data, []byte{0}) {
		parts := bytes.Split(fb, []byte{1})
		f := make(Frame, len(parts))
		for i, p := range parts {
			f[i] = strings.ReplaceAll(string(p), ">", ")")
		}
		out = append(out, f)
	}
	return out
}

// bytesFromFrames is the inverse of framesFromBytes, to seed the fuzzer.
func bytesFromFrames(frames []Frame) []byte {
	var b []byte
	for i, f := range frames {
		if i > 0 {
			b = append(b, 0)
		}
		for j, s := range f {
			if j > 0 {
				b = append(b, 1)
			}
			b = append(b, s...)
		}
	}
	return b
}

func FuzzDecoder(f *testing.F) {
	seeds := fuzzSeeds(f)
	var all []Frame
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i), uint16(i*7))
		if fr, err := Parse(s); err == nil {
			all = append(all, fr)
			f.Add(bytesFromFrames([]Frame{fr}), uint8(i), uint16(len(s)))
		}
	}
	f.Add([]byte(strings.Join(seeds, "\r\n")), uint8(0), uint16(0))
	f.Add([]byte(strings.Join(seeds, "")), uint8(6), uint16(64))
	f.Add(bytesFromFrames(all), uint8(1), uint16(100))
	f.Add(bytesFromFrames(all), uint8(255), uint16(40))

	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, max uint16) {
		size := 1 + int(chunk)
		limit := 1 + int(max)%512

		// Any bytes: no panic, memory bounded, progress on every call, and
		// every frame within the limit.
		probe := &bufProbe{r: &chunkReader{data: string(data), next: func() int { return size }}}
		probe.d = NewDecoder(probe, limit)
		for calls := 0; ; calls++ {
			if calls > len(data)+2 {
				t.Fatalf("no end after %d calls on %d bytes", calls, len(data))
			}
			fr, err := probe.d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *FrameError
				if fr != nil || !errors.As(err, &fe) || !errors.Is(err, ErrFrame) {
					t.Fatalf("Next() = %q, %v (%T)", fr, err, err)
				}
				if fe.Offset < 0 || fe.Offset > len(data) {
					t.Fatalf("error offset %d outside %d bytes", fe.Offset, len(data))
				}
				continue
			}
			if len(fr) == 0 || len(fr.String()) > limit {
				t.Fatalf("Next() = %q with a %d-byte limit", fr, limit)
			}
		}
		if probe.maxLen > 2*limit+2 || probe.maxCap > 2*limit+2 {
			t.Fatalf("buffer reached len %d, cap %d with a %d-byte limit", probe.maxLen, probe.maxCap, limit)
		}

		// Valid frames, however cut and separated, come out exactly.
		frames := framesFromBytes(data)
		sep := []string{"", "\r\n", " ", "\n\t "}[int(chunk)%4]
		var stream strings.Builder
		starts := make([]int, len(frames))
		for i, fr := range frames {
			if i > 0 {
				stream.WriteString(sep)
			}
			starts[i] = stream.Len()
			stream.WriteString(fr.String())
		}
		s := stream.String()
		d := NewDecoder(&chunkReader{data: s, next: func() int { return size }}, len(s)+1)
		for i, want := range frames {
			got, err := d.Next()
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("frame %d of %q: got %q, %v; want %q", i, s, got, err, want)
			}
		}
		if got, err := d.Next(); err != io.EOF {
			t.Fatalf("after %d frames of %q: got %q, %v; want io.EOF", len(frames), s, got, err)
		}

		// With the small limit, frames over it are reported, with the login
		// when its field fitted, and the next frames still come out.
		d = NewDecoder(&chunkReader{data: s, next: func() int { return size }}, limit)
		for i, want := range frames {
			got, err := d.Next()
			n := len(want.String())
			if n <= limit {
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("frame %d (%d bytes, limit %d) of %q: got %q, %v; want %q", i, len(want.String()), limit, s, got, err, want)
				}
				continue
			}
			var fe *FrameError
			if !errors.As(err, &fe) || got != nil {
				t.Fatalf("frame %d (%d bytes, limit %d) of %q: got %q, %v; want too large", i, n, limit, s, got, err)
			}
			login := ""
			if len(want[0])+1 <= limit {
				login = want[0]
			}
			if fe.Reason != fmt.Sprintf("frame too large: over %d bytes", limit) || fe.Offset != starts[i] || fe.Login != login {
				t.Fatalf("frame %d (%d bytes) of %q: error %+v, want too large at %d with login %q", i, n, s, *fe, starts[i], login)
			}
		}
		if got, err := d.Next(); err != io.EOF {
			t.Fatalf("after %d frames of %q with limit %d: got %q, %v; want io.EOF", len(frames), s, limit, got, err)
		}
	})
}

// refusalCodes are the ERR codes admission can give.
var refusalCodes = []string{CodeMalformed, CodeTooLarge, CodeEncoding, CodeUnknownVerb, CodeBadArgs}

func FuzzAdmit(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint16(i*13))
	}
	f.Add("<jose><G><"+strings.Repeat("x", 100<<10)+">$", uint16(0))
	f.Fuzz(func(t *testing.T, raw string, max uint16) {
		limit := int(max) % 1024
		a := Admit(raw, limit)
		if limit == 0 {
			limit = DefaultMaxFrame
		}
		if a.Frame != raw {
			t.Fatalf("Frame = %q, want the message as received", a.Frame)
		}
		if len(a.Agent) > 256 || !utf8.ValidString(a.Agent) || strings.TrimSpace(a.Agent) != a.Agent {
			t.Fatalf("Admit(%q).Agent = %q: not usable as a routing key", raw, a.Agent)
		}
		if a.Err == nil {
			if len(raw) > limit || !utf8.ValidString(raw) || !slices.Contains(Verbs, a.Verb) || a.Reply() != nil {
				t.Fatalf("Admit(%q, %d) admitted %+v", raw, limit, a)
			}
			fr, err := Parse(raw)
			if err != nil {
				t.Fatalf("Admit(%q) admitted what Parse refuses: %v", raw, err)
			}
			cmd, err := ParseCommand(fr)
			if err != nil || cmd.Verb != a.Verb || strings.TrimSpace(cmd.Login) != a.Agent {
				t.Fatalf("Admit(%q) = %+v but ParseCommand = %+v, %v", raw, a, cmd, err)
			}
			return
		}
		if a.Verb != "" || !slices.Contains(refusalCodes, a.Err.Code) {
			t.Fatalf("Admit(%q) refused with verb %q, code %q", raw, a.Verb, a.Err.Code)
		}
		if (a.Err.Code == CodeTooLarge) != (len(raw) > limit) {
			t.Fatalf("Admit(%q, %d) = %s for %d bytes", raw, limit, a.Err.Code, len(raw))
		}
		if len(raw) <= limit && (a.Err.Code == CodeEncoding) == utf8.ValidString(raw) {
			t.Fatalf("Admit(%q) = %s, valid UTF-8 = %t", raw, a.Err.Code, utf8.ValidString(raw))
		}
		r := a.Reply()
		if (r == nil) != (a.Agent == "") {
			t.Fatalf("Admit(%q): agent %q, reply %q", raw, a.Agent, r)
		}
		if r == nil {
			return
		}
		back, err := Parse(r.String())
		if err != nil || len(back) != 4 || back[0] != a.Agent || back[1] != "ERR" || back[2] != a.Err.Code {
			t.Fatalf("ERR reply %q reads back as %q, %v", r.String(), back, err)
		}
	})
}
