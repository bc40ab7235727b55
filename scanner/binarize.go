package scanner

import (
	"github.com/makiuchi-d/gozxing"
)

// plane is a view of an 8-bit luminance image.
type plane struct {
	y            []byte
	w, h, stride int
}

func (p plane) valid() bool {
	return p.w > 0 && p.h > 0 && p.stride >= p.w && len(p.y) >= (p.h-1)*p.stride+p.w
}

// blockShift sets the binarizer's block size (8 pixels): thresholds are local
// means over a 5×5 neighbourhood of blocks, i.e. 40×40 pixels, which follows
// uneven light across a phone screen yet spans several modules of a code.
const (
	blockShift = 3
	blockSize  = 1 << blockShift
)

// binImage is a binarized image with every buffer it needs, reused from one
// frame to the next: after the first frame of a given size, binarizing,
// gating and packing allocate nothing.
type binImage struct {
	w, h   int
	bw, bh int     // size in blocks
	bin    []byte  // 1 = dark, one byte per pixel
	bp     []int32 // per-block black point
	mat    *gozxing.BitMatrix
	row    *gozxing.BitArray
	bmp    *gozxing.BinaryBitmap
	src    *lumSource
	packed bool // mat holds bin (inverted if packedInv)
	inv    bool
}

func (b *binImage) resize(w, h int) {
	if b.w == w && b.h == h && b.mat != nil {
		return
	}
	b.w, b.h = w, h
	b.bw = (w + blockSize - 1) >> blockShift
	b.bh = (h + blockSize - 1) >> blockShift
	b.bin = make([]byte, w*h)
	b.bp = make([]int32, b.bw*b.bh)
	b.mat, _ = gozxing.NewBitMatrix(w, h)
	b.row = gozxing.NewBitArray(w)
	b.src = &lumSource{}
	b.bmp, _ = gozxing.NewBinaryBitmap(&fixedBinarizer{b})
}

// binarize thresholds p into b.bin. Each 8×8 block gets a black point: its
// mean when the block has contrast (max-min > minRange), otherwise a guess
// that the flat block is background (half its minimum, or its dark
// neighbours' level when they are darker). Each pixel is then compared with
// the average black point of the 5×5 blocks around its own.
func (b *binImage) binarize(p plane, minRange int) {
	b.resize(p.w, p.h)
	b.src.p = p
	b.packed = false
	w, h, bw, bh := p.w, p.h, b.bw, b.bh
	for by := 0; by < bh; by++ {
		y0 := by << blockShift
		if y0 > h-blockSize {
			y0 = max(h-blockSize, 0)
		}
		y1 := min(y0+blockSize, h)
		for bx := 0; bx < bw; bx++ {
			x0 := bx << blockShift
			if x0 > w-blockSize {
				x0 = max(w-blockSize, 0)
			}
			x1 := min(x0+blockSize, w)
			sum, lo, hi := 0, 255, 0
			for y := y0; y < y1; y++ {
				r := p.y[y*p.stride+x0 : y*p.stride+x1]
				for _, v := range r {
					iv := int(v)
					sum += iv
					lo = min(lo, iv)
					hi = max(hi, iv)
				}
			}
			n := (y1 - y0) * (x1 - x0)
			var bp int
			if hi-lo > minRange {
				bp = sum / n
			} else {
				bp = lo / 2
				// A flat block inside a dark module area: use the darker
				// neighbours' level so the whole module stays dark.
				if by > 0 && bx > 0 {
					nb := (int(b.bp[(by-1)*bw+bx]) + 2*int(b.bp[by*bw+bx-1]) + int(b.bp[(by-1)*bw+bx-1])) / 4
					if lo < nb {
						bp = nb
					}
				}
			}
			b.bp[by*bw+bx] = int32(bp)
		}
	}
	for by := 0; by < bh; by++ {
		y0 := by << blockShift
		y1 := min(y0+blockSize, h)
		cy := min(max(by, 2), max(bh-3, 0))
		for bx := 0; bx < bw; bx++ {
			cx := min(max(bx, 2), max(bw-3, 0))
			sum, n := 0, 0
			for yy := max(cy-2, 0); yy <= min(cy+2, bh-1); yy++ {
				r := b.bp[yy*bw:]
				for xx := max(cx-2, 0); xx <= min(cx+2, bw-1); xx++ {
					sum += int(r[xx])
					n++
				}
			}
			t := sum / n
			x0 := bx << blockShift
			x1 := min(x0+blockSize, w)
			for y := y0; y < y1; y++ {
				src := p.y[y*p.stride+x0 : y*p.stride+x1]
				dst := b.bin[y*w+x0 : y*w+x1]
				for i, v := range src {
					if int(v) <= t {
						dst[i] = 1
					} else {
						dst[i] = 0
					}
				}
			}
		}
	}
}

