package relay

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// decodeAll drains d and writes each result as a line: "frame <a><b>$",
// "error login=... at N: reason" for a skipped frame, then the terminal error.
// It gives up after limit calls so a decoder that stops progressing fails
// instead of hanging.
func decodeAll(t testing.TB, d *Decoder, limit int) []string {
	t.Helper()
	var out []string
	for range limit {
		f, err := d.Next()
		if err == nil {
			out = append(out, "frame "+f.String())
			continue
		}
		if f != nil {
			t.Errorf("Next returned frame %q with error %v", f, err)
		}
		var fe *FrameError
		if errors.As(err, &fe) {
			if !errors.Is(err, ErrFrame) {
				t.Errorf("errors.Is(%v, ErrFrame) = false", err)
			}
			out = append(out, fmt.Sprintf("error login=%q at %d: %s", fe.Login, fe.Offset, fe.Reason))
			continue
		}
		if err == io.EOF {
			return append(out, "EOF")
		}
		return append(out, "read error: "+err.Error())
	}
	t.Fatalf("decoder still returning results after %d calls: %q", limit, out)
	return nil
}

// chunkReader hands out data in the chunk sizes next chooses.
type chunkReader struct {
	data string
	next func() int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.next(), len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// readersOf returns the same stream cut in many ways: whole, one byte at a
// time, at every single split point, and in seeded random chunks.
func readersOf(s string) map[string]func() io.Reader {
	rs := map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(s) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
	}
	for i := 1; i < len(s); i++ {
		rs[fmt.Sprintf("split at %d", i)] = func() io.Reader {
			return io.MultiReader(strings.NewReader(s[:i]), strings.NewReader(s[i:]))
		}
	}
	for seed := range uint64(20) {
		rs[fmt.Sprintf("random chunks seed %d", seed)] = func() io.Reader {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			return &chunkReader{data: s, next: func() int { return 1 + rng.IntN(9) }}
		}
	}
	return rs
}

