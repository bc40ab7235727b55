//go:build linux && !purego

package scanner

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns two views of n bytes of fresh memory between two
// inaccessible pages: head starts right after the first, tail ends right
// before the second. An access outside either view by one byte faults (the
// test binary dies), where TestKernels' padding only shows a read past a
// row's end when the padding's bytes change the result.
func guarded(t *testing.T, n int) (head, tail []byte) {
	t.Helper()
	pg := syscall.Getpagesize()
	data := (n + pg - 1) / pg * pg
	if data == 0 {
		data = pg
	}
	mem, err := syscall.Mmap(-1, 0, data+2*pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	for _, g := range [][]byte{mem[:pg], mem[pg+data:]} {
		if err := syscall.Mprotect(g, syscall.PROT_NONE); err != nil {
			t.Fatalf("mprotect: %v", err)
		}
	}
	d := mem[pg : pg+data : pg+data]
	return d[:n:n], d[data-n:]
}

// TestKernelsGuardPages runs the assembly kernels on rows that end (and
// start) at an inaccessible page, for every width residue of the 16-pixel
// chunks, and checks them against the portable versions: the assembly
// must neither read nor write one byte outside its slices.
func TestKernelsGuardPages(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 64))
	widths := []int{}
	for w := 1; w <= 50; w++ {
		widths = append(widths, w)
	}
	widths = append(widths, 639, 640, 641)
	fill := func(b []byte) {
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
	}
	for _, w := range widths {
		for _, atHead := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/head=%v", w, atHead), func(t *testing.T) {
				pick := func(n int) []byte {
					h, tl := guarded(t, n)
					if atHead {
						return h
					}
					return tl
				}
				// box3Row: three rows and the output, each against a guard.
				ra, rb, rc, orow := pick(w), pick(w), pick(w), pick(w)
				fill(ra)
				fill(rb)
				fill(rc)
				want := make([]byte, w)
				box3RowGo(ra, rb, rc, want)
				box3Row(ra, rb, rc, orow)
				if string(orow) != string(want) {
					t.Fatalf("box3Row w=%d: %v, want %v", w, orow, want)
				}

				// blockStats: 8 rows with a stride of w+5, the last one
				// ending at the guard (or the first starting after it).
				if w >= blockSize {
					stride := w + 5
					src := pick(7*stride + w)
					fill(src)
					nb := (w + blockSize - 1) / blockSize
					// sum against a guard too: 2 bytes per block, and
					// page-aligned at either end, so aligned for uint16.
					sum := unsafe.Slice((*uint16)(unsafe.Pointer(&pick(2 * nb)[0])), nb)
					lo, hi := pick(nb), pick(nb)
					wsum, wlo, whi := make([]uint16, nb), make([]uint8, nb), make([]uint8, nb)
					blockStatsGo(src, stride, w, wsum, wlo, whi)
					blockStats(src, stride, w, sum, lo, hi)
					if fmt.Sprint(sum, lo, hi) != fmt.Sprint(wsum, wlo, whi) {
						t.Fatalf("blockStats w=%d: %v %v %v, want %v %v %v", w, sum, lo, hi, wsum, wlo, whi)
					}
				}

				// darkRow: len(dst) = w/8 bytes, src and tv 8 per byte.
				if k := w / blockSize; k > 0 {
					src, tv, dst := pick(8*k), pick(8*k), pick(k)
					fill(src)
					for i := range k {
						th := byte(r.IntN(256))
						for j := range blockSize {
							tv[8*i+j] = th
						}
					}
					want := make([]byte, k)
					darkRowGo(src, tv, want)
					darkRow(src, tv, dst)
					if string(dst) != string(want) {
						t.Fatalf("darkRow w=%d: %v, want %v", w, dst, want)
					}
				}
			})
		}
	}
}
