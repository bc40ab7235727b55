package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// rawTree reads bbolt's B+trees with plain reads and checks every pointer
// before following it. bbolt itself follows page ids blindly: a damaged
// branch page that points at itself sends its cursor round in a loop for
// ever, where no recover helps. Open and Check walk the file this way
// first, so bbolt never meets such a page; Recover copies with it.
//
// Page layout (go.etcd.io/bbolt/internal/common): a 16-byte header (id
// u64, flags u16, count u16, overflow u32); branch elements of 16 bytes
// (pos u32, ksize u32, pgid u64), leaf elements of 16 bytes (flags u32,
// pos u32, ksize u32, vsize u32), pos counted from the element itself. A
// bucket is a leaf value with flag 1: its root page id and sequence, then,
// when the root is 0, its one (inline) leaf page.
type rawTree struct {
	f        *os.File
	ps       int
	npages   uint64
	visited  []uint64 // bitset of page ids already reached
	problems []string
}

const (
	branchPageFlag = 0x01
	leafPageFlag   = 0x02
	bucketLeafFlag = 0x01
	maxTreeDepth   = 64
)

func newRawTree(f *os.File, fm fileMeta) *rawTree {
	n := uint64(fm.hwm) / uint64(fm.pageSize)
	return &rawTree{f: f, ps: fm.pageSize, npages: n, visited: make([]uint64, n/64+1)}
}

func (r *rawTree) seen(id uint64) bool { return r.visited[id/64]&(1<<(id%64)) != 0 }
func (r *rawTree) mark(id uint64)      { r.visited[id/64] |= 1 << (id % 64) }

// page reads page id and its overflow pages, checking its header.
func (r *rawTree) page(id uint64) ([]byte, error) {
	if id < 2 || id >= r.npages {
		return nil, fmt.Errorf("page %d out of range (%d pages)", id, r.npages)
	}
	if r.seen(id) {
		return nil, fmt.Errorf("page %d reached twice", id)
	}
	buf := make([]byte, r.ps)
	if _, err := r.f.ReadAt(buf, int64(id)*int64(r.ps)); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := binary.LittleEndian.Uint64(buf); got != id {
		return nil, fmt.Errorf("page %d is overwritten (it says it is page %d)", id, got)
	}
	over := uint64(binary.LittleEndian.Uint32(buf[12:]))
	if id+over >= r.npages {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the end", id, over)
	}
	for i := id; i <= id+over; i++ {
		if r.seen(i) {
			return nil, fmt.Errorf("page %d reached twice", i)
		}
	}
	for i := id; i <= id+over; i++ {
		r.mark(i)
	}
	if over > 0 {
		buf = append(buf, make([]byte, int(over)*r.ps)...)
		if _, err := r.f.ReadAt(buf[r.ps:], int64(id+1)*int64(r.ps)); err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
	}
	return buf, nil
}

// leafFunc hears one key of a leaf: a value, or (bucket) a nested bucket's
// header and inline page.
type leafFunc func(k, v []byte, bucket bool) error

// walk visits the tree rooted at page id in key order. A damaged page is
// recorded in r.problems (with what) and skipped; the walk goes on with the
// pages beside it. It returns fn's error only.
func (r *rawTree) walk(what string, id uint64, fn leafFunc) error {
	return r.walkDepth(what, id, 0, fn)
}

