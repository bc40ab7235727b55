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
	root     uint64 // the root bucket's page
	// bothMetas: both meta pages are valid. After a torn meta write bbolt
	// uses the other one (and rewrites this one at the next commit), but
	// its Tx.Check asserts on both.
	bothMetas bool
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

// parseMeta reads meta page id the way bbolt validates it (magic, version,
// checksum). headerOK says whether its page header (which the checksum does
// not cover) also says meta page id: bbolt's Tx.Check asserts on that.
func parseMeta(page []byte, id uint64) (r rawMeta, headerOK bool, err error) {
	if len(page) < pageHeaderSize+metaSumOffset+8 {
		return rawMeta{}, false, errors.New("short")
	}
	headerOK = binary.LittleEndian.Uint64(page) == id && binary.LittleEndian.Uint16(page[8:]) == 0x04
	m := page[pageHeaderSize:]
	if binary.LittleEndian.Uint32(m[0:]) != metaMagic {
		return rawMeta{}, false, errors.New("bad magic")
	}
	if binary.LittleEndian.Uint32(m[4:]) != metaVersion {
		return rawMeta{}, false, errors.New("unknown version")
	}
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if h.Sum64() != binary.LittleEndian.Uint64(m[metaSumOffset:]) {
		return rawMeta{}, false, errors.New("checksum mismatch")
	}
	return rawMeta{
		pageSize: int(binary.LittleEndian.Uint32(m[8:])),
		root:     binary.LittleEndian.Uint64(m[16:]),
		free:     binary.LittleEndian.Uint64(m[32:]),
		pgid:     binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}, headerOK, nil
}

// sane checks what bbolt takes on trust in the meta it uses.
func (r rawMeta) sane() error {
	switch {
	case r.pageSize < 512 || r.pageSize > 1<<20 || r.pageSize&(r.pageSize-1) != 0:
		return fmt.Errorf("page size %d", r.pageSize)
	case r.pgid < 3 || r.pgid > 1<<40:
		return fmt.Errorf("page count %d", r.pgid)
	case r.root < 2 || r.root >= r.pgid:
		return fmt.Errorf("root page %d of %d", r.root, r.pgid)
	case r.free != noFreelist && (r.free < 2 || r.free >= r.pgid):
		return fmt.Errorf("freelist page %d of %d", r.free, r.pgid)
	}
	return nil
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
	m0, ok0, err0 := parseMeta(first, 0)
	// Meta 1 is one page further; trust meta 0's page size, else try the
	// sizes bbolt uses.
	sizes := []int{4096, os.Getpagesize(), 16384, 65536}
	if err0 == nil {
		sizes = []int{m0.pageSize}
	}
	var m1 rawMeta
	var ok1 bool
	err1 := errors.New("unreadable")
	for _, ps := range sizes {
		page := make([]byte, pageHeaderSize+metaSumOffset+8)
		if _, err := f.ReadAt(page, int64(ps)); err != nil {
			err1 = errors.New("beyond the end of the file")
			continue
		}
		if m1, ok1, err1 = parseMeta(page, 1); err1 == nil {
			break
		}
	}
	// The meta bbolt will use: the later valid one.
	var m rawMeta
	which := 0
	switch {
	case err0 != nil && err1 != nil:
		return fm, fmt.Errorf("%w: no valid meta page (page 0: %v; page 1: %v)", ErrDamaged, err0, err1)
	case err0 != nil:
		m, which = m1, 1
	case err1 != nil, m0.txid >= m1.txid:
		m = m0
	default:
		m, which = m1, 1
	}
	if err := m.sane(); err != nil {
		return fm, fmt.Errorf("%w: meta page %d: %v", ErrDamaged, which, err)
	}
	fm.pageSize, fm.txid, fm.root = m.pageSize, m.txid, m.root
	fm.bothMetas = err0 == nil && err1 == nil && ok0 && ok1
	fm.hwm = int64(m.pgid) * int64(m.pageSize)
	if fm.size < fm.hwm {
		return fm, fmt.Errorf("%w: truncated: the file has %d bytes, its pages need %d", ErrDamaged, fm.size, fm.hwm)
	}
	// bbolt reads the freelist page trusting its header (and its own
	// check asserts on it where no recover reaches): check it here.
	if m.free != noFreelist {
		hdr := make([]byte, pageHeaderSize)
		if _, err := f.ReadAt(hdr, int64(m.free)*int64(m.pageSize)); err != nil {
			return fm, fmt.Errorf("reading the freelist page: %w", err)
		}
		if binary.LittleEndian.Uint64(hdr) != m.free || binary.LittleEndian.Uint16(hdr[8:]) != 0x10 {
			return fm, fmt.Errorf("%w: the freelist page (%d) is overwritten", ErrDamaged, m.free)
		}
		if err := checkFreelist(f, hdr, m); err != nil {
			return fm, fmt.Errorf("%w: the freelist (page %d): %v", ErrDamaged, m.free, err)
		}
	}
	return fm, nil
}

