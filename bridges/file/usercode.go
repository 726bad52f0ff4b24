package spool

import (
	"strings"
)

// MaxUserCode bounds a user code (Protheus' are six digits).
const MaxUserCode = 64

// Ext is the extension of request and answer files.
const Ext = ".CTI"

// reserved are the Windows device names: a file called CON.CTI or NUL.CTI
// opens a device there, not a file.
var reserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true}

func init() {
	for _, d := range []string{"COM", "LPT"} {
		for _, n := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³"} {
			reserved[d+n] = true
		}
	}
}

// ValidUser reports whether code can name a user's files: 1 to MaxUserCode
// ASCII letters, digits, '_' and '-', and no Windows device name. So no path
// separator, no "..", no drive letter can come through it.
func ValidUser(code string) bool {
	if code == "" || len(code) > MaxUserCode || reserved[strings.ToUpper(code)] {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// userOf returns the user code of a file name <user>.CTI (the extension in
// any case, as Windows has it), or ok false.
func userOf(name string) (string, bool) {
	if len(name) <= len(Ext) || !strings.EqualFold(name[len(name)-len(Ext):], Ext) {
		return "", false
	}
	u := name[:len(name)-len(Ext)]
	return u, ValidUser(u)
}

// key is how users are compared: without case, as Windows names files.
func key(user string) string { return strings.ToUpper(user) }