func TestDecoder(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 40)
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{name: "empty stream", in: "", want: []string{"EOF"}},
		{name: "only whitespace", in: " \r\n\t\r\n", want: []string{"EOF"}},
		{name: "one frame", in: "<jose><L><ON>$", want: []string{"frame <jose><L><ON>$", "EOF"}},
		{
			name: "several frames in one read",
			in:   "<jose><L><ON>$<jose><S>$<maria><P><ON><1>$",
			want: []string{"frame <jose><L><ON>$", "frame <jose><S>$", "frame <maria><P><ON><1>$", "EOF"},
		},
		{
			name: "CR/LF and whitespace between frames",
			in:   "\r\n<jose><S>$\r\n\t <maria><S>$ \r\n",
			want: []string{"frame <jose><S>$", "frame <maria><S>$", "EOF"},
		},
		{
			name: "whitespace and stray '>' between fields",
			in:   "<jose> <P>\r\n<ON>>> ><1> $",
			want: []string{"frame <jose><P><ON><1>$", "EOF"},
		},
		{
			name: "dollar and '<' inside fields",
			in:   `<jose><G><c:\a$b.wav>$<$><$$><a<b>$`,
			want: []string{`frame <jose><G><c:\a$b.wav>$`, "frame <$><$$><a<b>$", "EOF"},
		},
		{name: "empty fields", in: "<><>$", want: []string{"frame <><>$", "EOF"}},
		{
			name: "dialer attach info",
			in:   "<Agente><A><15068><0><9988><0><7017><>><dialer.ExternalID=15068;>$",
			want: []string{"frame <Agente><A><15068><0><9988><0><7017><><dialer.ExternalID=15068;>$", "EOF"},
		},
		{
			name: "garbage before a frame",
			in:   "xx<jose><S>$",
			want: []string{`error login="" at 0: 2 unexpected bytes outside a frame`, "frame <jose><S>$", "EOF"},
		},
		{
			name: "garbage between frames",
			in:   "<a><S>$junk<b><S>$",
			want: []string{"frame <a><S>$", `error login="" at 7: 4 unexpected bytes outside a frame`, "frame <b><S>$", "EOF"},
		},
		{
			name: "garbage between frames after whitespace",
			in:   "<a><S>$ junk<b><S>$",
			want: []string{"frame <a><S>$", `error login="" at 8: 4 unexpected bytes outside a frame`, "frame <b><S>$", "EOF"},
		},
		{
			name: "garbage with whitespace inside",
			in:   "<a><S>$ ju nk <b><S>$",
			want: []string{"frame <a><S>$", `error login="" at 8: 4 unexpected bytes outside a frame`, "frame <b><S>$", "EOF"},
		},
		{
			name: "a lone dollar between frames",
			in:   "<a><S>$$<b><S>$",
			want: []string{"frame <a><S>$", `error login="" at 7: 1 unexpected bytes outside a frame`, "frame <b><S>$", "EOF"},
		},
		{
			name: "garbage at the end",
			in:   "<a><S>$xyz",
			want: []string{"frame <a><S>$", `error login="" at 7: 3 unexpected bytes outside a frame`, "EOF"},
		},
		{
			name: "garbage between fields",
			in:   "<jose>x<S>$<maria><S>$",
			want: []string{`error login="jose" at 6: unexpected 'x' between fields`, "frame <maria><S>$", "EOF"},
		},
		{
			name: "garbage between fields, dollar in a later field",
			in:   "<jose>x<G><a$b>$<maria><S>$",
			want: []string{`error login="jose" at 6: unexpected 'x' between fields`, "frame <maria><S>$", "EOF"},
		},
		{
			name: "garbage after the login field, second frame follows",
			in:   "<a><S>$<jose>;;<S>$<b><S>$",
			want: []string{"frame <a><S>$", `error login="jose" at 13: unexpected ';' between fields`, "frame <b><S>$", "EOF"},
		},
		{
			name: "stream ends inside a frame",
			in:   "<a><S>$<jose><S>",
			want: []string{"frame <a><S>$", `error login="jose" at 7: stream ended inside a frame`, "EOF"},
		},
		{
			name: "stream ends inside a field",
			in:   "<jose><S",
			want: []string{`error login="jose" at 0: stream ended inside a frame`, "EOF"},
		},
		{
			name: "stream ends inside the login",
			in:   "\r\n<jos",
			want: []string{`error login="" at 2: stream ended inside a frame`, "EOF"},
		},
		{
			name: "stream ends while skipping a broken frame",
			in:   "<jose>x<S>",
			want: []string{`error login="jose" at 6: unexpected 'x' between fields`, "EOF"},
		},
		{
			// On a stream "<$" opens a field; only a whole row may end in it.
			name: "trailing <$ at the end of a stream",
			in:   "<jose><TR><17/08/2010 15:00><><$",
			want: []string{`error login="jose" at 0: stream ended inside a frame`, "EOF"},
		},
		{
			name: "trailing <$ followed by a frame",
			in:   "<jose><TR><17/08/2010 15:00><><$\r\n<jose><S>$",
			want: []string{"frame <jose><TR><17/08/2010 15:00><><$\r\n<jose><S>$", "EOF"},
		},
		{
			name: "oversized frame, then a good one",
			in:   "<jose><G><" + big + ">$<maria><S>$", max: 32,
			want: []string{`error login="jose" at 0: frame too large: over 32 bytes`, "frame <maria><S>$", "EOF"},
		},
		{
			name: "oversized login, then a good one",
			in:   "<" + big + "><S>$<maria><S>$", max: 32,
			want: []string{`error login="" at 0: frame too large: over 32 bytes`, "frame <maria><S>$", "EOF"},
		},
		{
			// Over 4096 the buffer grows past the limit, and the '>' of a
			// login longer than the limit may already be in it.
			name: "login longer than a large limit",
			in:   "<" + strings.Repeat("x", 4150) + "><S>$<maria><S>$", max: 4100,
			want: []string{`error login="" at 0: frame too large: over 4100 bytes`, "frame <maria><S>$", "EOF"},
		},
		{
			name: "oversized by many fields",
			in:   "<jose>" + strings.Repeat("<a>", 20) + "$<maria><S>$", max: 32,
			want: []string{`error login="jose" at 0: frame too large: over 32 bytes`, "frame <maria><S>$", "EOF"},
		},
		{
			name: "oversized by whitespace between fields",
			in:   "<jose><S>" + strings.Repeat(" ", 40) + "$<maria><S>$", max: 32,
			want: []string{`error login="jose" at 0: frame too large: over 32 bytes`, "frame <maria><S>$", "EOF"},
		},
		{
			name: "oversized frame after a good one",
			in:   "<a><S>$ <jose><G><" + big + ">$", max: 32,
			want: []string{"frame <a><S>$", `error login="jose" at 8: frame too large: over 32 bytes`, "EOF"},
		},
		{
			name: "oversized frame that never ends",
			in:   "<jose><G><" + big, max: 32,
			want: []string{`error login="jose" at 0: frame too large: over 32 bytes`, "EOF"},
		},
		{
			name: "frame of exactly the limit",
			in:   "<jose><G><" + strings.Repeat("x", 20) + ">$", max: 32,
			want: []string{"frame <jose><G><" + strings.Repeat("x", 20) + ">$", "EOF"},
		},
		{
			name: "frame one byte over the limit",
			in:   "<jose><G><" + strings.Repeat("x", 21) + ">$<b><S>$", max: 32,
			want: []string{`error login="jose" at 0: frame too large: over 32 bytes`, "frame <b><S>$", "EOF"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for how, r := range readersOf(tt.in) {
				got := decodeAll(t, NewDecoder(r(), tt.max), len(tt.in)+3)
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("%s: decoding %q\n got %q\nwant %q", how, tt.in, got, tt.want)
				}
			}
		})
	}
}

