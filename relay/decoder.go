package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxFrame bounds one frame on sockets, in files and in table rows.
const DefaultMaxFrame = 8 << 10

// ErrTooLarge is wrapped by the FrameError returned for a frame over the limit.
var ErrTooLarge = errors.New("frame too large")

// Decoder reads frames from a byte stream such as a TCP connection. Frames may
// arrive split across reads or several in one read; whitespace between frames
// is ignored. After garbage, a broken frame or an oversized one it returns a
// *FrameError and resynchronises on the next frame, so a caller keeps calling
// Next until it gets io.EOF or a read error. Memory is bounded by the frame
// limit whatever the input.
type Decoder struct {
	r   io.Reader
	max int

	buf []byte
	pos int // next byte to look at

	inFrame   bool
	inField   bool
	start     int   // offset of the frame's '<' in buf
	fieldAt   int   // offset of the current field's first byte
	bounds    []int // start,end offsets of closed fields, relative to start
	skipping  error // a broken frame being skipped up to its '$'
	login     string
	garbage   int // bytes of garbage seen outside frames, not yet reported
	garbageAt int // stream offset of the first of them
	readErr   error
	consumed  int64 // bytes of the stream before buf[0]
}

// NewDecoder returns a decoder reading from r with frames of at most max bytes
// (DefaultMaxFrame when max <= 0).
func NewDecoder(r io.Reader, max int) *Decoder {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	size := 4096
	if max+1 < size {
		size = max + 1
	}
	return &Decoder{r: r, max: max, buf: make([]byte, 0, size)}
}

// Next returns the next frame. An error wrapping ErrFrame reports one bad
// frame (or a run of garbage) that was skipped; the stream goes on. io.EOF means
// the stream ended cleanly between frames.
func (d *Decoder) Next() (Frame, error) {
	for {
		if f, err, ok := d.step(); ok {
			return f, err
		}
		if d.readErr != nil {
			return d.finish()
		}
		d.fill()
	}
}

// finish reports what is left when the reader has failed or ended.
func (d *Decoder) finish() (Frame, error) {
	if d.garbage > 0 {
		return nil, d.garbageError()
	}
	if d.inFrame || d.skipping != nil {
		err := d.skipping
		if err == nil {
			err = &FrameError{Offset: d.offset(d.start), Reason: "stream ended inside a frame", Login: d.currentLogin()}
		}
		d.reset()
		return nil, err
	}
	return nil, d.readErr
}

func (d *Decoder) offset(i int) int { return int(d.consumed) + i }

// step scans buffered bytes; ok is false when more input is needed.
func (d *Decoder) step() (Frame, error, bool) {
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case !d.inFrame && d.skipping == nil:
			if c == '<' {
				if d.garbage > 0 {
					return nil, d.garbageError(), true
				}
				d.inFrame, d.inField = true, true
				d.start, d.fieldAt = d.pos, d.pos+1
				d.bounds = d.bounds[:0]
				d.login = ""
				d.pos++
				continue
			}
			if !isSpace(c) {
				if d.garbage == 0 {
					d.garbageAt = d.offset(d.pos)
				}
				d.garbage++
			}
			d.pos++
		case d.inField:
			// Look no further than the size limit, so an oversized first
			// field never becomes a login.
			end := len(d.buf)
			if d.skipping == nil {
				end = min(end, d.start+d.max+1)
			}
			i := bytes.IndexByte(d.buf[d.pos:end], '>')
			if i < 0 {
				d.pos = end
				break
			}
			d.pos += i
			if d.skipping == nil {
				d.bounds = append(d.bounds, d.fieldAt-d.start, d.pos-d.start)
				if len(d.bounds) == 2 {
					d.login = string(d.buf[d.fieldAt:d.pos])
				}
			}
			d.inField = false
			d.pos++
		default: // between fields of a frame, or skipping one
			switch {
			case c == '$':
				d.pos++
				if d.skipping == nil && d.pos-d.start > d.max {
					d.skipping = d.tooLarge()
				}
				if d.skipping != nil {
					err := d.skipping
					d.reset()
					return nil, err, true
				}
				f := d.frame()
				d.reset()
				return f, nil, true
			case c == '<':
				d.inField = true
				d.fieldAt = d.pos + 1
			case c == '>' || isSpace(c):
			default:
				if d.skipping == nil {
					d.skipping = &FrameError{Offset: d.offset(d.pos), Reason: fmt.Sprintf("unexpected %q between fields", c), Login: d.login}
				}
			}
			d.pos++
		}
		if d.inFrame && d.skipping == nil && d.pos-d.start > d.max {
			d.skipping = d.tooLarge()
		}
	}
	return nil, nil, false
}

func (d *Decoder) currentLogin() string {
	if d.login != "" || len(d.bounds) > 0 {
		return d.login
	}
	return ""
}

func (d *Decoder) garbageError() error {
	n := d.garbage
	d.garbage = 0
	return &FrameError{Offset: d.garbageAt, Reason: fmt.Sprintf("%d unexpected bytes outside a frame", n)}
}

func (d *Decoder) tooLarge() *FrameError {
	return &FrameError{Offset: d.offset(d.start), Reason: fmt.Sprintf("%v: over %d bytes", ErrTooLarge, d.max), Login: d.currentLogin(), Err: ErrTooLarge}
}

func (d *Decoder) frame() Frame {
	s := string(d.buf[d.start:d.pos])
	f := make(Frame, len(d.bounds)/2)
	for i := range f {
		f[i] = s[d.bounds[2*i]:d.bounds[2*i+1]]
	}
	return f
}

func (d *Decoder) reset() {
	d.inFrame, d.inField, d.skipping = false, false, nil
	d.bounds = d.bounds[:0]
	d.login = ""
}

// fill compacts the buffer, keeping only the frame being read, and reads more.
func (d *Decoder) fill() {
	keep := d.pos
	if d.inFrame && d.skipping == nil {
		keep = d.start
	}
	if keep > 0 {
		n := copy(d.buf, d.buf[keep:])
		d.buf = d.buf[:n]
		d.consumed += int64(keep)
		d.pos -= keep
		d.start -= keep
		d.fieldAt -= keep
	}
	if len(d.buf) == cap(d.buf) {
		grown := make([]byte, len(d.buf), 2*cap(d.buf))
		copy(grown, d.buf)
		d.buf = grown
	}
	n, err := d.r.Read(d.buf[len(d.buf):cap(d.buf)])
	d.buf = d.buf[:len(d.buf)+n]
	if err != nil {
		d.readErr = err
	}
}
