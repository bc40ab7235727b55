package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// FuzzImport feeds arbitrary bytes to the snapshot file parser: it must never
// panic, and any file it rejects must leave the serving cache as it was.
func FuzzImport(f *testing.F) {
	src, err := Open(filepath.Join(f.TempDir(), "src.db"), Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	fill(f, src, 1, 3, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	var good bytes.Buffer
	src.Export(&good)
	src.Close()
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:40])
	f.Add([]byte("KSKSNAP1"))
	f.Add([]byte{})

	st, err := Open(filepath.Join(f.TempDir(), "dst.db"), Options{NoSync: true, SnapshotBatch: 2})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	fill(f, st, 9, 2, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	f.Fuzz(func(t *testing.T, data []byte) {
		before, _ := st.Meta()
		n, err := st.Import(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadSnapshotFile) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			after, _ := st.Meta()
			if after != before {
				t.Fatalf("rejected import changed meta: %+v -> %+v", before, after)
			}
			return
		}
		if m, _ := st.Meta(); m.Count != n {
			t.Fatalf("imported %d, count %d", n, m.Count)
		}
	})
}
