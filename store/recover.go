package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BucketRecovery is what Recover copied of one bucket.
type BucketRecovery struct {
	Name     string
	Keys     int    // keys copied (nested buckets' included)
	Complete bool   // every key was read
	Problem  string // what could not be read, when not Complete
}

// RecoverReport is the outcome of Recover.
type RecoverReport struct {
	Path  string
	Aside string // where the damaged file was moved ("" if there was none)
	// Unreadable says why nothing at all could be read ("" otherwise).
	Unreadable string
	Buckets    []BucketRecovery
	// CacheDropped: the serving cache could not be read whole and was left
	// out; the store is "never synced" until the next sync or import.
	CacheDropped bool
}

// Redemptions is how many redemption records were recovered.
func (r RecoverReport) Redemptions() int {
	for _, b := range r.Buckets {
		if b.Name == string(bucketRedemptions) {
			return b.Keys
		}
	}
	return 0
}

// recoverOrder is the order Recover copies buckets in: what protects the
// door (redemptions, then the outbox of events not yet uploaded) first;
// everything else after; the code cache, which the next sync refills, last.
var recoverOrder = [][]byte{bucketRedemptions, bucketEvents, bucketEventNonces, bucketRedeemed, bucketMeta}

// Recover copies whatever can still be read from the store file at path
// into a fresh store, moves the damaged file aside (path.damaged-<UTC time>)
// and puts the fresh one in its place. The damaged file is read with plain
// reads, never by bbolt (rawTree), and a damaged page only costs the keys
// under it: the walk skips it and goes on with the pages beside it. A
// serving cache that cannot be read whole is dropped
// (meta then says never synced). A missing file where MarkerPath shows a
// store existed gives a deliberately new, empty store. The store must not
// be open elsewhere (ErrLocked).
func Recover(path string, o Options) (RecoverReport, error) {
	r := RecoverReport{Path: path}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	src, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, merr := os.Stat(MarkerPath(path)); merr != nil {
			return r, fmt.Errorf("recovering store: no store file at %s, and none was ever created there", path)
		}
		r.Unreadable = "the store file is missing"
	case err != nil:
		return r, fmt.Errorf("recovering store: %w", err)
	default:
		defer src.Close()
		if err := lockFile(src, o.LockTimeout); err != nil {
			return r, fmt.Errorf("recovering store %s: %w", path, err)
		}
	}

	tmp := path + ".recovering"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return r, fmt.Errorf("recovering store: creating %s: %w", tmp, err)
	}
	defer os.Remove(tmp) // gone by then if all went well
	if src != nil {
		err = salvageFile(src, dst, &r)
	}
	if err == nil {
		err = dst.Sync()
	}
	if err = errors.Join(err, dst.Close()); err != nil {
		return r, fmt.Errorf("recovering store: writing %s: %w", tmp, err)
	}
	if src != nil {
		r.Aside = fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(path, r.Aside); err != nil {
			return r, fmt.Errorf("recovering store: moving the damaged file aside: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return r, fmt.Errorf("recovering store: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return r, fmt.Errorf("recovering store: syncing the folder: %w", err)
		}
	}
	// The recovered file must now open like any store (and gets its
	// buckets and marker).
	o.SkipCheck = false
	st, err := Open(path, o)
	if err != nil {
		return r, fmt.Errorf("recovering store: the recovered file does not open: %w", err)
	}
	return r, st.Close()
}

