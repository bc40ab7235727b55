package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// usedStore writes a closed store at dir/kiosk.db with a cache of nCache
// codes and nUsed redemptions of other codes (so a redemption's key is in
// the redemptions bucket only), and returns its path and the used hashes.
func usedStore(t testing.TB, dir string, nCache, nUsed int) (string, []string) {
	t.Helper()
	path := filepath.Join(dir, "kiosk.db")
	st, err := Open(path, Options{NoSync: true, SnapshotBatch: 5000})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, st, 1, nCache, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	var used []string
	for i := range nUsed {
		h := HashCode(testCode(2, i))
		used = append(used, h)
		if err := st.Redeem(context.Background(), Redemption{Hash: h, At: time.Now(), Nonce: fmt.Sprintf("n%d", i)},
			Event{Kind: KindVerdict, Accept: true, Hash: h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path, used
}

// pageOf finds the in-use leaf page that has key (raw bytes) as a key.
func pageOf(t testing.TB, path string, key []byte) int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps := db.Info().PageSize
	found := int64(-1)
	db.View(func(tx *bolt.Tx) error {
		for id := 2; (id+1)*ps <= len(raw); id++ {
			if pi, err := tx.Page(id); err != nil || pi == nil || pi.Type != "leaf" {
				continue
			}
			// A leaf page: a 16-byte header (count at 10), then 16-byte
			// elements (flags, pos, ksize, vsize), pos relative to the element.
			p := raw[id*ps:]
			for i := range int(binary.LittleEndian.Uint16(p[10:])) {
				e := 16 + i*16
				pos, ks := int(binary.LittleEndian.Uint32(p[e+4:])), int(binary.LittleEndian.Uint32(p[e+8:]))
				if e+pos+ks <= len(p) && bytes.Equal(p[e+pos:e+pos+ks], key) {
					found = int64(id)
					return nil
				}
			}
		}
		return nil
	})
	if found < 0 {
		t.Fatalf("key %x is on no leaf page", key)
	}
	return found
}

func damagePage(t testing.TB, path string, page int64, fill byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{fill}, 4096), page*4096); err != nil {
		t.Fatal(err)
	}
}

