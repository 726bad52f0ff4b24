package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// errNoBinaries is the reason shown when tests skip (or fail under
// CTIRELAY_TEST_REQUIRE_PG=1).
var errNoBinaries = errors.New("PostgreSQL tests skipped: no initdb found on PATH or in /usr/lib/postgresql/*/bin")

// debianRoot is where Debian's postgresql-NN packages install their binaries,
// off PATH.
const debianRoot = "/usr/lib/postgresql"

// findBinDir returns the directory holding initdb, pg_ctl and postgres: PATH
// first (the user chose it), then the newest /usr/lib/postgresql/NN/bin.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Follow symlinks (/usr/local/bin/initdb -> .../15/bin/initdb) so
		// pg_ctl and postgres are taken from the same installation.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if hasAll(dir) {
			return dir, nil
		}
	}
	entries, err := os.ReadDir(debianRoot)
	if err != nil {
		return "", errNoBinaries
	}
	var versions []string
	for _, e := range entries {
		if hasAll(filepath.Join(debianRoot, e.Name(), "bin")) {
			versions = append(versions, e.Name())
		}
	}
	if len(versions) == 0 {
		return "", errNoBinaries
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	return filepath.Join(debianRoot, versions[len(versions)-1], "bin"), nil
}

func hasAll(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionLess orders "9.6" < "13" < "17" numerically, part by part.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea != nil || eb != nil {
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
			continue
		}
		if na != nb {
			return na < nb
		}
	}
	return len(pa) < len(pb)
}