// lockFile takes a shared lock on the damaged file, as a reader of it: a
// running daemon (which holds it exclusively) makes Recover fail instead of
// replacing the file under it.
func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("locking: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (waited %v)", ErrLocked, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// salvageFile copies what can be read of src into dst, with plain reads
// (rawTree): no page of the damaged file is ever handed to bbolt. A
// truncated file is read as far as it goes: missing pages are damage.
func salvageFile(src *os.File, dst *bolt.DB, r *RecoverReport) error {
	fm, err := readFileMeta(src)
	if fm.size == 0 || fm.hwm == 0 {
		r.Unreadable = why(err)
		return nil
	}
	rt := newRawTree(src, fm)
	type top struct{ name, header []byte }
	var tops []top
	_ = rt.walk("the list of buckets", fm.root, func(k, v []byte, bucket bool) error {
		if bucket {
			tops = append(tops, top{bytes.Clone(k), bytes.Clone(v)})
		}
		return nil
	})
	if len(tops) == 0 {
		r.Unreadable = "no bucket is readable"
		if len(rt.problems) > 0 {
			r.Unreadable = rt.problems[0]
		}
		return nil
	}
	var active []byte
	for _, t := range tops {
		if bytes.Equal(t.name, bucketMeta) {
			probe := newRawTree(src, fm)
			_ = probe.walkBucketValue("meta", t.header, func(k, v []byte, bucket bool) error {
				if !bucket && bytes.Equal(k, keyActive) {
					active = bytes.Clone(v)
				}
				return nil
			})
		}
	}
	// Redemptions and the outbox first, the cache last, stale snapshots
	// (never committed) not at all.
	rank := func(name []byte) int {
		for i, b := range recoverOrder {
			if bytes.Equal(name, b) {
				return i
			}
		}
		if isSnapBucket(name) {
			return len(recoverOrder) + 1
		}
		return len(recoverOrder)
	}
	sort.SliceStable(tops, func(i, j int) bool { return rank(tops[i].name) < rank(tops[j].name) })
	for _, t := range tops {
		if isSnapBucket(t.name) && !bytes.Equal(t.name, active) {
			continue
		}
		br, err := salvageBucket(rt, dst, [][]byte{t.name}, t.header)
		if err != nil {
			return err
		}
		r.Buckets = append(r.Buckets, br)
		if bytes.Equal(t.name, active) && !br.Complete {
			r.CacheDropped = true
		}
	}
	if active != nil && !hasBucket(r.Buckets, string(active)) {
		r.CacheDropped = true
	}
	return dst.Update(func(tx *bolt.Tx) error { return reconcileMeta(tx, active, r) })
}

func hasBucket(bs []BucketRecovery, name string) bool {
	for _, b := range bs {
		if b.Name == name {
			return true
		}
	}
	return false
}

// salvageBucket copies the bucket at path (from the root), whose header
// value is header, into dst: every key on a readable page, nested buckets
// too; a damaged page costs the keys under it, not the pages beside it.
func salvageBucket(rt *rawTree, dst *bolt.DB, path [][]byte, header []byte) (BucketRecovery, error) {
	br := BucketRecovery{Name: string(bytes.Join(path, []byte("/"))), Complete: true}
	_, seq, _, _ := bucketHeader(header)
	type kv struct{ k, v []byte }
	var batch []kv
	type sub struct{ name, header []byte }
	var nested []sub
	flush := func() error {
		err := dst.Update(func(tx *bolt.Tx) error {
			b, err := createPath(tx, path)
			if err != nil {
				return err
			}
			for _, e := range batch {
				if err := b.Put(e.k, e.v); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	before := len(rt.problems)
	var last []byte
	err := rt.walkBucketValue(br.Name, header, func(k, v []byte, bucket bool) error {
		if bucket {
			nested = append(nested, sub{bytes.Clone(k), bytes.Clone(v)})
			return nil
		}
		batch = append(batch, kv{bytes.Clone(k), bytes.Clone(v)})
		last = batch[len(batch)-1].k
		br.Keys++
		if len(batch) >= 10000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush() // also makes the bucket when it is empty
	}
	if err != nil {
		return br, err
	}
	if len(rt.problems) > before {
		br.Complete = false
		br.Problem = rt.problems[before]
	}
	// A sequence (NextSequence) must stay above every key made from it.
	if len(last) == 8 && br.Name == string(bucketEvents) && binary.BigEndian.Uint64(last) > seq {
		seq = binary.BigEndian.Uint64(last)
	}
	err = dst.Update(func(tx *bolt.Tx) error {
		b, err := createPath(tx, path)
		if err != nil {
			return err
		}
		return b.SetSequence(seq)
	})
	if err != nil {
		return br, err
	}
	for _, n := range nested {
		sb, err := salvageBucket(rt, dst, append(append([][]byte(nil), path...), n.name), n.header)
		if err != nil {
			return br, err
		}
		br.Keys += sb.Keys
		if !sb.Complete && br.Complete {
			br.Complete, br.Problem = false, sb.Problem
		}
	}
	return br, nil
}

func createPath(tx *bolt.Tx, path [][]byte) (*bolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists(path[0])
	for _, p := range path[1:] {
		if err != nil {
			return nil, err
		}
		b, err = b.CreateBucketIfNotExists(p)
	}
	return b, err
}

// reconcileMeta makes the recovered meta agree with what was recovered.
func reconcileMeta(tx *bolt.Tx, active []byte, r *RecoverReport) error {
	m, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if r.CacheDropped {
		if active != nil && tx.Bucket(active) != nil {
			if err := tx.DeleteBucket(active); err != nil {
				return err
			}
		}
		for _, k := range [][]byte{keyActive, keyLastSync, keyCount, keyServerTime, keySource} {
			if err := m.Delete(k); err != nil {
				return err
			}
		}
	}
	if evs := tx.Bucket(bucketEvents); evs != nil {
		return putUint(m, keyPending, uint64(evs.Stats().KeyN))
	}
	return putUint(m, keyPending, 0)
}
