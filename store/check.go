package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// MarkerPath is the file written beside a new store when it is created. A
// store file that is missing or empty while its marker exists was lost, not
// never made: Open refuses to start a new empty store in its place, which
// would forget every redemption (a used single-use code would open the door
// again after the next sync).
func MarkerPath(path string) string { return path + ".created" }

// fileMeta is what the file's bbolt meta page says about it, read with plain
// reads before bbolt maps the file: bbolt itself trusts it blindly.
type fileMeta struct {
	size     int64
	pageSize int
	hwm      int64 // bytes the pages in use need (high-water mark)
	txid     uint64
}

// bbolt's meta page layout (go.etcd.io/bbolt/internal/common): a 16-byte
// page header, then magic, version, page size, flags (4 bytes each), root
// bucket (page, sequence), freelist page, high-water page id, txid and an
// FNV-64a checksum of everything before it. Little-endian on every target
// kioskd ships for.
const (
	pageHeaderSize = 16
	metaMagic      = 0xED0CDAED
	metaVersion    = 2
	metaSumOffset  = 56 // checksum's offset within the meta
	noFreelist     = ^uint64(0)
)

type rawMeta struct {
	pageSize         int
	root, free, pgid uint64
	txid             uint64
}

// parseMeta validates one meta page; it returns why it is not one.
func parseMeta(page []byte) (rawMeta, error) {
	if len(page) < pageHeaderSize+metaSumOffset+8 {
		return rawMeta{}, errors.New("short")
	}
	if binary.LittleEndian.Uint16(page[8:]) != 0x04 {
		return rawMeta{}, errors.New("not a meta page")
	}
	m := page[pageHeaderSize:]
	if binary.LittleEndian.Uint32(m[0:]) != metaMagic {
		return rawMeta{}, errors.New("bad magic")
	}
	if binary.LittleEndian.Uint32(m[4:]) != metaVersion {
		return rawMeta{}, errors.New("unknown version")
	}
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if h.Sum64() != binary.LittleEndian.Uint64(m[metaSumOffset:]) {
		return rawMeta{}, errors.New("checksum mismatch")
	}
	r := rawMeta{
		pageSize: int(binary.LittleEndian.Uint32(m[8:])),
		root:     binary.LittleEndian.Uint64(m[16:]),
		free:     binary.LittleEndian.Uint64(m[32:]),
		pgid:     binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}
	switch {
	case r.pageSize < 512 || r.pageSize > 1<<20 || r.pageSize&(r.pageSize-1) != 0:
		return rawMeta{}, fmt.Errorf("page size %d", r.pageSize)
	case r.pgid < 3 || r.pgid > 1<<40:
		return rawMeta{}, fmt.Errorf("page count %d", r.pgid)
	case r.root < 2 || r.root >= r.pgid:
		return rawMeta{}, fmt.Errorf("root page %d of %d", r.root, r.pgid)
	case r.free != noFreelist && (r.free < 2 || r.free >= r.pgid):
		return rawMeta{}, fmt.Errorf("freelist page %d of %d", r.free, r.pgid)
	}
	return r, nil
}

// readFileMeta reads both meta pages the way bbolt picks one (the later
// valid transaction) and checks the file holds every page the store uses.
// Its errors say what is wrong in an operator's words.
func readFileMeta(f *os.File) (fileMeta, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileMeta{}, err
	}
	fm := fileMeta{size: fi.Size()}
	if fm.size == 0 {
		return fm, fmt.Errorf("%w: the file is empty (0 bytes)", ErrDamaged)
	}
	first := make([]byte, 4096)
	n, err := f.ReadAt(first, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fm, fmt.Errorf("reading the first page: %w", err)
	}
	first = first[:n]
	m0, err0 := parseMeta(first)
	// Meta 1 is one page further; trust meta 0's page size, else try the
	// sizes bbolt uses.
	sizes := []int{4096, os.Getpagesize(), 16384, 65536}
	if err0 == nil {
		sizes = []int{m0.pageSize}
	}
	var m1 rawMeta
	err1 := errors.New("unreadable")
	for _, ps := range sizes {
		page := make([]byte, pageHeaderSize+metaSumOffset+8)
		if _, err := f.ReadAt(page, int64(ps)); err != nil {
			err1 = errors.New("beyond the end of the file")
			continue
		}
		if m1, err1 = parseMeta(page); err1 == nil {
			break
		}
	}
	var m rawMeta
	switch {
	case err0 != nil && err1 != nil:
		return fm, fmt.Errorf("%w: no valid meta page (page 0: %v; page 1: %v)", ErrDamaged, err0, err1)
	case err0 != nil:
		m = m1
	case err1 != nil, m0.txid >= m1.txid:
		m = m0
	default:
		m = m1
	}
	fm.pageSize, fm.txid = m.pageSize, m.txid
	fm.hwm = int64(m.pgid) * int64(m.pageSize)
	if fm.size < fm.hwm {
		return fm, fmt.Errorf("%w: truncated: the file has %d bytes, its pages need %d", ErrDamaged, fm.size, fm.hwm)
	}
	return fm, nil
}

