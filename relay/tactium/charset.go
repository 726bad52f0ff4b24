package tactium

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/ctirelay/ctirelay/relay"
)

// Charset is the character set of the bytes on the socket. Inside the relay
// text is UTF-8; Windows-1252 is common on Tactium installations. The zero
// value is UTF-8.
type Charset struct {
	cm *charmap.Charmap // nil for UTF-8
}

// The supported charsets.
var (
	UTF8        = Charset{}
	Windows1252 = Charset{cm: charmap.Windows1252}
)

// ParseCharset reads a charset name: "utf-8" (the default, also "") or
// "windows-1252" (also "cp1252").
func ParseCharset(name string) (Charset, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utf-8", "utf8":
		return UTF8, nil
	case "windows-1252", "cp1252", "win1252":
		return Windows1252, nil
	}
	return UTF8, fmt.Errorf("unknown charset %q (use utf-8 or windows-1252)", name)
}

func (c Charset) String() string {
	if c.cm == nil {
		return "utf-8"
	}
	return "windows-1252"
}

// DecodeFrame turns the fields of a frame read from the wire into UTF-8.
// With UTF-8 on the wire, invalid bytes are an error (the ERR ENCODING reply);
// Windows-1252 maps every byte to a character.
func (c Charset) DecodeFrame(f relay.Frame) (relay.Frame, error) {
	if c.cm == nil {
		for i, s := range f {
			if !utf8.ValidString(s) {
				return nil, fmt.Errorf("field %d is not valid utf-8", i+1)
			}
		}
		return f, nil
	}
	out := make(relay.Frame, len(f))
	for i, s := range f {
		out[i] = c.decode(s)
	}
	return out, nil
}

func (c Charset) decode(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(c.cm.DecodeByte(s[i]))
	}
	return b.String()
}

// AppendFrame appends f, encoded for the wire, to b. Characters the charset
// cannot carry become '?': an event must still reach its reader.
func (c Charset) AppendFrame(b []byte, f relay.Frame) []byte {
	if c.cm == nil {
		return f.AppendTo(b)
	}
	enc := make(relay.Frame, len(f))
	for i, s := range f {
		enc[i] = c.encode(s)
	}
	return enc.AppendTo(b)
}

func (c Charset) encode(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := c.cm.EncodeRune(r); ok {
			out = append(out, b)
			continue
		}
		out = append(out, '?')
	}
	return string(out)
}
