package tactiumserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// FuzzServerChunks sends arbitrary bytes in arbitrary chunks. The server must
// never panic or stall, must answer every frame or bad run of bytes with
// exactly one well-formed frame, and must keep serving other clients.
func FuzzServerChunks(f *testing.F) {
	for _, seed := range documentFrames(f) {
		f.Add([]byte(seed), []byte{3, 1, 7})
	}
	f.Add([]byte("<jose><S>$\r\n<jose><P><ON><1>$<ADMSOCKET><L><ON>$"), []byte{1})
	f.Add([]byte("xx<jose>y<S>$$$<<<>>>$<"+strings.Repeat("z", 100)+">$<jose"), []byte{5, 0, 200})
	f.Add([]byte("<jos\xe9><S>$<\xff\xfe><A><><1>$"), []byte{2})

	srv := startServer(f, &Server{Limits: Limits{MaxFrameBytes: 64}})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		if len(data) > 64<<10 {
			return
		}
		nc, err := net.DialTimeout("tcp", srv.ListenAddr().String(), safety)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(safety))
		got := make(chan []byte, 1)
		go func() {
			var buf bytes.Buffer
			_, _ = io.Copy(&buf, nc)
			got <- buf.Bytes()
		}()
		for rest, i := data, 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(n, int(cuts[i%len(cuts)])+1)
			}
			if _, err := nc.Write(rest[:n]); err != nil {
				t.Fatalf("write: %v", err)
			}
			rest = rest[n:]
		}
		_ = nc.(*net.TCPConn).CloseWrite()
		out := <-got
		want := answersExpected(t, data, 64)
		if n, err := countFrames(out); err != nil || n != want {
			t.Fatalf("server answered %q: %d frames (err %v), want %d", out, n, err, want)
		}
		c := dial(t, srv)
		c.RoundTrip("<probe><S>$", "<probe><S><1>$")
	})
}

// answersExpected is how many items (frames and errors) a decoder with the
// server's limit reads from data: each gets exactly one answer.
func answersExpected(t *testing.T, data []byte, max int) int {
	dec := relay.NewDecoder(bytes.NewReader(data), max)
	for n := 0; ; n++ {
		if _, err := dec.Next(); err != nil && !errors.Is(err, relay.ErrFrame) {
			if err != io.EOF {
				t.Fatalf("reference decoder: %v", err)
			}
			return n
		}
	}
}

// countFrames checks that out is nothing but well-formed frames.
func countFrames(out []byte) (int, error) {
	dec := relay.NewDecoder(bytes.NewReader(out), 1<<20)
	for n := 0; ; n++ {
		_, err := dec.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// documentFrames are the Tactium document's examples, the fuzzer's seeds.
func documentFrames(t testing.TB) []string {
	file, err := os.Open("../../testdata/frames/tactium.txt")
	if err != nil {
		t.Fatalf("seeds: %v", err)
	}
	defer file.Close()
	var out []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '<'); i >= 0 && !strings.HasPrefix(line, "#") {
			out = append(out, line[i:])
		}
	}
	return out
}
