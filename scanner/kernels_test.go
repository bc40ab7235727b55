package scanner

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// kernelCase runs the three kernels as dispatched (assembly on amd64 and
// arm64 unless -tags purego) on one image of w×8 pixels and one row of
// thresholds, and compares them with the one-pixel-at-a-time definitions:
// binomial for box3Row, pixelStats for blockStats, v <= t for darkRow.
// pad bytes follow every row, so that a kernel reading past its row's end
// shows up as a wrong sum rather than passing by luck.
func kernelCase(t *testing.T, w, pad int, img, th []byte) {
	t.Helper()
	const h = blockSize
	stride := w + pad
	if len(img) < stride*h || len(th) < (w+7)/8 {
		t.Fatalf("kernelCase: short input")
	}
	p := plane{y: img[:stride*h], w: w, h: h, stride: stride}
	// box3Row: each of the 8 rows, with the rows above and below clamped.
	out := make([]byte, w+pad)
	for i := range out {
		out[i] = 0xa5
	}
	for y := range h {
		ra, rb, rc := img[max(y-1, 0)*stride:][:w], img[y*stride:][:w], img[min(y+1, h-1)*stride:][:w]
		box3Row(ra, rb, rc, out[:w])
		for x := range w {
			if want := binomial(ra, rb, rc, x); out[x] != want {
				t.Fatalf("box3Row w=%d row %d x=%d: %d, want %d", w, y, x, out[x], want)
			}
		}
		for x := w; x < len(out); x++ {
			if out[x] != 0xa5 {
				t.Fatalf("box3Row w=%d wrote past the row, at %d", w, x)
			}
		}
	}
	if w >= blockSize {
		nb := (w + blockSize - 1) / blockSize
		sum, lo, hi := make([]uint16, nb), make([]uint8, nb), make([]uint8, nb)
		blockStats(p.y, stride, w, sum, lo, hi)
		for bx := range nb {
			x0 := min(bx*blockSize, w-blockSize)
			ws, wlo, whi := pixelStats(p, x0, x0+blockSize, 0, h)
			if int(sum[bx]) != ws || int(lo[bx]) != wlo || int(hi[bx]) != whi {
				t.Fatalf("blockStats w=%d block %d: %d %d %d, want %d %d %d", w, bx, sum[bx], lo[bx], hi[bx], ws, wlo, whi)
			}
		}
	}
	full := w / blockSize
	tv := make([]byte, full*blockSize)
	for k := range full {
		binary.LittleEndian.PutUint64(tv[k*blockSize:], lanes8*uint64(th[k]))
	}
	dst := make([]byte, full+1)
	dst[full] = 0xa5
	for y := range h {
		src := img[y*stride:][:w]
		darkRow(src[:full*blockSize], tv, dst[:full])
		for x := range full * blockSize {
			got := dst[x/8]>>(x%8)&1 == 1
			if want := src[x] <= th[x/8]; got != want {
				t.Fatalf("darkRow w=%d row %d x=%d (v %d, t %d): dark=%v, want %v", w, y, x, src[x], th[x/8], got, want)
			}
		}
		if dst[full] != 0xa5 {
			t.Fatalf("darkRow w=%d wrote past dst", w)
		}
	}
}

// TestKernels: every width from 1 to 80 and the frame widths, on random
// pixels, on the extremes (all 0, all 255, alternating, which is where
// lane arithmetic carries or saturates), thresholds 0 and 255 included.
func TestKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	fills := map[string]func(x, y int) byte{
		"random": func(x, y int) byte { return byte(r.IntN(256)) },
		"zero":   func(x, y int) byte { return 0 },
		"full":   func(x, y int) byte { return 255 },
		"checker": func(x, y int) byte {
			if (x+y)%2 == 0 {
				return 255
			}
			return 0
		},
		"ramp": func(x, y int) byte { return byte(x*7 + y*31) },
	}
	widths := []int{}
	for w := 1; w <= 80; w++ {
		widths = append(widths, w)
	}
	widths = append(widths, 320, 639, 640, 1280, 1920)
	for name, fill := range fills {
		for _, w := range widths {
			t.Run(fmt.Sprintf("%s/%d", name, w), func(t *testing.T) {
				for _, pad := range []int{0, 3, 16} {
					stride := w + pad
					img := make([]byte, stride*blockSize)
					for i := range img {
						img[i] = fill(i%stride, i/stride)
					}
					th := make([]byte, (w+7)/8+1)
					for i := range th {
						th[i] = byte(r.IntN(256))
					}
					th[0] = 0
					if len(th) > 1 {
						th[len(th)-1] = 255
					}
					kernelCase(t, w, pad, img, th)
				}
			})
		}
	}
}

// FuzzKernels: any bytes, any width and padding.
func FuzzKernels(f *testing.F) {
	f.Add(uint16(17), uint8(3), []byte("a row of pixels that is not very long at all, but long enough"))
	f.Add(uint16(40), uint8(0), make([]byte, 400))
	f.Fuzz(func(t *testing.T, w16 uint16, pad8 uint8, data []byte) {
		w, pad := int(w16%2000)+1, int(pad8%32)
		stride := w + pad
		img := make([]byte, stride*blockSize)
		for i := range img {
			if len(data) > 0 {
				img[i] = data[i%len(data)] ^ byte(i/len(data))
			}
		}
		th := make([]byte, (w+7)/8+1)
		for i := range th {
			if len(data) > 0 {
				th[i] = data[(i*7)%len(data)]
			}
		}
		kernelCase(t, w, pad, img, th)
	})
}

// BenchmarkKernels times each kernel over one 640-pixel block row (8 rows)
// of random pixels: compare with -tags purego for the portable versions.
func BenchmarkKernels(b *testing.B) {
	const w = 640
	r := rand.New(rand.NewPCG(1, 2))
	img := make([]byte, w*(blockSize+2))
	for i := range img {
		img[i] = byte(r.IntN(256))
	}
	out := make([]byte, w)
	nb := w / blockSize
	sum, lo, hi := make([]uint16, nb), make([]uint8, nb), make([]uint8, nb)
	tv := make([]byte, w)
	for i := range tv {
		tv[i] = byte(100 + i/blockSize%50)
	}
	dst := make([]byte, nb)
	b.Run("box3Row", func(b *testing.B) {
		b.SetBytes(w * blockSize)
		for b.Loop() {
			for y := 1; y <= blockSize; y++ {
				box3Row(img[(y-1)*w:][:w], img[y*w:][:w], img[(y+1)*w:][:w], out)
			}
		}
	})
	b.Run("blockStats", func(b *testing.B) {
		b.SetBytes(w * blockSize)
		for b.Loop() {
			blockStats(img, w, w, sum, lo, hi)
		}
	})
	b.Run("darkRow", func(b *testing.B) {
		b.SetBytes(w * blockSize)
		for b.Loop() {
			for y := range blockSize {
				darkRow(img[y*w:][:w], tv, dst)
			}
		}
	})
}
