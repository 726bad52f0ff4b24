package store

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/ctirelay/ctirelay/schema"
)

// include is a fragment's place in a statement: {{> name}}.
var include = regexp.MustCompile(`\{\{>\s*([a-z0-9_]+)\s*\}\}`)

// LoadSQL reads a dialect's statements: every NAME.sql at the root of fsys,
// keyed by NAME, each {{> frag}} replaced by fragment/frag.sql and the
// table names rendered (schema.Render). A fragment is text several
// statements share (PostgreSQL's walk over the heads of the agents'
// queues); its leading "--" lines document it and are left out, and it
// includes no other fragment.
func LoadSQL(fsys fs.FS, names map[string]string) (map[string]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded sql: %w", err)
	}
	frags := map[string]string{}
	fragment := func(name string) (string, error) {
		if f, ok := frags[name]; ok {
			return f, nil
		}
		b, err := fs.ReadFile(fsys, path.Join("fragment", name+".sql"))
		if err != nil {
			return "", fmt.Errorf("read embedded sql: fragment %s: %w", name, err)
		}
		f := strings.TrimRight(stripComments(string(b)), "\n")
		if include.MatchString(f) {
			return "", fmt.Errorf("embedded sql: fragment %s includes another", name)
		}
		frags[name] = f
		return f, nil
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".sql")
		if e.IsDir() || !ok {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded sql: %w", err)
		}
		text := string(b)
		var ferr error
		text = include.ReplaceAllStringFunc(text, func(m string) string {
			f, err := fragment(include.FindStringSubmatch(m)[1])
			if err != nil && ferr == nil {
				ferr = fmt.Errorf("%s.sql: %w", name, err)
			}
			return f
		})
		if ferr != nil {
			return nil, ferr
		}
		out[name] = schema.Render(text, names)
	}
	return out, nil
}

// stripComments drops the leading lines that are "--" comments.
func stripComments(s string) string {
	for strings.HasPrefix(s, "--") {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	return s
}

// Sub is the directory dir of an embedded file system, such as a dialect's
// sql/; dir is a constant naming an embedded directory, so a
// failure is a programming error.
func Sub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