// BucketCount is how many keys a bucket holds (nested buckets' keys count
// too), as read by Check or copied by Recover.
type BucketCount struct {
	Name string
	Keys int
}

// CheckReport is the outcome of Check.
type CheckReport struct {
	Path     string
	Size     int64 // file size in bytes
	InUse    int64 // bytes of pages in use
	PageSize int
	Buckets  []BucketCount
	Problems []string // empty: healthy
	Took     time.Duration
}

// Healthy is true when Check found nothing wrong.
func (r CheckReport) Healthy() bool { return len(r.Problems) == 0 }

// Check reads the whole store file at path without changing it: the meta
// pages and file size, every key of every bucket, then bbolt's own
// consistency check (free and reachable pages). Damage is reported in
// Problems; the error is for a file that could not be checked at all
// (missing, locked by a running daemon). It never panics on a damaged file.
func Check(path string, o Options) (CheckReport, error) {
	t0 := time.Now()
	r := CheckReport{Path: path}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, merr := os.Stat(MarkerPath(path)); merr == nil {
			return r, fmt.Errorf("%w: the store file is missing, but %s shows a store was created here", ErrDamaged, MarkerPath(path))
		}
	}
	if err != nil {
		return r, fmt.Errorf("checking store: %w", err)
	}
	fm, err := readFileMeta(f)
	f.Close()
	r.Size, r.InUse, r.PageSize = fm.size, fm.hwm, fm.pageSize
	if err != nil {
		r.Problems = append(r.Problems, why(err))
		r.Took = time.Since(t0)
		return r, nil
	}
	var db *bolt.DB
	err = catch(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: o.LockTimeout, PreLoadFreelist: true})
		return err
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return r, fmt.Errorf("checking store %s: %w (waited %v)", path, ErrLocked, o.LockTimeout)
	}
	if err != nil {
		r.Problems = append(r.Problems, why(err))
		r.Took = time.Since(t0)
		return r, nil
	}
	defer db.Close()
	err = catch(func() error {
		return db.View(func(tx *bolt.Tx) error {
			r.Buckets, r.Problems = walk(tx)
			if len(r.Problems) == 0 {
				r.Problems = boltCheck(tx)
			}
			return nil
		})
	})
	if err != nil {
		r.Problems = append(r.Problems, why(err))
	}
	r.Took = time.Since(t0)
	return r, nil
}

// boltCheck runs bbolt's consistency check (every page reachable or free,
// none both, keys in order). It runs on a goroutine of bbolt's, which no
// recover reaches: call it only after walk read every page without a panic.
func boltCheck(tx *bolt.Tx) []string {
	var problems []string
	for err := range tx.Check() {
		if len(problems) < 20 {
			problems = append(problems, err.Error())
		}
	}
	return problems
}

// walk reads every key and value of every bucket, each bucket under its own
// recover, and returns the counts and what it could not read.
func walk(tx *bolt.Tx) ([]BucketCount, []string) {
	var problems []string
	var names [][]byte
	err := catch(func() error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, bytes.Clone(name))
			return nil
		})
	})
	if err != nil {
		problems = append(problems, fmt.Sprintf("the list of buckets (after %d): %s", len(names), why(err)))
	}
	counts := make([]BucketCount, 0, len(names))
	for _, name := range names {
		n := 0
		err := catch(func() error {
			b := tx.Bucket(name)
			if b == nil {
				return errors.New("not a bucket")
			}
			return walkBucket(b, &n)
		})
		counts = append(counts, BucketCount{Name: string(name), Keys: n})
		if err != nil {
			problems = append(problems, fmt.Sprintf("bucket %s (after %d keys): %s", name, n, why(err)))
		}
	}
	return counts, problems
}

// walkBucket counts b's keys, nested buckets' included, reading every value.
func walkBucket(b *bolt.Bucket, n *int) error {
	c := b.Cursor()
	var prev []byte
	var sink byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("keys out of order after %d keys", *n)
		}
		prev = k
		if v == nil {
			child := b.Bucket(k)
			if child == nil {
				return fmt.Errorf("key %d: neither a value nor a bucket", *n)
			}
			if err := walkBucket(child, n); err != nil {
				return err
			}
			continue
		}
		if len(v) > 0 {
			// Touch the value's last byte: an overflow page past the
			// end of the map faults here, inside the recover.
			sink ^= v[len(v)-1]
		}
		*n++
	}
	_ = sink
	return nil
}

// problemsError is the error Open returns for what walk found.
func problemsError(problems []string) error {
	msg := problems[0]
	if len(problems) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(problems)-1)
	}
	return fmt.Errorf("%w: %s", ErrDamaged, msg)
}

// why is a damage error's text without the ErrDamaged prefix, for lists of
// problems that say "damaged" once.
func why(err error) string {
	return strings.TrimPrefix(err.Error(), ErrDamaged.Error()+": ")
}
