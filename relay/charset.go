package relay

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Charset is the character set of the bytes a transport carries (the Tactium
// socket, the spool files). Inside the relay text is UTF-8; Windows-1252 is
// common on Tactium installations and older ERPs. The zero value is UTF-8.
//
// Encoding has one policy: a character the charset cannot carry becomes '?'
// (ReplacementByte), so a reply or an event still reaches its reader; the
// journal keeps the original text. Decoding UTF-8 refuses invalid bytes (the
// ERR ENCODING reply); Windows-1252 decodes every byte.
type Charset struct {
	cm *charmap.Charmap // nil for UTF-8
}

// ReplacementByte stands for a character the charset cannot encode.
const ReplacementByte = '?'

// The supported charsets.
var (
	UTF8        = Charset{}
	Windows1252 = Charset{cm: charmap.Windows1252}
)

// charsetNames maps every accepted configuration name (lower case) to its
// charset; anything else is refused, so a typo never falls back silently.
var charsetNames = map[string]Charset{
	"":             UTF8,
	"utf-8":        UTF8,
	"utf8":         UTF8,
	"windows-1252": Windows1252,
	"windows1252":  Windows1252,
	"cp1252":       Windows1252,
	"win1252":      Windows1252,
}

// ParseCharset reads a charset name from the configuration: "utf-8" (the
// default, also "" and "utf8") or "windows-1252" (also "windows1252",
// "cp1252", "win1252"), in any case.
func ParseCharset(name string) (Charset, error) {
	if c, ok := charsetNames[strings.ToLower(strings.TrimSpace(name))]; ok {
		return c, nil
	}
	return UTF8, fmt.Errorf("unknown charset %q (use utf-8 or windows-1252)", name)
}

func (c Charset) String() string {
	if c.cm == nil {
		return "utf-8"
	}
	return "windows-1252"
}

// undefined1252 reports the five bytes Windows-1252 leaves undefined. They
// decode to the C1 control of the same value, as WHATWG's encoding standard
// does (x/text gives U+FFFD, which would not round-trip), and back.
func undefined1252(b byte) bool {
	return b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D
}

// DecodeFrame turns the fields of a frame read from the wire into UTF-8.
// With UTF-8 on the wire, invalid bytes are an error (the ERR ENCODING reply);
// Windows-1252 maps every byte to a character.
func (c Charset) DecodeFrame(f Frame) (Frame, error) {
	if c.cm == nil {
		for i, s := range f {
			if !utf8.ValidString(s) {
				return nil, fmt.Errorf("field %d is not valid utf-8", i+1)
			}
		}
		return f, nil
	}
	out := make(Frame, len(f))
	for i, s := range f {
		out[i] = c.decode(s)
	}
	return out, nil
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (c Charset) decode(s string) string {
	if ascii(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		if undefined1252(s[i]) {
			b.WriteRune(rune(s[i]))
			continue
		}
		b.WriteRune(c.cm.DecodeByte(s[i]))
	}
	return b.String()
}

// AppendFrame appends f, encoded for the wire, to b. A character the charset
// cannot carry becomes ReplacementByte.
func (c Charset) AppendFrame(b []byte, f Frame) []byte {
	if c.cm == nil {
		return f.AppendTo(b)
	}
	enc := make(Frame, len(f))
	for i, s := range f {
		enc[i] = c.encode(s)
	}
	return enc.AppendTo(b)
}

func (c Charset) encode(s string) string {
	if ascii(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x100 && undefined1252(byte(r)) {
			out = append(out, byte(r))
			continue
		}
		if b, ok := c.cm.EncodeRune(r); ok {
			out = append(out, b)
			continue
		}
		out = append(out, ReplacementByte)
	}
	return string(out)
}
