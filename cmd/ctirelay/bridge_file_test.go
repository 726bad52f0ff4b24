package main

import (
	"strings"
	"testing"
	"time"
)

func TestFileBridgeConfig(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(writeConfig(t, `
bridges:
  file:
    tx_dir: 'D:\CTITX'
    rx_dir: '\\server\share\CTIRX'
    scan_interval: 50ms
    rename_attempts: 7
    rename_wait: 1s
    charset: windows-1252
    max_file_bytes: 4096
    incomplete_timeout: 3s
    on_start: ingest
    users:
      "000001": jose
`))
	if err != nil {
		t.Fatal(err)
	}
	fc := cfg.Bridges.File
	if fc.TxDir != `D:\CTITX` || fc.RxDir != `\\server\share\CTIRX` || time.Duration(fc.ScanInterval) != 50*time.Millisecond ||
		fc.RenameAttempts != 7 || time.Duration(fc.RenameWait) != time.Second || fc.Charset != "windows-1252" ||
		fc.MaxFileBytes != 4096 || time.Duration(fc.IncompleteTimeout) != 3*time.Second || fc.OnStart != "ingest" || fc.Users["000001"] != "jose" {
		t.Fatalf("bridges.file = %+v", fc)
	}
	if DefaultConfig().Bridges.File.TxDir != "" {
		t.Fatal("the file bridge must be off by default")
	}
}

func TestFileBridgeConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, body, want string }{
		{"tx without rx", "bridges:\n  file:\n    tx_dir: /a\n", "bridges.file.rx_dir: required with tx_dir"},
		{"rx without tx", "bridges:\n  file:\n    rx_dir: /a\n", "bridges.file.tx_dir: required with rx_dir"},
		{"same dir", "bridges:\n  file:\n    tx_dir: /a\n    rx_dir: /a/\n", "bridges.file.rx_dir: must not be tx_dir"},
		{"on_start", "bridges:\n  file:\n    tx_dir: /a\n    rx_dir: /b\n    on_start: keep\n", `bridges.file.on_start: must be purge or ingest, not "keep"`},
		{"charset", "bridges:\n  file:\n    tx_dir: /a\n    rx_dir: /b\n    charset: latin9\n", "bridges.file.charset"},
		{"negative", "bridges:\n  file:\n    tx_dir: /a\n    rx_dir: /b\n    rename_attempts: -1\n", "bridges.file.rename_attempts: must not be negative"},
		{"user code", "bridges:\n  file:\n    tx_dir: /a\n    rx_dir: /b\n    users:\n      \"../x\": jose\n", `bridges.file.users: "../x" is not a user code`},
		{"device name", "bridges:\n  file:\n    tx_dir: /a\n    rx_dir: /b\n    users:\n      NUL: jose\n", `bridges.file.users: "NUL" is not a user code`},
		{"login", "bridges:\n  file:\n    tx_dir: /a\n    rx_dir: /b\n    users:\n      \"000001\": \"j<o\"\n", "is not an agent login"},
		{"unknown key", "bridges:\n  file:\n    txdir: /a\n", `unknown key "txdir" in bridges.file`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(writeConfig(t, c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}