func (r *rawTree) walkDepth(what string, id uint64, depth int, fn leafFunc) error {
	if depth > maxTreeDepth {
		r.problems = append(r.problems, fmt.Sprintf("%s: tree deeper than %d pages", what, maxTreeDepth))
		return nil
	}
	p, err := r.page(id)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s: %v", what, err))
		return nil
	}
	switch flags := binary.LittleEndian.Uint16(p[8:]); flags {
	case branchPageFlag:
		n := int(binary.LittleEndian.Uint16(p[10:]))
		if n == 0 {
			// bbolt never writes one, and its cursor would read an
			// element that is not there.
			r.problems = append(r.problems, fmt.Sprintf("%s: branch page %d is empty", what, id))
			return nil
		}
		for i := range n {
			e := pageHeaderSize + i*16
			if e+16 > len(p) {
				r.problems = append(r.problems, fmt.Sprintf("%s: branch page %d: %d elements do not fit", what, id, n))
				return nil
			}
			if err := r.walkDepth(what, binary.LittleEndian.Uint64(p[e+8:]), depth+1, fn); err != nil {
				return err
			}
		}
		return nil
	case leafPageFlag:
		if err := leafElements(p, fn); err != nil {
			var fe *fnError
			if errors.As(err, &fe) {
				return fe.err
			}
			r.problems = append(r.problems, fmt.Sprintf("%s: leaf page %d: %v", what, id, err))
		}
		return nil
	default:
		r.problems = append(r.problems, fmt.Sprintf("%s: page %d has type %#x, not a branch or leaf", what, id, flags))
		return nil
	}
}

// fnError carries a leafFunc's own error through leafElements.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// leafElements calls fn for each element of the leaf page p (a file page or
// an inline bucket's), checking every bound and that keys ascend.
func leafElements(p []byte, fn leafFunc) error {
	if len(p) < pageHeaderSize {
		return errors.New("short page")
	}
	n := int(binary.LittleEndian.Uint16(p[10:]))
	var prev []byte
	for i := range n {
		e := pageHeaderSize + i*16
		if e+16 > len(p) {
			return fmt.Errorf("%d elements do not fit", n)
		}
		flags := binary.LittleEndian.Uint32(p[e:])
		pos := uint64(binary.LittleEndian.Uint32(p[e+4:]))
		ks := uint64(binary.LittleEndian.Uint32(p[e+8:]))
		vs := uint64(binary.LittleEndian.Uint32(p[e+12:]))
		start := uint64(e) + pos
		if start+ks+vs > uint64(len(p)) {
			return fmt.Errorf("element %d runs past the page", i)
		}
		k, v := p[start:start+ks], p[start+ks:start+ks+vs]
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("element %d: keys out of order", i)
		}
		prev = k
		if err := fn(k, v, flags&bucketLeafFlag != 0); err != nil {
			return &fnError{err}
		}
	}
	return nil
}

// bucketHeader splits a bucket value into its root page, sequence and
// inline page (root 0).
func bucketHeader(v []byte) (root, seq uint64, inline []byte, err error) {
	if len(v) < 16 {
		return 0, 0, nil, errors.New("bucket header too short")
	}
	root, seq = binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[8:])
	if root == 0 {
		inline = v[16:]
	}
	return root, seq, inline, nil
}

// walkBucket visits every key of a bucket given by its header value,
// nested buckets too (fn sees them with bucket true, then their keys via
// nested, which may be nil to skip them).
func (r *rawTree) walkBucketValue(what string, v []byte, fn leafFunc) error {
	root, _, inline, err := bucketHeader(v)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s: %v", what, err))
		return nil
	}
	if root != 0 {
		return r.walk(what, root, fn)
	}
	// An inline page must be a leaf: bbolt takes a branch flag at its
	// word, and its child 0 is the inline page again, for ever.
	if len(inline) < pageHeaderSize || binary.LittleEndian.Uint16(inline[8:]) != leafPageFlag {
		r.problems = append(r.problems, fmt.Sprintf("%s: inline page is not a leaf", what))
		return nil
	}
	if err := leafElements(inline, fn); err != nil {
		var fe *fnError
		if errors.As(err, &fe) {
			return fe.err
		}
		r.problems = append(r.problems, fmt.Sprintf("%s: inline page: %v", what, err))
	}
	return nil
}

// rawCheck walks every bucket of the file and returns what is damaged.
func rawCheck(f *os.File, fm fileMeta, root uint64) []string {
	r := newRawTree(f, fm)
	var visit func(what string) leafFunc
	visit = func(what string) leafFunc {
		return func(k, v []byte, bucket bool) error {
			if bucket {
				name := what + "/" + string(k)
				if what == "" {
					name = "bucket " + string(k)
				}
				return r.walkBucketValue(name, v, visit(name))
			}
			return nil
		}
	}
	_ = r.walk("the list of buckets", root, visit(""))
	return r.problems
}
