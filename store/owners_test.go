package store

import (
	"math"

	bolt "go.etcd.io/bbolt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func hold(token uint64) []Balance {
	return []Balance{{Amount: 1, TokenIDs: []Range{{Start: token, End: token}}, OwnershipTimes: []Range{{Start: 1, End: math.MaxUint64}}}}
}

func commitOwners(t *testing.T, st *Store, at time.Time, keys []string, owners map[string][]Balance) {
	t.Helper()
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := sn.Put(Record{Hash: HashCode(strings.Repeat("a", 64)), Address: "bb1a"}); err != nil {
		t.Fatal(err)
	}
	for addr, b := range owners {
		if err := sn.PutOwner("17", addr, b); err != nil {
			t.Fatal(err)
		}
	}
	if keys != nil {
		sn.OwnersSynced(keys)
	}
	if err := sn.Commit(SyncInfo{At: at, Source: "sync"}); err != nil {
		t.Fatal(err)
	}
}

func TestOwnersSwapWithCodes(t *testing.T) {
	st, path := openTest(t, Options{SnapshotBatch: 3})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	owners := map[string][]Balance{}
	for i := range 10 { // more than a batch: several flushes
		owners[string(rune('a'+i))+"bb1"] = hold(uint64(i + 1))
	}
	commitOwners(t, st, t0, []string{"17:1-10"}, owners)
	info, h, err := st.Holdings("cbb1", []string{"17", "18"})
	if err != nil {
		t.Fatal(err)
	}
	if !info.SyncedAt.Equal(t0) || !info.Has("17:1-10") || info.Owners != 10 {
		t.Fatalf("info = %+v", info)
	}
	if got := h["17"]; got.Online || !reflect.DeepEqual(got.Balances, hold(3)) {
		t.Fatalf("holding = %+v", got)
	}
	if _, ok := h["18"]; ok {
		t.Fatal("a holding in a collection never synced")
	}

	// A sync that fails part-way through the owners leaves the old ones.
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := sn.PutOwner("17", string(rune('p'+i)), hold(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sn.Abort(); err != nil {
		t.Fatal(err)
	}
	if info, h, _ := st.Holdings("cbb1", []string{"17"}); info.Owners != 10 || h["17"].Balances == nil {
		t.Fatalf("after an aborted sync: %+v %+v", info, h)
	}
	if n := countPrefix(t, st, ownersPrefix); n != 2 {
		t.Fatalf("%d owners buckets after an aborted sync; want the serving one and the orphan", n)
	}
	// Reopening keeps the serving owners (they are not an orphan snapshot).
	st = reopen(t, st, path, Options{SnapshotBatch: 3})
	if info, h, _ := st.Holdings("cbb1", []string{"17"}); info.Owners != 10 || h["17"].Balances == nil {
		t.Fatalf("after reopening: %+v %+v", info, h)
	}

	// An online re-check is kept until the next commit.
	if err := st.PutOnlineHolding("17", "newbb1", hold(4)); err != nil {
		t.Fatal(err)
	}
	if _, h, _ := st.Holdings("newbb1", []string{"17"}); !h["17"].Online {
		t.Fatalf("online holding = %+v", h)
	}
	commitOwners(t, st, t0.Add(time.Hour), []string{"17:1-10"}, map[string][]Balance{"zbb1": hold(1)})
	if n := countPrefix(t, st, ownersPrefix); n != 1 {
		t.Fatalf("%d owners buckets after the next sync; want 1 (the orphan dropped)", n)
	}
	if info, h, _ := st.Holdings("newbb1", []string{"17"}); len(h) != 0 || info.Owners != 1 {
		t.Fatalf("after the next sync: %+v %+v", info, h)
	}
	// A snapshot without owners (an import) leaves none.
	commitOwners(t, st, t0.Add(2*time.Hour), nil, nil)
	if info, _ := st.Owners(); !info.SyncedAt.IsZero() || info.Keys != nil {
		t.Fatalf("owners after a snapshot without them: %+v", info)
	}
	for _, name := range bucketNames(t, st) {
		if strings.HasPrefix(name, ownersPrefix) || name == string(bucketOwnersOnline) {
			t.Errorf("bucket %s left behind", name)
		}
	}
}

func TestBalancesCodec(t *testing.T) {
	for _, bals := range [][]Balance{
		nil,
		hold(1),
		{{Amount: math.MaxUint64, TokenIDs: []Range{{Start: 1, End: 5}, {Start: 9, End: 9}}, OwnershipTimes: []Range{{Start: 100, End: 200}, {Start: 300, End: math.MaxUint64}}}, {Amount: 2}},
	} {
		got, err := decodeBalances(encodeBalances(nil, bals))
		if err != nil {
			t.Fatal(err)
		}
		if len(bals) == 0 && len(got) == 0 {
			continue
		}
		for i := range got { // nil and empty range lists are the same
			if len(got[i].TokenIDs) == 0 {
				got[i].TokenIDs = bals[i].TokenIDs
			}
			if len(got[i].OwnershipTimes) == 0 {
				got[i].OwnershipTimes = bals[i].OwnershipTimes
			}
		}
		if !reflect.DeepEqual(got, bals) {
			t.Fatalf("round trip %+v = %+v", bals, got)
		}
	}
	for _, bad := range [][]byte{{}, {5}, {1, 1, 3, 1}, append(encodeBalances(nil, hold(1)), 0)} {
		if _, err := decodeBalances(bad); err == nil {
			t.Errorf("decodeBalances(%x) accepted", bad)
		}
	}
}

func TestRecordBitBadgesAddress(t *testing.T) {
	r := Record{Address: "0xabc", BitBadgesAddress: "bb1xyz", Chain: "ETH", Name: "n"}
	got, err := decodeRecord(encodeRecord(nil, r))
	if err != nil || got.BitBadgesAddress != "bb1xyz" || got.OwnerAddress() != "bb1xyz" {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	same := Record{Address: "bb1xyz", BitBadgesAddress: "bb1xyz"}
	if got, _ := decodeRecord(encodeRecord(nil, same)); got.OwnerAddress() != "bb1xyz" {
		t.Fatalf("a Cosmos record joins on %q", got.OwnerAddress())
	}
	// The snapshot file carries the body without the tail.
	v := encodeRecord(nil, r)
	body, err := recordBody(v[1:])
	if err != nil || string(body) != string(appendRecordBody(nil, r)) {
		t.Fatalf("recordBody = %x, %v", body, err)
	}
}

func countPrefix(t *testing.T, st *Store, prefix string) int {
	t.Helper()
	n := 0
	for _, name := range bucketNames(t, st) {
		if strings.HasPrefix(name, prefix) {
			n++
		}
	}
	return n
}

// A store whose owners bucket is gone (a recovery copies what it can) has
// no owners, rather than owners nobody is among.
func TestOwnersBucketGone(t *testing.T) {
	st, _ := openTest(t, Options{})
	commitOwners(t, st, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), []string{"17:1"}, map[string][]Balance{"abb1": hold(1)})
	err := st.db.Update(func(tx *bolt.Tx) error {
		return tx.DeleteBucket(tx.Bucket(bucketMeta).Get(keyOwnersActive))
	})
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Owners(); !info.SyncedAt.IsZero() || info.Has("17:1") {
		t.Fatalf("owners info with the bucket gone: %+v", info)
	}
}