func truncate(n func(size, inUse int64) int64) func(t testing.TB, path string) {
	return func(t testing.TB, path string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fm, err := readFileMeta(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(n(fm.size, fm.hwm)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenDamaged: Open refuses each damaged file with ErrDamaged and a
// reason, never a panic; Check reports the same file unhealthy.
func TestOpenDamaged(t *testing.T) {
	redemption := func(t testing.TB, path string, used []string) int64 {
		k, _ := hex.DecodeString(used[len(used)/2])
		return pageOf(t, path, k)
	}
	tests := []struct {
		name   string
		damage func(t testing.TB, path string, used []string)
		want   string
	}{
		{"empty", func(t testing.TB, path string, _ []string) { os.Truncate(path, 0) }, "empty (0 bytes)"},
		{"truncated to 1 page", func(t testing.TB, path string, _ []string) { os.Truncate(path, 4096) }, "truncated"},
		{"truncated to 3 pages", func(t testing.TB, path string, _ []string) {
			truncate(func(int64, int64) int64 { return 3 * 4096 })(t, path)
		}, "truncated"},
		{"truncated by one byte of the pages in use", func(t testing.TB, path string, _ []string) {
			truncate(func(_, inUse int64) int64 { return inUse - 1 })(t, path)
		}, "truncated"},
		{"meta pages zeroed", func(t testing.TB, path string, _ []string) { damagePage(t, path, 0, 0); damagePage(t, path, 1, 0) }, "no valid meta page"},
		{"a redemptions page zeroed", func(t testing.TB, path string, used []string) { damagePage(t, path, redemption(t, path, used), 0) }, "bucket redemptions"},
		{"a redemptions page of garbage", func(t testing.TB, path string, used []string) { damagePage(t, path, redemption(t, path, used), 0x5a) }, "bucket redemptions"},
		{"the file gone, the marker there", func(t testing.TB, path string, _ []string) { os.Remove(path) }, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, used := usedStore(t, t.TempDir(), 3000, 3000)
			tt.damage(t, path, used)
			st, err := Open(path, Options{NoSync: true})
			if err == nil {
				st.Close()
				t.Fatal("Open accepted the damaged file")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v; want ErrDamaged and %q", err, tt.want)
			}
			r, err := Check(path, Options{})
			switch {
			case errors.Is(err, ErrDamaged) && tt.want == "missing":
			case err != nil:
				t.Errorf("Check: %v", err)
			case r.Healthy() || !strings.Contains(strings.Join(r.Problems, "\n"), tt.want):
				t.Errorf("Check: problems %q; want %q", r.Problems, tt.want)
			}
		})
	}
}

// TestOpenCreatesMarker: a new store leaves its marker, an old store
// without one gets it, and only a missing file without a marker is new.
func TestOpenCreatesMarker(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.db")
	st, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(MarkerPath(path)); err != nil {
		t.Fatalf("no marker after creating a store: %v", err)
	}
	os.Remove(MarkerPath(path)) // a store made before markers existed
	if st, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(MarkerPath(path)); err != nil {
		t.Fatalf("no marker after opening an old store: %v", err)
	}
	os.Remove(path)
	if _, err := Open(path, Options{NoSync: true}); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open of a vanished store: %v, want ErrDamaged", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("Open created a new store in place of the vanished one")
	}
}

// TestStoreFailsAfterPanic damages the serving cache under an open store:
// the lookup that meets it fails instead of panicking, and every operation
// after it fails too (the door stays shut), Meta included (health).
func TestStoreFailsAfterPanic(t *testing.T) {
	path, _ := usedStore(t, t.TempDir(), 3000, 10)
	st, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var root int64
	st.db.View(func(tx *bolt.Tx) error {
		root = int64(activeBucket(tx).RootPage())
		return nil
	})
	damagePage(t, path, root, 0x5a) // the file is mapped shared: seen at once
	h := HashCode(testCode(1, 7))
	if _, _, err := st.Lookup(h); !errors.Is(err, ErrFailed) || !errors.Is(err, ErrDamaged) {
		t.Fatalf("Lookup on a damaged page: %v, want ErrFailed", err)
	}
	if _, err := st.Inspect(HashCode(testCode(2, 1))); !errors.Is(err, ErrFailed) {
		t.Errorf("Inspect after the failure: %v, want ErrFailed", err)
	}
	if err := st.Redeem(context.Background(), Redemption{Hash: h, Nonce: "x"}, Event{}); !errors.Is(err, ErrFailed) {
		t.Errorf("Redeem after the failure: %v, want ErrFailed", err)
	}
	if _, err := st.Meta(); !errors.Is(err, ErrFailed) {
		t.Errorf("Meta after the failure: %v, want ErrFailed", err)
	}
	if st.Err() == nil {
		t.Error("Err is nil after the failure")
	}
}

// TestRecoverSkipsDamage: a damaged redemptions page costs only the keys on
// it; everything else is copied, the damaged file is kept aside, and the
// recovered store opens and checks healthy.
func TestRecoverSkipsDamage(t *testing.T) {
	path, used := usedStore(t, t.TempDir(), 3000, 3000)
	k, _ := hex.DecodeString(used[1500])
	damagePage(t, path, pageOf(t, path, k), 0x5a)

	r, err := Recover(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Aside == "" {
		t.Fatal("no damaged file kept aside")
	}
	if _, err := os.Stat(r.Aside); err != nil {
		t.Errorf("the damaged file: %v", err)
	}
	got := map[string]BucketRecovery{}
	for _, b := range r.Buckets {
		got[b.Name] = b
	}
	red := got["redemptions"]
	if red.Complete || red.Keys >= 3000 || red.Keys < 3000-200 {
		t.Errorf("redemptions: %+v; want incomplete, one page (< 200 keys) short of 3000", red)
	}
	for _, name := range []string{"events", "event-nonces", "redeemed-nonces", "meta"} {
		if !got[name].Complete {
			t.Errorf("bucket %s: %+v, want complete", name, got[name])
		}
	}
	if got["events"].Keys != 3000 || r.CacheDropped {
		t.Errorf("events %d, cache dropped %v; want 3000, false", got["events"].Keys, r.CacheDropped)
	}
	if c, err := Check(path, Options{}); err != nil || !c.Healthy() {
		t.Fatalf("Check of the recovered store: %v %q", err, c.Problems)
	}
	st, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, i := range []int{0, 2999} {
		in, err := st.Inspect(used[i])
		if err != nil || !in.Redeemed {
			t.Errorf("redemption %d after recovery: %+v %v", i, in, err)
		}
	}
	if in, err := st.Inspect(used[1500]); err != nil || in.Redeemed {
		t.Errorf("the redemption on the damaged page: %+v %v; want lost", in, err)
	}
	if n, err := st.PendingCount(); err != nil || n != 3000 {
		t.Errorf("pending events %d %v, want 3000", n, err)
	}
	if m, _ := st.Meta(); m.Count != 3000 {
		t.Errorf("cache count %d, want 3000", m.Count)
	}
}

// TestRecoverDropsDamagedCache: a cache that cannot be read whole is left
// out (the next sync refills it); the redemptions are all kept.
func TestRecoverDropsDamagedCache(t *testing.T) {
	path, used := usedStore(t, t.TempDir(), 3000, 50)
	k, _ := hex.DecodeString(HashCode(testCode(1, 10)))
	damagePage(t, path, pageOf(t, path, k), 0)
	r, err := Recover(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.CacheDropped || r.Redemptions() != 50 {
		t.Errorf("cache dropped %v, redemptions %d; want true, 50", r.CacheDropped, r.Redemptions())
	}
	st, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if m, _ := st.Meta(); m.Count != 0 || !m.LastSync.IsZero() {
		t.Errorf("meta after dropping the cache: %+v; want never synced", m)
	}
	if in, err := st.Inspect(used[49]); err != nil || !in.Redeemed {
		t.Errorf("a redemption after recovery: %+v %v", in, err)
	}
}

// TestRecoverRefusesWhileOpen: a running daemon's store is not replaced.
func TestRecoverRefusesWhileOpen(t *testing.T) {
	st, path := openTest(t, Options{})
	_ = st
	if _, err := Recover(path, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("Recover of an open store: %v, want ErrLocked", err)
	}
	if _, err := Check(path, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("Check of an open store: %v, want ErrLocked", err)
	}
}

// FuzzOpenCorrupt: Open, Check and the reads after a successful Open never
// panic on any file content (each either works or says ErrDamaged).
func FuzzOpenCorrupt(f *testing.F) {
	path, _ := usedStore(f, f.TempDir(), 40, 5)
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:8192])
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "fuzz.db")
		os.Remove(p)
		os.Remove(MarkerPath(p))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		openAndUse(p)
	})
}

