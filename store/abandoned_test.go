package store

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A snapshot whose Abort failed (on a full disk even a delete needs new
// pages) stays in the file. The next NewSnapshot must drop it, or a daemon
// that keeps running keeps its space until a restart, and every failed sync
// adds another.
func TestNewSnapshotDropsAbandonedSnapshots(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "k.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sn, _ := st.NewSnapshot()
	for i := range 5 {
		sn.Put(testRecord(1, i))
	}
	if err := sn.Commit(SyncInfo{At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	// What a snapshot whose Abort failed leaves behind: its bucket and a run.
	err = st.db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{snapPrefix + "00000000000000ff", snapPrefix + "00000000000000ff.run0000"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := b.Put(make([]byte, 32), []byte{recordV1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countSnapBuckets(t, st); n != 3 {
		t.Fatalf("%d snapshot buckets before, want 3", n)
	}
	sn, err = st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	// The serving one and the new one.
	if n := countSnapBuckets(t, st); n != 2 {
		t.Errorf("%d snapshot buckets after NewSnapshot, want 2 (serving + new): %v", n, bucketNames(t, st))
	}
	if _, ok, _ := st.Lookup(testRecord(1, 4).Hash); !ok {
		t.Error("the serving cache lost a record")
	}
	if err := sn.Abort(); err != nil {
		t.Fatal(err)
	}
}