// finderHits counts places that look like a QR finder pattern (runs in the
// ratio 1:1:3:1:1 across a row, confirmed by the same down the column
// through the centre): dark counts dark-centred ones (a normal code), light
// counts light-centred ones (a light-on-dark code). It is deliberately more
// tolerant than gozxing's finder so that it only ever spares gozxing frames
// it could not decode anyway; on a frame without a code it is the only work
// done besides binarizing.
func (b *binImage) finderHits(limit int) (dark, light int) {
	w, h := b.w, b.h
	var runs [5]int
	for y := 0; y < h; y++ {
		row := b.bin[y*w : y*w+w]
		runs = [5]int{}
		cur := row[0]
		n := 0
		for x := 0; x <= w; x++ {
			if x < w && row[x] == cur {
				n++
				continue
			}
			// A run of colour cur and length n ended at x.
			runs[0], runs[1], runs[2], runs[3] = runs[1], runs[2], runs[3], runs[4]
			runs[4] = n
			if runs[0] > 0 && ratioOK(runs) {
				// cur is the colour of the last run, which is also the
				// colour of the centre run (runs alternate).
				cx := x - runs[4] - runs[3] - runs[2]/2 - 1
				if b.columnOK(cx, y, runs[0]+runs[1]+runs[2]+runs[3]+runs[4], cur) {
					if cur == 1 {
						dark++
					} else {
						light++
					}
					if dark >= limit && light >= limit {
						return dark, light
					}
				}
			}
			if x < w {
				cur = row[x]
				n = 1
			}
		}
	}
	return dark, light
}

// ratioOK reports whether five runs are roughly 1:1:3:1:1, with more slack
// than gozxing allows.
func ratioOK(r [5]int) bool {
	tot := r[0] + r[1] + r[2] + r[3] + r[4]
	if tot < 7 {
		return false
	}
	for _, i := range [4]int{0, 1, 3, 4} {
		if d := 7*r[i] - tot; 4*abs(d) >= 3*tot {
			return false
		}
	}
	return 4*abs(7*r[2]-3*tot) < 9*tot
}

// columnOK checks the column through (x, y), whose pixel has colour c, for
// runs of roughly 1:1:3:1:1 spanning about as much as the row did (tot).
func (b *binImage) columnOK(x, y, tot int, c byte) bool {
	if x < 0 || x >= b.w {
		return false
	}
	w := b.w
	limit := 2 * tot
	var r [5]int
	// Centre run, up and down.
	up := y
	for up >= 0 && b.bin[up*w+x] == c && y-up < limit {
		up--
	}
	down := y
	for down < b.h && b.bin[down*w+x] == c && down-y < limit {
		down++
	}
	r[2] = down - up - 1
	col := 1 - c
	for k := 0; k < 2; k++ {
		n := 0
		for up >= 0 && b.bin[up*w+x] == col && n < limit {
			up--
			n++
		}
		r[1-k] = n
		n = 0
		for down < b.h && b.bin[down*w+x] == col && n < limit {
			down++
			n++
		}
		r[3+k] = n
		col = 1 - col
	}
	if r[0] == 0 || r[4] == 0 {
		return false
	}
	vt := r[0] + r[1] + r[2] + r[3] + r[4]
	return 2*vt >= tot && vt <= 2*tot && ratioOK(r)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pack copies bin into the gozxing bit matrix (dark = set), inverted when
// invert is true, and returns the bitmap the QR reader takes.
func (b *binImage) pack(invert bool) *gozxing.BinaryBitmap {
	if b.packed && b.inv == invert {
		return b.bmp
	}
	w := b.w
	var flip uint32
	if invert {
		flip = ^uint32(0)
	}
	for y := 0; y < b.h; y++ {
		row := b.bin[y*w : y*w+w]
		for x0 := 0; x0 < w; x0 += 32 {
			var word uint32
			seg := row[x0:min(x0+32, w)]
			for i, v := range seg {
				word |= uint32(v) << i
			}
			word ^= flip
			if len(seg) < 32 {
				word &= (1 << len(seg)) - 1
			}
			b.row.SetBulk(x0, word)
		}
		b.mat.SetRow(y, b.row)
	}
	b.packed, b.inv = true, invert
	return b.bmp
}

// fixedBinarizer hands gozxing the matrix binImage already made, so that
// one BinaryBitmap serves every frame.
type fixedBinarizer struct{ b *binImage }

func (f *fixedBinarizer) GetLuminanceSource() gozxing.LuminanceSource { return f.b.src }
func (f *fixedBinarizer) GetBlackRow(y int, row *gozxing.BitArray) (*gozxing.BitArray, error) {
	return f.b.mat.GetRow(y, row), nil
}
func (f *fixedBinarizer) GetBlackMatrix() (*gozxing.BitMatrix, error) { return f.b.mat, nil }
func (f *fixedBinarizer) CreateBinarizer(src gozxing.LuminanceSource) gozxing.Binarizer {
	return gozxing.NewHybridBinarizer(src)
}
func (f *fixedBinarizer) GetWidth() int  { return f.b.w }
func (f *fixedBinarizer) GetHeight() int { return f.b.h }
