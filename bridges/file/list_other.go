//go:build !linux

package spool

import (
	"errors"
	"io"
	"os"
)

// readNames calls each with every name in dir.
func (b *Bridge) readNames(dir string, each func(name []byte)) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		batch, err := d.Readdirnames(4096)
		for _, n := range batch {
			each([]byte(n))
		}
		if errors.Is(err, io.EOF) || len(batch) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
