package main

import (
	"encoding/json"
	"io"
)

// jsonOut is how every --json output is written: frames are <…>, so not
// HTML-escaped (encoding/json's default writes \u003c…\u003e); indented
// for one document, one line each for a stream of them.
func jsonOut(w io.Writer, indent bool) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc
}
