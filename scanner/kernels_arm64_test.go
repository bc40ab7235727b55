//go:build !purego

package scanner

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
)

// guarded maps n bytes between two inaccessible pages, so that a kernel
// reading or writing one byte before or after a slice made from its start
// or end faults. TestKernels cannot see a read past a row whose result is
// thrown away (a 16-byte load for the last 3 pixels); this can.
func guarded(t *testing.T, n int) []byte {
	t.Helper()
	pg := os.Getpagesize()
	body := (n + pg - 1) / pg * pg
	m, err := syscall.Mmap(-1, 0, body+2*pg, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(m) })
	if err := syscall.Mprotect(m[:pg], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if err := syscall.Mprotect(m[pg+body:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	return m[pg : pg+body]
}

// TestKernelsGuardPages runs the NEON kernels on rows that start right
// after an inaccessible page and on rows that end right before one (the
// frame's last row, a row at the start of a buffer), for every width up to
// 100 and a few frame widths; a fault is a failure (SetPanicOnFault), and
// the results are checked as in TestKernels.
func TestKernelsGuardPages(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 64))
	widths := []int{}
	for w := 1; w <= 100; w++ {
		widths = append(widths, w)
	}
	widths = append(widths, 639, 640, 655, 1920)
	for _, w := range widths {
		for _, atEnd := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/end=%v", w, atEnd), func(t *testing.T) {
				// Per goroutine, so in the subtest's.
				defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
				defer func() {
					if e := recover(); e != nil {
						t.Fatalf("kernel touched a guard page: %v", e)
					}
				}()
				const stride = 4096 + 5
				// place cuts n bytes from the start or the end of a
				// fresh guarded buffer.
				place := func(n int) []byte {
					b := guarded(t, n)
					if atEnd {
						b = b[len(b)-n:]
					}
					b = b[:n:n]
					for i := range b {
						b[i] = byte(r.IntN(256))
					}
					return b
				}
				row := place(w)
				orow := place(w)
				box3Row(row, row, row, orow)
				for x := range w {
					if want := binomial(row, row, row, x); orow[x] != want {
						t.Fatalf("box3Row x=%d: %d, want %d", x, orow[x], want)
					}
				}
				if w >= blockSize {
					nb := (w + blockSize - 1) / blockSize
					src := place(7*stride + w)
					sum, lo, hi := make([]uint16, nb), make([]uint8, nb), make([]uint8, nb)
					blockStats(src, stride, w, sum, lo, hi)
					p := plane{y: src, w: w, h: blockSize, stride: stride}
					for bx := range nb {
						x0 := min(bx*blockSize, w-blockSize)
						ws, wlo, whi := pixelStats(p, x0, x0+blockSize, 0, blockSize)
						if int(sum[bx]) != ws || int(lo[bx]) != wlo || int(hi[bx]) != whi {
							t.Fatalf("blockStats block %d: %d %d %d, want %d %d %d", bx, sum[bx], lo[bx], hi[bx], ws, wlo, whi)
						}
					}
				}
				full := w / blockSize
				if full == 0 {
					return
				}
				src, tv, dst := place(full*blockSize), place(full*blockSize), place(full)
				for k := range full {
					binary.LittleEndian.PutUint64(tv[k*blockSize:], lanes8*uint64(tv[k*blockSize]))
				}
				darkRow(src, tv, dst)
				for x := range full * blockSize {
					if got, want := dst[x/8]>>(x%8)&1 == 1, src[x] <= tv[x]; got != want {
						t.Fatalf("darkRow x=%d (v %d, t %d): dark=%v, want %v", x, src[x], tv[x], got, want)
					}
				}
			})
		}
	}
}

// TestKernelsRandom is FuzzKernels' check on random widths (1 to 2000),
// paddings and pixels (random, runs of 0 and 255, ramps): fuzzing cannot
// run under qemu-user (the fuzzer re-executes the test binary), so this
// stands in for it there. KIOSKD_KERNEL_CASES=N runs N cases (default
// 300), KIOSKD_KERNEL_SEED=S draws other ones (default a fixed seed, so
// that a plain run is deterministic).
func TestKernelsRandom(t *testing.T) {
	cases, seed := 300, uint64(2026)
	if v := os.Getenv("KIOSKD_KERNEL_CASES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("KIOSKD_KERNEL_CASES=%q: want a positive count", v)
		}
		cases = n
	}
	if v := os.Getenv("KIOSKD_KERNEL_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("KIOSKD_KERNEL_SEED=%q: %v", v, err)
		}
	}
	t.Logf("%d cases, seed %d (repeat with KIOSKD_KERNEL_SEED=%d)", cases, seed, seed)
	r := rand.New(rand.NewPCG(seed, 16))
	for range cases {
		w, pad := 1+r.IntN(2000), r.IntN(32)
		img := make([]byte, (w+pad)*blockSize)
		for i := 0; i < len(img); {
			n := 1 + r.IntN(64)
			kind, v := r.IntN(4), byte(r.IntN(256))
			for j := i; j < min(i+n, len(img)); j++ {
				switch kind {
				case 0:
					img[j] = byte(r.IntN(256))
				case 1:
					img[j] = 0
				case 2:
					img[j] = 255
				default:
					img[j] = v + byte(j-i)
				}
			}
			i += n
		}
		th := make([]byte, (w+7)/8+1)
		for i := range th {
			th[i] = byte(r.IntN(256))
		}
		kernelCase(t, w, pad, img, th)
	}
}