// checkFreelist checks the free page ids bbolt will load: as many as fit,
// each a page in use range, ascending. A garbage count makes bbolt build
// maps of millions of pages; a garbage id makes it hand out a live page.
func checkFreelist(f *os.File, hdr []byte, m rawMeta) error {
	over := uint64(binary.LittleEndian.Uint32(hdr[12:]))
	if m.free+over >= m.pgid {
		return fmt.Errorf("%d overflow pages run past the end", over)
	}
	buf := make([]byte, (over+1)*uint64(m.pageSize))
	if _, err := f.ReadAt(buf, int64(m.free)*int64(m.pageSize)); err != nil {
		return err
	}
	ids := buf[pageHeaderSize:]
	n := uint64(binary.LittleEndian.Uint16(hdr[10:]))
	if n == 0xFFFF { // the real count is the first element
		if len(ids) < 8 {
			return errors.New("short")
		}
		n, ids = binary.LittleEndian.Uint64(ids), ids[8:]
	}
	if n > uint64(len(ids))/8 {
		return fmt.Errorf("%d free pages do not fit", n)
	}
	var prev uint64
	for i := range n {
		id := binary.LittleEndian.Uint64(ids[i*8:])
		if id < 2 || id >= m.pgid || id <= prev {
			return fmt.Errorf("free page %d: impossible id %d", i, id)
		}
		prev = id
	}
	return nil
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
// pages and file size, every page of every bucket (rawCheck), then every
// key through bbolt, then bbolt's own consistency check (free and
// reachable pages). Damage is reported in
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
	r.Size, r.InUse, r.PageSize = fm.size, fm.hwm, fm.pageSize
	if err == nil {
		r.Problems = rawCheck(f, fm, fm.root)
	} else {
		r.Problems = append(r.Problems, why(err))
	}
	f.Close()
	if len(r.Problems) > 0 {
		r.Took = time.Since(t0)
		return r, nil
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: o.LockTimeout, PreLoadFreelist: true})
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
			if len(r.Problems) == 0 && fm.bothMetas {
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
// recover reaches: call it only after rawCheck and walk found every page
// sound, the freelist page's header and both meta pages included.
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
			return walkBucket(b, tx.Size(), &n)
		})
		counts = append(counts, BucketCount{Name: string(name), Keys: n})
		if err != nil {
			problems = append(problems, fmt.Sprintf("bucket %s (after %d keys): %s", name, n, why(err)))
		}
	}
	return counts, problems
}

// walkBucket counts b's keys, nested buckets' included, reading every value.
// A key or value longer than bbolt allows, or than the pages in use (size),
// is a damaged element (its length is garbage): writing near it would make
// bbolt allocate that much.
func walkBucket(b *bolt.Bucket, size int64, n *int) error {
	c := b.Cursor()
	var prev []byte
	var sink byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("keys out of order after %d keys", *n)
		}
		prev = k
		if len(k) > bolt.MaxKeySize || int64(len(v)) > size {
			return fmt.Errorf("key %d: impossible length (key %d, value %d bytes)", *n, len(k), len(v))
		}
		if v == nil {
			child := b.Bucket(k)
			if child == nil {
				return fmt.Errorf("key %d: neither a value nor a bucket", *n)
			}
			if err := walkBucket(child, size, n); err != nil {
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
