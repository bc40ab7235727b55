package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
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
// and puts the fresh one in its place. Each bucket is read under its own
// recover, and a damaged page only costs the keys it holds: the walk skips
// past it and goes on. A serving cache that cannot be read whole is dropped
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

// salvageFile copies what can be read of src into dst.
func salvageFile(src *os.File, dst *bolt.DB, r *RecoverReport) error {
	fm, err := readFileMeta(src)
	if fm.size == 0 || fm.hwm == 0 {
		r.Unreadable = why(err)
		return nil
	}
	// Read a copy: bbolt maps the file, and pages missing from a truncated
	// one would fault; the copy is padded with zero pages (which bbolt
	// refuses with a panic that is recovered) up to the size it needs.
	cp, err := os.CreateTemp(filepath.Dir(src.Name()), filepath.Base(src.Name())+".copy-*")
	if err != nil {
		return fmt.Errorf("copying the damaged file: %w", err)
	}
	defer os.Remove(cp.Name())
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(cp, src)
	if err == nil && fm.size < fm.hwm {
		err = cp.Truncate(fm.hwm)
	}
	if err = errors.Join(err, cp.Close()); err != nil {
		return fmt.Errorf("copying the damaged file: %w", err)
	}
	var db *bolt.DB
	err = catch(func() error {
		var err error
		db, err = bolt.Open(cp.Name(), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		return err
	})
	if err != nil {
		r.Unreadable = why(err)
		if errors.Is(err, bolterrors.ErrTimeout) {
			return err
		}
		return nil
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error { return salvageTx(tx, dst, r) })
}

func salvageTx(tx *bolt.Tx, dst *bolt.DB, r *RecoverReport) error {
	var names [][]byte
	if err := catch(func() error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, bytes.Clone(name))
			return nil
		})
	}); err != nil && len(names) == 0 {
		r.Unreadable = "the list of buckets: " + why(err)
		return nil
	}
	var active []byte
	_ = catch(func() error {
		if m := tx.Bucket(bucketMeta); m != nil {
			active = bytes.Clone(m.Get(keyActive))
		}
		return nil
	})
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
	sort.SliceStable(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	for _, name := range names {
		if isSnapBucket(name) && !bytes.Equal(name, active) {
			continue
		}
		br, err := salvageBucket(tx, dst, [][]byte{name})
		if err != nil {
			return err
		}
		r.Buckets = append(r.Buckets, br)
		if bytes.Equal(name, active) && !br.Complete {
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

// salvageBucket copies the bucket at path (from the root) into dst, skipping
// past keys it cannot read, then its nested buckets the same way.
func salvageBucket(tx *bolt.Tx, dst *bolt.DB, path [][]byte) (BucketRecovery, error) {
	br := BucketRecovery{Name: string(bytes.Join(path, []byte("/"))), Complete: true}
	bucket := func() *bolt.Bucket {
		b := tx.Bucket(path[0])
		for _, p := range path[1:] {
			if b == nil {
				return nil
			}
			b = b.Bucket(p)
		}
		return b
	}
	var seq uint64
	var nested [][]byte
	var batch []kv
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
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
	problem := func(err error) {
		br.Complete = false
		if br.Problem == "" {
			br.Problem = why(err)
		}
	}
	if err := catch(func() error {
		if b := bucket(); b != nil {
			seq = b.Sequence()
		}
		return nil
	}); err != nil {
		problem(err)
	}

	var from, last []byte // seek target; last key copied
	// Where skipping starts from: the last key copied, or (nothing read
	// yet) the smallest 8-byte key, the events' sequence width.
	base, level := make([]byte, 8), -1
	for {
		progressed := false
		err := catch(func() error {
			b := bucket()
			if b == nil {
				return errors.New("unreadable")
			}
			c := b.Cursor()
			var k, v []byte
			if from == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(from)
			}
			for ; k != nil; k, v = c.Next() {
				if last != nil && bytes.Compare(k, last) <= 0 {
					return errors.New("keys out of order")
				}
				last = bytes.Clone(k)
				progressed = true
				if v == nil {
					nested = append(nested, last)
					continue
				}
				batch = append(batch, kv{last, bytes.Clone(v)})
				br.Keys++
				if len(batch) >= 10000 {
					if err := flush(); err != nil {
						return &writeError{err}
					}
				}
			}
			return nil
		})
		var we *writeError
		if errors.As(err, &we) {
			return br, we.err
		}
		if err == nil {
			break
		}
		problem(err)
		// Skip past the damage, by ever larger key ranges until a seek
		// lands on a readable page again; then by first byte.
		if progressed {
			base, level = last, 0
		} else {
			level++
		}
		next, ok := successor(base, level)
		if !ok && len(from) > 0 && from[0] < 0xff {
			next, ok = []byte{from[0] + 1}, true
		}
		if !ok {
			break
		}
		from = next
	}
	if err := flush(); err != nil {
		return br, err
	}
	// A sequence (NextSequence) must stay above every key made from it.
	if len(last) == 8 && binary.BigEndian.Uint64(last) > seq && br.Name == string(bucketEvents) {
		seq = binary.BigEndian.Uint64(last)
	}
	err := dst.Update(func(tx *bolt.Tx) error {
		b, err := createPath(tx, path)
		if err != nil {
			return err
		}
		return b.SetSequence(seq)
	})
	if err != nil {
		return br, err
	}
	for _, name := range nested {
		sub, err := salvageBucket(tx, dst, append(append([][]byte(nil), path...), name))
		if err != nil {
			return br, err
		}
		br.Keys += sub.Keys
		if !sub.Complete {
			problem(errors.New(sub.Problem))
		}
	}
	return br, nil
}

type kv struct{ k, v []byte }

// writeError marks a failure to write the fresh store (not damage to read).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

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

// successor returns a seek target past base: level 0 is the key right after
// base; level n skips every key sharing base's first len(base)-n+1 bytes.
// ok is false when no key can follow.
func successor(base []byte, level int) ([]byte, bool) {
	if level == 0 {
		return append(bytes.Clone(base), 0), true
	}
	keep := len(base) - level + 1
	if keep <= 0 {
		return nil, false
	}
	q := bytes.Clone(base[:keep])
	for len(q) > 0 {
		if q[len(q)-1] < 0xff {
			q[len(q)-1]++
			return q, true
		}
		q = q[:len(q)-1]
	}
	return nil, false
}