// The frames of the document, one after another on a socket, come out as
// Parse reads them one by one, however the stream is cut.
func TestDecoderTactiumExamples(t *testing.T) {
	t.Parallel()
	var stream strings.Builder
	var want []string
	for i, e := range loadTactiumExamples(t) {
		if strings.HasSuffix(e.Frame, "<$") {
			continue // only a whole row may end in "<$"
		}
		f, err := Parse(e.Frame)
		if err != nil {
			t.Fatalf("Parse(%q): %v", e.Frame, err)
		}
		want = append(want, "frame "+f.String())
		stream.WriteString(e.Frame)
		stream.WriteString([]string{"", "\r\n", "\n", " "}[i%4])
	}
	want = append(want, "EOF")
	s := stream.String()
	for how, r := range readersOf(s) {
		if got := decodeAll(t, NewDecoder(r(), 0), len(want)+1); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %q\nwant %q", how, got, want)
		}
	}
}

func TestDecoderTooLargeWrapsErrTooLarge(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("<jose><G><"+strings.Repeat("x", 100)+">$"), 32)
	_, err := d.Next()
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrFrame) {
		t.Fatalf("Next() = %v, want an error wrapping ErrTooLarge and ErrFrame", err)
	}
	if p := AsProtocolError(err); p.Code != CodeTooLarge {
		t.Fatalf("AsProtocolError(%v).Code = %s, want %s", err, p.Code, CodeTooLarge)
	}
}

func TestDecoderDefaultLimit(t *testing.T) {
	t.Parallel()
	for _, max := range []int{0, -1} {
		if d := NewDecoder(strings.NewReader(""), max); d.max != DefaultMaxFrame {
			t.Errorf("NewDecoder(r, %d) limit = %d, want %d", max, d.max, DefaultMaxFrame)
		}
	}
	exact := "<jose><G><" + strings.Repeat("x", DefaultMaxFrame-12) + ">$"
	if got := decodeAll(t, NewDecoder(strings.NewReader(exact), 0), 3); !reflect.DeepEqual(got, []string{"frame " + exact, "EOF"}) {
		t.Errorf("a frame of DefaultMaxFrame bytes: %.60q", got)
	}
	over := "<jose><G><" + strings.Repeat("x", DefaultMaxFrame) + ">$"
	want := []string{fmt.Sprintf(`error login="jose" at 0: frame too large: over %d bytes`, DefaultMaxFrame), "EOF"}
	if got := decodeAll(t, NewDecoder(strings.NewReader(over), 0), 3); !reflect.DeepEqual(got, want) {
		t.Errorf("a frame over DefaultMaxFrame: %.100q, want %q", got, want)
	}
}

