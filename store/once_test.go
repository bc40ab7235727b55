package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestUseOnceSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	st, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		fresh, err := st.UseOnce(ctx, "idem-1", time.Hour)
		if err != nil || fresh != want {
			t.Fatalf("use %d: fresh %v err %v, want %v", i, fresh, err, want)
		}
	}
	st.Close()
	if st, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if fresh, _ := st.UseOnce(ctx, "idem-1", time.Hour); fresh {
		t.Error("a used key is new again after a restart")
	}
	// Past keep, a key is forgotten when the next key is recorded.
	if fresh, _ := st.UseOnce(ctx, "idem-2", 0); !fresh {
		t.Error("idem-2 not fresh")
	}
	if fresh, _ := st.UseOnce(ctx, "idem-1", time.Hour); !fresh {
		t.Error("idem-1 was not forgotten after keep")
	}
}