// BenchmarkOpen1M measures Open of a 1M-code store with and without the
// read of every key (Options.SkipCheck), and Check (which adds bbolt's
// Tx.Check). The page cache is warm: a Pi's SD card adds its read time.
func BenchmarkOpen1M(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "k.db")
	st, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	importFile(b, st, benchFile(b, n))
	st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"open-no-check", func() error {
			st, err := Open(path, Options{SkipCheck: true})
			if err == nil {
				err = st.Close()
			}
			return err
		}},
		{"open-check", func() error {
			st, err := Open(path, Options{})
			if err == nil {
				err = st.Close()
			}
			return err
		}},
		{"store-check", func() error {
			r, err := Check(path, Options{})
			if err == nil && !r.Healthy() {
				err = fmt.Errorf("%q", r.Problems)
			}
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fi.Size())/1e6, "db-MB")
		})
	}
}

// TestDamagedBytesNeverHang flips random bytes of a good store (and cuts it
// short) a thousand times: Check, Open and the reads after it must return,
// each within seconds. bbolt follows a damaged page's pointers blindly (a
// branch page pointing at itself loops for ever), so this is what keeps
// such a file from hanging the kiosk. Deterministic: a fixed seed.
func TestDamagedBytesNeverHang(t *testing.T) {
	path, _ := usedStore(t, t.TempDir(), 40, 5)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	for it := range 1000 {
		b := bytes.Clone(good)
		for range 1 + r.IntN(20) {
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		if r.IntN(4) == 0 {
			b = b[:r.IntN(len(b))]
		}
		p := filepath.Join(dir, fmt.Sprintf("%d.db", it))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			openAndUse(p)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("iteration %d: still running after 10 s", it)
		}
		os.Remove(p)
	}
}

// openAndUse checks, opens and uses a store file, ignoring every error.
func openAndUse(p string) {
	Check(p, Options{})
	st, err := Open(p, Options{NoSync: true})
	if err != nil {
		return
	}
	defer st.Close()
	h := HashCode(testCode(1, 3))
	st.Lookup(h)
	st.Inspect(h)
	st.PendingCount()
	st.Redeem(context.Background(), Redemption{Hash: h, Nonce: "f"}, Event{})
}