// errAfterReader returns its data, then err, possibly in the same call.
type errAfterReader struct {
	data     string
	err      error
	together bool
}

func (r *errAfterReader) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 && (r.together || n == 0) {
		return n, r.err
	}
	return n, nil
}

func TestDecoderReadErrors(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset by peer")
	tests := []struct {
		name string
		in   string
		err  error
		want []string
	}{
		{name: "error at once", in: "", err: broken, want: []string{"read error: connection reset by peer"}},
		{name: "error after a frame", in: "<a><S>$", err: broken, want: []string{"frame <a><S>$", "read error: connection reset by peer"}},
		{
			name: "error inside a frame", in: "<a><S>$<jose><S", err: broken,
			want: []string{"frame <a><S>$", `error login="jose" at 7: stream ended inside a frame`, "read error: connection reset by peer"},
		},
		{
			name: "error after garbage", in: "<a><S>$zz", err: broken,
			want: []string{"frame <a><S>$", `error login="" at 7: 2 unexpected bytes outside a frame`, "read error: connection reset by peer"},
		},
		{name: "unexpected EOF", in: "<a><S>$", err: io.ErrUnexpectedEOF, want: []string{"frame <a><S>$", "read error: unexpected EOF"}},
	}
	for _, tt := range tests {
		for _, together := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/together=%t", tt.name, together), func(t *testing.T) {
				t.Parallel()
				d := NewDecoder(&errAfterReader{data: tt.in, err: tt.err, together: together}, 0)
				got := decodeAll(t, d, len(tt.in)+3)
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
				// The read error is passed through as is, and stays.
				for range 2 {
					if _, err := d.Next(); err != tt.err {
						t.Fatalf("Next() after the read error = %v, want %v", err, tt.err)
					}
				}
			})
		}
	}
}

func TestDecoderEOFStays(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("<a><S>$"), 0)
	if f, err := d.Next(); err != nil || f.String() != "<a><S>$" {
		t.Fatalf("Next() = %q, %v", f, err)
	}
	for range 3 {
		if f, err := d.Next(); err != io.EOF || f != nil {
			t.Fatalf("Next() at the end = %q, %v; want io.EOF", f, err)
		}
	}
}

