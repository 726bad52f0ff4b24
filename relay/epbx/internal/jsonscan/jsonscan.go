// Package jsonscan finds the extents of a JSON object's members and an
// array's elements without decoding them: the SignalR frames on an
// invocation's path (the client's result, the fake hub's invocation) are
// read with it instead of encoding/json's reflection, which was most of
// a round trip's allocations. Anything it cannot read, its callers give
// to encoding/json.
package jsonscan

// Array calls fn with each element of the JSON array data; false when
// data is not an array it can read, or fn said stop.
func Array(data []byte, fn func(elem []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		end := Value(data, i)
		if end < 0 || !fn(data[i:end]) {
			return false
		}
		next, done, ok := member(data, end, ']')
		if done {
			return ok
		}
		i = next
	}
}

// Object calls fn with each key (unquoted; a key with escapes makes it
// fail) and raw value of the JSON object data; false when data is not an
// object it can read, or fn said stop. It finds extents only: a value
// kept must be checked (json.Valid) or be of a shape the caller checks.
func Object(data []byte, fn func(k, v []byte) bool) bool {
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
		end := Value(data, i)
		if end < 0 {
			return false
		}
		if !fn(k, data[i:end]) {
			return false
		}
		next, done, ok := member(data, end, '}')
		if done {
			return ok
		}
		i = next
	}
}

// member reads what follows a member ending at end: a comma (the next
// member's start) or the container's close (done; ok when nothing follows
// it); anything else is done and not ok.
func member(data []byte, end int, close byte) (next int, done, ok bool) {
	i := skipSpace(data, end)
	switch {
	case i < len(data) && data[i] == ',':
		return skipSpace(data, i+1), false, true
	case i < len(data) && data[i] == close:
		return 0, true, skipSpace(data, i+1) == len(data)
	}
	return 0, true, false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// Value returns the end of the JSON value at i, -1 when unreadable. It
// finds the value's extent only.
func Value(data []byte, i int) int {
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
