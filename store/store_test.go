package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func openTest(t testing.TB, o Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	o.NoSync = true
	st, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func reopen(t testing.TB, st *Store, path string, o Options) *Store {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	o.NoSync = true
	st2, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	return st2
}

// testCode makes a deterministic 64-hex code.
func testCode(gen, i int) string {
	var b [32]byte
	r := rand.New(rand.NewPCG(uint64(gen), uint64(i)))
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	return hex.EncodeToString(b[:])
}

func testRecord(gen, i int) Record {
	return Record{
		Hash:      HashCode(testCode(gen, i)),
		Address:   fmt.Sprintf("bb1gen%daddr%d", gen, i),
		Chain:     "Cosmos",
		Name:      fmt.Sprintf("gen-%d", gen),
		CreatedAt: time.UnixMilli(1719878400000 + int64(i)).UTC(),
	}
}

func fill(t testing.TB, st *Store, gen, n int, at time.Time) {
	t.Helper()
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := sn.Put(testRecord(gen, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sn.Commit(SyncInfo{At: at, Source: "sync"}); err != nil {
		t.Fatal(err)
	}
}

func TestHashCodeIsBitBadgesDocID(t *testing.T) {
	// _docId is sha256 of the code's ASCII hex text (spec: bitbadges-api.md).
	got := HashCode("9c4e0b6f1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f")
	if want := "7349e52872e26d8e0b4d63cfd75fca7e32931003e027f06799ac5cb2131aaf3b"; got != want {
		t.Fatalf("HashCode = %s, want %s", got, want)
	}
}

func TestSnapshotSwap(t *testing.T) {
	st, path := openTest(t, Options{SnapshotBatch: 7})
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	fill(t, st, 1, 50, t0)

	rec, ok, err := st.Lookup(testRecord(1, 3).Hash)
	if err != nil || !ok {
		t.Fatalf("lookup gen1: %v %v", ok, err)
	}
	if want := testRecord(1, 3); rec != want {
		t.Fatalf("record = %+v, want %+v", rec, want)
	}
	m, _ := st.Meta()
	if m.Count != 50 || !m.LastSync.Equal(t0) || m.Source != "sync" || !m.TrustedTime.Equal(t0) {
		t.Fatalf("meta = %+v", m)
	}

	// A snapshot in progress is invisible; Abort keeps the old one.
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		sn.Put(testRecord(2, i))
	}
	if _, err := st.NewSnapshot(); !errors.Is(err, ErrSnapshotBusy) {
		t.Fatalf("second snapshot: %v, want ErrSnapshotBusy", err)
	}
	if _, ok, _ := st.Lookup(testRecord(2, 0).Hash); ok {
		t.Fatal("uncommitted record visible")
	}
	if err := sn.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := sn.Put(testRecord(2, 0)); !errors.Is(err, ErrSnapshotDone) {
		t.Fatalf("put after abort: %v", err)
	}
	if _, ok, _ := st.Lookup(testRecord(1, 49).Hash); !ok {
		t.Fatal("old record gone after abort")
	}

	// Crash mid-snapshot: close without Commit, reopen: old cache, orphan gone.
	sn, _ = st.NewSnapshot()
	for i := range 30 {
		sn.Put(testRecord(3, i))
	}
	st = reopen(t, st, path, Options{})
	if n := countSnapBuckets(t, st); n != 1 {
		t.Fatalf("%d snapshot buckets after reopen, want 1", n)
	}
	if _, ok, _ := st.Lookup(testRecord(3, 0).Hash); ok {
		t.Fatal("uncommitted record visible after reopen")
	}
	if m, _ := st.Meta(); m.Count != 50 {
		t.Fatalf("count after reopen = %d", m.Count)
	}

	// Commit of a new generation replaces the old one entirely.
	t1 := t0.Add(time.Hour)
	fill(t, st, 4, 10, t1)
	if _, ok, _ := st.Lookup(testRecord(1, 0).Hash); ok {
		t.Fatal("old record survived a new snapshot")
	}
	if m, _ := st.Meta(); m.Count != 10 || !m.LastSync.Equal(t1) {
		t.Fatalf("meta = %+v", m)
	}
	if n := countSnapBuckets(t, st); n != 1 {
		t.Fatalf("%d snapshot buckets, want 1", n)
	}
}

func countSnapBuckets(t testing.TB, st *Store) int {
	t.Helper()
	n := 0
	for _, name := range bucketNames(t, st) {
		if strings.HasPrefix(name, snapPrefix) {
			n++
		}
	}
	return n
}

func TestSnapshotDuplicateLaterWins(t *testing.T) {
	st, _ := openTest(t, Options{SnapshotBatch: 3})
	sn, _ := st.NewSnapshot()
	r := testRecord(1, 0)
	sn.Put(r)
	sn.Put(testRecord(1, 1))
	r2 := r
	r2.Name = "second"
	sn.Put(r2) // same batch
	sn.Put(testRecord(1, 2))
	r3 := r
	r3.Name = "third"
	sn.Put(r3) // a later batch
	if err := sn.Commit(SyncInfo{Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	got, _, _ := st.Lookup(r.Hash)
	if got.Name != "third" {
		t.Fatalf("name = %q, want third", got.Name)
	}
	if m, _ := st.Meta(); m.Count != 3 {
		t.Fatalf("count = %d, want 3", m.Count)
	}
}

func TestLookupBadHash(t *testing.T) {
	st, _ := openTest(t, Options{})
	for _, h := range []string{"", "abc", strings.Repeat("g", 64)} {
		if _, _, err := st.Lookup(h); !errors.Is(err, ErrBadHash) {
			t.Errorf("Lookup(%q) err = %v", h, err)
		}
	}
	// Empty store: not found, no error.
	if _, ok, err := st.Lookup(HashCode("x")); ok || err != nil {
		t.Fatalf("empty lookup: %v %v", ok, err)
	}
}

func TestOpenLockedTimesOut(t *testing.T) {
	st, path := openTest(t, Options{})
	_ = st
	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second open took %v", d)
	}
}

func TestTrustedTimeKeepsMax(t *testing.T) {
	st, path := openTest(t, Options{})
	t1 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []time.Time{t1, t1.Add(-time.Hour), {}, t1.Add(time.Minute), t1} {
		if err := st.ObserveTrustedTime(tt); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.TrustedTime(); !got.Equal(t1.Add(time.Minute)) {
		t.Fatalf("trusted = %v", got)
	}
	st = reopen(t, st, path, Options{})
	if got := st.TrustedTime(); !got.Equal(t1.Add(time.Minute)) {
		t.Fatalf("trusted after reopen = %v", got)
	}
	// A sync completing earlier than the trusted time does not lower it.
	fill(t, st, 1, 1, t1)
	if got := st.TrustedTime(); !got.Equal(t1.Add(time.Minute)) {
		t.Fatalf("trusted after older sync = %v", got)
	}
}

func TestRefreshTokenDurable(t *testing.T) {
	st, path := openTest(t, Options{})
	if tok, err := st.RefreshToken(); tok != "" || err != nil {
		t.Fatalf("initial token %q %v", tok, err)
	}
	st.SetRefreshToken("rt-1")
	st.SetRefreshToken("rt-2")
	st = reopen(t, st, path, Options{})
	if tok, _ := st.RefreshToken(); tok != "rt-2" {
		t.Fatalf("token = %q", tok)
	}
}

func TestRedeemState(t *testing.T) {
	st, path := openTest(t, Options{})
	ctx := context.Background()
	h := HashCode(testCode(1, 1))
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		r          Redemption
		wantCount  uint64
		wantInside bool
		wantLast   string
		wantUse    string
	}{
		{Redemption{At: t0, Direction: DirEntry, Nonce: "n1"}, 1, true, "n1", "n1"},
		{Redemption{At: t0.Add(time.Minute), Direction: DirExit, Nonce: "n2"}, 1, false, "n2", "n1"},
		{Redemption{At: t0.Add(time.Minute), Direction: DirExit, Nonce: "n2"}, 1, false, "n2", "n1"},             // repeat: ignored
		{Redemption{At: t0.Add(-time.Hour), Direction: DirEntry, Nonce: "n0", Peer: true}, 2, false, "n2", "n1"}, // older peer entry
		{Redemption{At: t0.Add(2 * time.Minute), Nonce: "n3"}, 3, false, "n3", "n3"},
	}
	for i, s := range steps {
		s.r.Hash = h
		s.r.Kiosk = "k1"
		if err := st.Redeem(ctx, s.r, Event{Kind: KindVerdict, Accept: true, Hash: h}); err != nil {
			t.Fatal(err)
		}
		got, ok, err := st.RedemptionState(h)
		if err != nil || !ok {
			t.Fatalf("step %d: %v %v", i, ok, err)
		}
		if got.Count != s.wantCount || got.Inside != s.wantInside || got.Last.Nonce != s.wantLast || got.LastUse.Nonce != s.wantUse {
			t.Fatalf("step %d: state %+v", i, got)
		}
	}
	st = reopen(t, st, path, Options{})
	last, ok, err := st.LastRedemption(h)
	if err != nil || !ok || last.Nonce != "n3" || !last.At.Equal(t0.Add(2*time.Minute)) || last.Kiosk != "k1" {
		t.Fatalf("last after reopen = %+v %v %v", last, ok, err)
	}
	for _, n := range []string{"n0", "n1", "n2", "n3"} {
		if ok, _ := st.HasRedemption(n); !ok {
			t.Errorf("nonce %s missing", n)
		}
	}
	if n, _ := st.PendingCount(); n != 4 {
		t.Fatalf("pending = %d, want 4 (one event per distinct redemption)", n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Redeem(cctx, Redemption{Hash: h, Nonce: "n9"}, Event{}); err == nil {
		t.Fatal("redeem with canceled context succeeded")
	}
}

func TestEventsBoundDropOldest(t *testing.T) {
	const max = 10
	st, path := openTest(t, Options{MaxPendingEvents: max})
	for i := range 25 {
		if err := st.AppendEvent(Event{Nonce: fmt.Sprintf("e%02d", i), Kind: KindVerdict, Reason: "unknown"}); err != nil {
			t.Fatal(err)
		}
	}
	st = reopen(t, st, path, Options{MaxPendingEvents: max})
	if n, _ := st.PendingCount(); n != max {
		t.Fatalf("pending = %d", n)
	}
	if d, _ := st.DroppedEvents(); d != 15 {
		t.Fatalf("dropped = %d", d)
	}
	evs, err := st.PendingEvents(4)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 || evs[0].Nonce != "e15" || evs[3].Nonce != "e18" {
		t.Fatalf("oldest pending = %+v", evs)
	}
	if err := st.AckEvents([]string{"e15", "e16", "nope"}); err != nil {
		t.Fatal(err)
	}
	// Re-appending a pending nonce is a no-op.
	st.AppendEvent(Event{Nonce: "e20"})
	if n, _ := st.PendingCount(); n != 8 {
		t.Fatalf("pending after ack = %d", n)
	}
	evs, _ = st.PendingEvents(100)
	if len(evs) != 8 || evs[0].Nonce != "e17" || evs[7].Nonce != "e24" {
		t.Fatalf("pending after ack = %v", evs)
	}
}

func TestEventJSONNames(t *testing.T) {
	v, _ := encodeEvent(Event{Nonce: "n", Time: time.Unix(0, 0).UTC(), Kiosk: "k", Kind: "verdict", Accept: true, Reason: "ok", Hash: "h", Detail: "d"})
	want := `{"nonce":"n","time":"1970-01-01T00:00:00Z","kiosk":"k","kind":"verdict","accept":true,"reason":"ok","hash":"h","detail":"d"}`
	if string(v) != want {
		t.Fatalf("json = %s", v)
	}
}

func TestNewNonce(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	if len(a) != 32 || a == b {
		t.Fatalf("nonces %q %q", a, b)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	src, _ := openTest(t, Options{SnapshotBatch: 64})
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	sn, _ := src.NewSnapshot()
	for i := range 300 {
		r := testRecord(1, i)
		if i%3 == 0 {
			r.ExpiresAt = t0.Add(time.Duration(i) * time.Hour)
		}
		sn.Put(r)
	}
	sn.Commit(SyncInfo{At: t0, ServerTime: t0.Add(-time.Second), Source: "sync"})
	var buf bytes.Buffer
	if err := src.Export(&buf); err != nil {
		t.Fatal(err)
	}

	dst, _ := openTest(t, Options{SnapshotBatch: 50})
	n, err := dst.Import(bytes.NewReader(buf.Bytes()))
	if err != nil || n != 300 {
		t.Fatalf("import: %d %v", n, err)
	}
	m, _ := dst.Meta()
	if m.Count != 300 || !m.LastSync.Equal(t0) || !m.ServerTime.Equal(t0.Add(-time.Second)) || m.Source != "import" || !m.TrustedTime.Equal(t0) {
		t.Fatalf("meta = %+v", m)
	}
	for i := range 300 {
		want, _, _ := src.Lookup(testRecord(1, i).Hash)
		got, ok, err := dst.Lookup(want.Hash)
		if !ok || err != nil || got != want {
			t.Fatalf("record %d: %+v vs %+v (%v %v)", i, got, want, ok, err)
		}
	}
	// Re-export is byte-identical.
	var buf2 bytes.Buffer
	dst.Export(&buf2)
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatal("re-export differs")
	}
	// An empty cache exports and imports too.
	empty, _ := openTest(t, Options{})
	var eb bytes.Buffer
	if err := empty.Export(&eb); err != nil {
		t.Fatal(err)
	}
	if n, err := dst.Import(&eb); err != nil || n != 0 {
		t.Fatalf("empty import: %d %v", n, err)
	}
}

func TestImportRejectsCorruptKeepsOld(t *testing.T) {
	src, _ := openTest(t, Options{})
	fill(t, src, 1, 40, time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC))
	var good bytes.Buffer
	src.Export(&good)
	file := good.Bytes()

	dst, _ := openTest(t, Options{SnapshotBatch: 8})
	fill(t, dst, 9, 5, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	check := func(name string, data []byte) {
		t.Helper()
		_, err := dst.Import(bytes.NewReader(data))
		if !errors.Is(err, ErrBadSnapshotFile) {
			t.Fatalf("%s: err = %v, want ErrBadSnapshotFile", name, err)
		}
		if m, _ := dst.Meta(); m.Count != 5 {
			t.Fatalf("%s: count = %d, old cache lost", name, m.Count)
		}
		if _, ok, _ := dst.Lookup(testRecord(9, 4).Hash); !ok {
			t.Fatalf("%s: old record lost", name)
		}
	}
	for _, cut := range []int{0, 7, 31, 32, 33, 100, len(file) / 2, len(file) - 33, len(file) - 32, len(file) - 1} {
		check(fmt.Sprintf("truncated at %d", cut), file[:cut])
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		bad := bytes.Clone(file)
		pos := r.IntN(len(bad))
		bad[pos] ^= byte(1 + r.IntN(255))
		check(fmt.Sprintf("flip %d at %d", i, pos), bad)
	}
	check("trailing byte", append(bytes.Clone(file), 0))
	if n := countSnapBuckets(t, dst); n != 1 {
		t.Fatalf("%d snapshot buckets left", n)
	}
}

// TestNoCodeOnDisk proves that the raw code, in text or binary form, never
// reaches the bbolt file, and that the logs never carry it.
func TestNoCodeOnDisk(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	path := filepath.Join(t.TempDir(), "kiosk.db")
	st, err := Open(path, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	sn, _ := st.NewSnapshot()
	for i := range 200 {
		c := testCode(5, i)
		codes = append(codes, c)
		sn.Put(Record{Hash: HashCode(c), Address: "bb1x", Chain: "Cosmos", Name: "n"})
	}
	sn.Commit(SyncInfo{At: time.Now(), Source: "sync"})
	for i, c := range codes[:50] {
		h := HashCode(c)
		st.Redeem(context.Background(), Redemption{Hash: h, At: time.Now(), Nonce: NewNonce()}, Event{Kind: KindVerdict, Accept: true, Reason: "ok", Hash: h, Detail: fmt.Sprint(i)})
	}
	var exp bytes.Buffer
	st.Export(&exp)
	st.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		raw, _ := hex.DecodeString(c)
		for what, hay := range map[string][]byte{"db": data, "export": exp.Bytes(), "logs": logs.Bytes()} {
			if bytes.Contains(hay, []byte(c)) || bytes.Contains(hay, []byte(strings.ToUpper(c))) || bytes.Contains(hay, raw) {
				t.Fatalf("code found in %s", what)
			}
		}
	}
	// The test can fail: the hashes are there.
	if !bytes.Contains(exp.Bytes(), mustHex(HashCode(codes[0]))) {
		t.Fatal("hash not found in export: the search is broken")
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestSnapshotMergeMatchesModel streams random records (with repeats) in
// random order through snapshots of several batch sizes and compares the
// committed cache with a map of the last Put per hash.
func TestSnapshotMergeMatchesModel(t *testing.T) {
	for _, batch := range []int{7, 64, 1000} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			st, _ := openTest(t, Options{SnapshotBatch: batch})
			r := rand.New(rand.NewPCG(uint64(batch), 9))
			model := map[string]Record{}
			sn, _ := st.NewSnapshot()
			for i := range 700 {
				rec := testRecord(1, r.IntN(400))
				rec.Name = fmt.Sprint("put-", i)
				model[rec.Hash] = rec
				if err := sn.Put(rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := sn.Commit(SyncInfo{Source: "sync"}); err != nil {
				t.Fatal(err)
			}
			if m, _ := st.Meta(); m.Count != len(model) {
				t.Fatalf("count %d, want %d", m.Count, len(model))
			}
			for h, want := range model {
				got, ok, err := st.Lookup(h)
				if !ok || err != nil || got != want {
					t.Fatalf("%.8s: got %+v %v %v, want %+v", h, got, ok, err, want)
				}
			}
			if names := bucketNames(t, st); len(names) != 6 {
				t.Fatalf("buckets left: %v", names)
			}
		})
	}
}

// TestOutboxMatchesModel runs random appends, acks and reopens against a
// plain queue with drop-oldest, checking order, bound and counters.
func TestOutboxMatchesModel(t *testing.T) {
	const max = 20
	st, path := openTest(t, Options{MaxPendingEvents: max})
	r := rand.New(rand.NewPCG(5, 5))
	var model []string
	var dropped uint64
	next := 0
	for step := range 600 {
		switch op := r.IntN(10); {
		case op < 6:
			n := fmt.Sprintf("ev%04d", next)
			next++
			if err := st.AppendEvent(Event{Nonce: n, Kind: KindVerdict}); err != nil {
				t.Fatal(err)
			}
			model = append(model, n)
			if len(model) > max {
				model = model[1:]
				dropped++
			}
		case op < 9 && len(model) > 0:
			// Ack a random subset of the oldest few, as an uploader would.
			k := 1 + r.IntN(min(5, len(model)))
			batch := slices.Clone(model[:k])
			var keep []string
			var acks []string
			for _, n := range batch {
				if r.IntN(3) == 0 {
					keep = append(keep, n)
				} else {
					acks = append(acks, n)
				}
			}
			if err := st.AckEvents(acks); err != nil {
				t.Fatal(err)
			}
			model = append(keep, model[k:]...)
		case op == 9:
			st = reopen(t, st, path, Options{MaxPendingEvents: max})
		}
		evs, err := st.PendingEvents(1000)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.Nonce)
		}
		if !slices.Equal(got, model) {
			t.Fatalf("step %d: outbox %v, model %v", step, got, model)
		}
		if n, _ := st.PendingCount(); n != len(model) {
			t.Fatalf("step %d: pending count %d, model %d", step, n, len(model))
		}
		if d, _ := st.DroppedEvents(); d != dropped {
			t.Fatalf("step %d: dropped %d, model %d", step, d, dropped)
		}
	}
}

func TestPruneRedeemedNonces(t *testing.T) {
	st, _ := openTest(t, Options{})
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		h := HashCode(testCode(3, i))
		at := t0.Add(time.Duration(i) * time.Hour)
		if err := st.Redeem(ctx, Redemption{Hash: h, At: at, Nonce: fmt.Sprintf("n%02d", i)}, Event{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.pruneNonces(t0.Add(10*time.Hour), 3)
	if err != nil || n != 10 {
		t.Fatalf("pruned %d, %v; want 10", n, err)
	}
	for i := range 20 {
		ok, _ := st.HasRedemption(fmt.Sprintf("n%02d", i))
		if ok != (i >= 10) {
			t.Fatalf("nonce %d present = %v", i, ok)
		}
		// The redemption state itself stays.
		if _, ok, _ := st.LastRedemption(HashCode(testCode(3, i))); !ok {
			t.Fatalf("redemption state %d gone", i)
		}
	}
}