// Decoded frames must not share memory with the decoder's buffer, which is
// reused for the next reads.
func TestDecoderFramesOutliveTheBuffer(t *testing.T) {
	t.Parallel()
	s := "<jose><S>$<maria><P><ON><1>$<ana><L><OFF>$"
	d := NewDecoder(iotest.OneByteReader(strings.NewReader(s)), 0)
	var frames []Frame
	for {
		f, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	want := []Frame{{"jose", "S"}, {"maria", "P", "ON", "1"}, {"ana", "L", "OFF"}}
	if !reflect.DeepEqual(frames, want) {
		t.Fatalf("frames = %q, want %q", frames, want)
	}
}

// repeatReader yields pattern over and over, n bytes in all.
type repeatReader struct {
	pattern string
	n       int
	at      int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	i := 0
	for i < len(p) && r.n > 0 {
		c := copy(p[i:min(len(p), i+r.n)], r.pattern[r.at:])
		r.at = (r.at + c) % len(r.pattern)
		i += c
		r.n -= c
	}
	return i, nil
}

// bufProbe records how large the decoder's buffers get: it looks at them
// every time the decoder asks for more input.
type bufProbe struct {
	r                io.Reader
	d                *Decoder
	maxLen, maxCap   int
	maxBounds, reads int
}

func (p *bufProbe) Read(b []byte) (int, error) {
	p.maxLen = max(p.maxLen, len(p.d.buf))
	p.maxCap = max(p.maxCap, cap(p.d.buf))
	p.maxBounds = max(p.maxBounds, cap(p.d.bounds))
	p.reads++
	return p.r.Read(b)
}

func TestDecoderMemoryBounded(t *testing.T) {
	t.Parallel()
	// Ten megabytes for the two plain cases; the others reach their steady
	// state within a few kilobytes, so one megabyte keeps -race runs short.
	const tenMB, oneMB = 10 << 20, 1 << 20
	tests := []struct {
		name          string
		head, pattern string
		tail          string
		n             int
		max           int
		oneByte       bool
		want          []string
	}{
		{
			name: "a field that never closes", head: "<jose><G><", pattern: "x", n: tenMB, tail: ">$<m><S>$",
			want: []string{`error login="jose" at 0: frame too large: over 8192 bytes`, "frame <m><S>$", "EOF"},
		},
		{
			name: "a login that never closes", head: "<", pattern: "jose", n: oneMB,
			want: []string{`error login="" at 0: frame too large: over 8192 bytes`, "EOF"},
		},
		{
			name: "fields without a dollar", head: "<jose>", pattern: "<a>", n: oneMB / 3 * 3, tail: "$<m><S>$",
			want: []string{`error login="jose" at 0: frame too large: over 8192 bytes`, "frame <m><S>$", "EOF"},
		},
		{
			name: "dollars inside a field", head: "<jose><", pattern: "$", n: oneMB, tail: ">$<m><S>$",
			want: []string{`error login="jose" at 0: frame too large: over 8192 bytes`, "frame <m><S>$", "EOF"},
		},
		{
			name: "stray angles between fields", head: "<jose>", pattern: ">", n: oneMB, tail: "$",
			want: []string{`error login="jose" at 0: frame too large: over 8192 bytes`, "EOF"},
		},
		{
			name: "whitespace between fields", head: "<jose><S>", pattern: " \r\n", n: oneMB / 3 * 3,
			want: []string{`error login="jose" at 0: frame too large: over 8192 bytes`, "EOF"},
		},
		{
			name: "garbage outside frames", pattern: "garbage;", n: tenMB, tail: "<m><S>$",
			want: []string{`error login="" at 0: 10485760 unexpected bytes outside a frame`, "frame <m><S>$", "EOF"},
		},
		{
			name: "whitespace outside frames", pattern: "\r\n", n: oneMB, tail: "<m><S>$",
			want: []string{"frame <m><S>$", "EOF"},
		},
		{
			name: "small limit, one byte at a time", head: "<jose><G><", pattern: "x", n: 100 << 10, tail: ">$<m><S>$",
			max: 64, oneByte: true,
			want: []string{`error login="jose" at 0: frame too large: over 64 bytes`, "frame <m><S>$", "EOF"},
		},
		{
			name: "small limit, many small fields one byte at a time", head: "<jose>", pattern: "<>", n: 100 << 10, tail: "$<m><S>$",
			max: 64, oneByte: true,
			want: []string{`error login="jose" at 0: frame too large: over 64 bytes`, "frame <m><S>$", "EOF"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = io.MultiReader(strings.NewReader(tt.head), &repeatReader{pattern: tt.pattern, n: tt.n}, strings.NewReader(tt.tail))
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			probe := &bufProbe{r: r}
			probe.d = NewDecoder(probe, tt.max)
			limit := probe.d.max
			got := decodeAll(t, probe.d, 10)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if probe.reads < tt.n/(2*limit+2) {
				t.Fatalf("only %d reads for %d bytes: the probe saw too little", probe.reads, tt.n)
			}
			if probe.maxLen > 2*limit+2 || probe.maxCap > 2*limit+2 {
				t.Fatalf("buffer reached len %d, cap %d with a %d-byte limit", probe.maxLen, probe.maxCap, limit)
			}
			if probe.maxBounds > 2*limit+2 {
				t.Fatalf("field bounds reached cap %d with a %d-byte limit", probe.maxBounds, limit)
			}
		})
	}
}
