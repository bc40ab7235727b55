package store

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

func bucketNames(t testing.TB, st *Store) []string {
	t.Helper()
	var names []string
	err := st.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
