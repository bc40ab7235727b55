package scanner

import (
	"encoding/binary"
	"image"
	"math/bits"

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
// gating and packing allocate nothing. Pixels are bits, least significant
// first, dark = 1, bpr bytes per row (a multiple of 8, so that rows can be
// read 64 bits at a time).
type binImage struct {
	w, h   int
	bw, bh int // size in blocks
	bpr    int
	bits   []byte
	bp     []int32 // per-block black point
	blo    []uint8 // per-block minimum
	brange []uint8 // per-block max-min
	// noise is the contrast of a quiet block in the last binarized image
	// (rangeQuantile), floor the contrast a block needed to count.
	noise, floor int
	// lum and contrast: see quietRange.
	lum, contrast int
	hsum          []int32 // bp summed over 5 blocks across, then 5 down (win)
	win           []int32
	// One block row's statistics (see blockStats): per block, the sum,
	// minimum and maximum of its pixels.
	ssum     []uint16
	slo, shi []uint8
	tv       []byte // one block row's thresholds, each repeated 8 times (darkRow)
	mat      *gozxing.BitMatrix
	row      *gozxing.BitArray
	bmp      *gozxing.BinaryBitmap
	src      *lumSource
	packed   bool // mat holds bits (inverted if inv)
	inv      bool
	// Finder-pattern-like places found by finderHits, per polarity
	// (0 dark-centred, 1 light-centred), merged when close together.
	cands [2][maxCands]cand
	ncand [2]int
	// area is, per polarity, where the plausible code triple with the
	// largest patterns lies (its three finder centres and the fourth corner
	// they imply, with a margin for the patterns and the quiet zone);
	// empty when there is none.
	area     [2]image.Rectangle
	areaSize [2]int     // the smallest finder pattern of that triple
	tri      [2][3]cand // that triple
	over     [2]int     // distinct places found beyond maxCands
	// strict makes the finder scan check each place's diagonal too, and
	// count only places seen on minRows rows: for smoothed noisy frames,
	// whose mottled texture shows chance 1:1:3:1:1 runs.
	strict bool
}

// cand is a place that looks like a finder pattern: its centre, its width
// (7 modules) as first seen, and how many rows confirmed it. A finder
// pattern's centre spans at least three pixel rows, each of which shows it;
// a chance arrangement of noise or texture mostly shows on one.
type cand struct{ x, y, size, rows int }

// minRows is how many rows must show a finder-like place for it to count.
const minRows = 2

// maxCands bounds the candidates kept per polarity; a code has three.
const maxCands = 24

func (b *binImage) resize(w, h int) {
	if b.w == w && b.h == h && b.mat != nil {
		return
	}
	b.w, b.h = w, h
	b.bw = (w + blockSize - 1) >> blockShift
	b.bh = (h + blockSize - 1) >> blockShift
	b.bpr = (w + 63) / 64 * 8
	b.bits = make([]byte, b.bpr*h)
	b.bp = make([]int32, b.bw*b.bh)
	b.blo = make([]uint8, b.bw*b.bh)
	b.brange = make([]uint8, b.bw*b.bh)
	b.hsum = make([]int32, b.bw*b.bh)
	b.win = make([]int32, b.bw*b.bh)
	b.ssum, b.slo, b.shi = make([]uint16, b.bw), make([]uint8, b.bw), make([]uint8, b.bw)
	b.tv = make([]byte, b.bw*blockSize)
	b.mat, _ = gozxing.NewBitMatrix(w, h)
	b.row = gozxing.NewBitArray(w)
	b.src = &lumSource{}
	b.bmp, _ = gozxing.NewBinaryBitmap(&fixedBinarizer{b})
}

// at reports whether pixel (x, y) is dark.
func (b *binImage) at(x, y int) bool {
	return b.bits[y*b.bpr+x>>3]>>(x&7)&1 == 1
}

// binarize thresholds p into b.bits. Each 8×8 block gets a black point: its
// mean when the block has contrast (max-min above the floor), otherwise a
// guess that the flat block is background (half its minimum, or its dark
// neighbours' level when they are darker). Each pixel is then compared with
// the average black point of the 5×5 blocks around its own.
//
// The floor is minRange; adaptive raises it to what noise alone gives a
// block of this image (see noiseFloor), so that a noisy frame's flat wall
// stays flat instead of having its noise thresholded into runs. Only for
// smoothed noisy frames: on clean photos it loses faint modules.
func (b *binImage) binarize(p plane, minRange int, adaptive bool) {
	b.resize(p.w, p.h)
	b.src.p = p
	b.packed = false
	w, h, bw, bh := p.w, p.h, b.bw, b.bh
	var hist [256]int32
	for by := 0; by < bh; by++ {
		y0 := by << blockShift
		if y0 > h-blockSize {
			y0 = max(h-blockSize, 0)
		}
		y1 := min(y0+blockSize, h)
		wide := w >= blockSize && y1-y0 == blockSize
		if wide {
			blockStats(p.y[y0*p.stride:], p.stride, w, b.ssum, b.slo, b.shi)
		}
		for bx := 0; bx < bw; bx++ {
			x0 := bx << blockShift
			if x0 > w-blockSize {
				x0 = max(w-blockSize, 0)
			}
			x1 := min(x0+blockSize, w)
			var sum, lo, hi int
			if wide {
				sum, lo, hi = int(b.ssum[bx]), int(b.slo[bx]), int(b.shi[bx])
			} else {
				sum, lo, hi = pixelStats(p, x0, x1, y0, y1)
			}
			n := (y1 - y0) * (x1 - x0)
			i := by*bw + bx
			b.bp[i] = int32(sum / n)
			b.blo[i], b.brange[i] = uint8(lo), uint8(hi-lo)
			hist[hi-lo]++
		}
	}
	b.noise = rangeQuantile(&hist, bw*bh)
	floor := minRange
	if adaptive {
		floor = max(minRange, noiseFloor(b.noise))
	}
	b.floor = floor
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			i := by*bw + bx
			if int(b.brange[i]) > floor {
				continue // the mean, set above
			}
			lo := int(b.blo[i])
			bp := lo / 2
			// A flat block inside a dark module area: use the darker
			// neighbours' level so the whole module stays dark.
			if by > 0 && bx > 0 {
				nb := (int(b.bp[(by-1)*bw+bx]) + 2*int(b.bp[by*bw+bx-1]) + int(b.bp[(by-1)*bw+bx-1])) / 4
				if lo < nb {
					bp = nb
				}
			}
			b.bp[i] = int32(bp)
		}
	}
	b.windowSums()
	// Row by row across the blocks (memory in order), with each block's
	// threshold repeated over its 8 pixels for darkRow.
	full := w >> blockShift // blocks of 8 whole pixels
	tv := b.tv[:bw*blockSize]
	for by := 0; by < bh; by++ {
		y0 := by << blockShift
		y1 := min(y0+blockSize, h)
		cy := min(max(by, 2), max(bh-3, 0))
		for bx := range bw {
			cx := min(max(bx, 2), max(bw-3, 0))
			binary.LittleEndian.PutUint64(tv[bx<<blockShift:], lanes8*uint64(b.windowMean(cx, cy)))
		}
		for y := y0; y < y1; y++ {
			src := p.y[y*p.stride : y*p.stride+w]
			dst := b.bits[y*b.bpr : y*b.bpr+bw]
			darkRow(src[:full<<blockShift], tv[:full<<blockShift], dst[:full])
			if full < bw {
				t := int(tv[full<<blockShift])
				var v uint
				for i, s := range src[full<<blockShift:] {
					v |= dark(s, t) << i
				}
				dst[full] = byte(v)
			}
		}
	}
}

const (
	lanes8  = 0x0101010101010101
	lanes16 = 0x0001000100010001
	low16   = 0x00ff00ff00ff00ff
	high16  = 0x8000800080008000
)

// darkByte thresholds 8 pixels at once (SWAR): bit i of the result is 1
// when byte i of px is <= the threshold held in each 16-bit lane of tt. The
// pixels are split into even and odd bytes in 16-bit lanes, where
// (tt|0x8000) - v keeps its top bit exactly when v <= t, with no borrow
// between lanes; the eight top bits are then gathered into one byte.
func darkByte(px, tt uint64) byte {
	even := ((tt | high16) - px&low16) & high16 >> 15
	odd := ((tt | high16) - (px>>8)&low16) & high16 >> 15
	c := even | odd<<1 // pixel pairs at bits 0, 16, 32, 48
	c |= c >> 14
	c |= c >> 28
	return byte(c)
}

// windowSums fills win with the sum of the black points over the 5×5
// blocks centred on each block (centres at least 2 blocks from the edges;
// smaller images are summed directly by windowMean).
func (b *binImage) windowSums() {
	bw, bh := b.bw, b.bh
	if bw < 5 || bh < 5 {
		return
	}
	for y := 0; y < bh; y++ {
		r := b.bp[y*bw : y*bw+bw]
		o := b.hsum[y*bw : y*bw+bw]
		s := r[0] + r[1] + r[2] + r[3] + r[4]
		o[2] = s
		for x := 3; x < bw-2; x++ {
			s += r[x+2] - r[x-3]
			o[x] = s
		}
	}
	for x := 2; x < bw-2; x++ {
		s := b.hsum[x] + b.hsum[bw+x] + b.hsum[2*bw+x] + b.hsum[3*bw+x] + b.hsum[4*bw+x]
		b.win[2*bw+x] = s
		for y := 3; y < bh-2; y++ {
			s += b.hsum[(y+2)*bw+x] - b.hsum[(y-3)*bw+x]
			b.win[y*bw+x] = s
		}
	}
}

// windowMean is the mean black point of the (up to) 5×5 blocks centred on
// block (cx, cy).
func (b *binImage) windowMean(cx, cy int) int {
	bw, bh := b.bw, b.bh
	if bw >= 5 && bh >= 5 {
		return int(b.win[cy*bw+cx]) / 25
	}
	sum, n := 0, 0
	for yy := max(cy-2, 0); yy <= min(cy+2, bh-1); yy++ {
		r := b.bp[yy*bw:]
		for xx := max(cx-2, 0); xx <= min(cx+2, bw-1); xx++ {
			sum += int(r[xx])
			n++
		}
	}
	return sum / n
}

// dark is 1 when v <= t, computed without a branch.
func dark(v byte, t int) uint {
	return uint(t-int(v))>>(bits.UintSize-1) ^ 1
}

// finderHits counts the distinct places that look like a QR finder
// pattern (runs in the ratio 1:1:3:1:1 across a row, confirmed by the same
// down the column through the centre): dark counts dark-centred ones (a
// normal code), light counts light-centred ones (a light-on-dark code). A
// code shows three. The test is deliberately more tolerant than gozxing's
// finder so that it only spares gozxing frames it could not decode anyway;
// on a frame without a code it is the only work done besides binarizing.
// Rows are read 64 pixels at a time and only their colour changes are
// visited, so flat areas cost next to nothing.
func (b *binImage) finderHits() (dark, light int) {
	w, h := b.w, b.h
	nw := b.bpr / 8
	b.ncand, b.over = [2]int{}, [2]int{}
	for y := 0; y < h; y++ {
		row := b.bits[y*b.bpr : (y+1)*b.bpr]
		var runs [5]int
		start := 0 // where the current run began
		carry := uint64(row[0] & 1)
		for k := 0; k < nw; k++ {
			word := binary.LittleEndian.Uint64(row[8*k:])
			// Bit i of t is set where pixel 64k+i differs from the one before.
			t := word ^ (word<<1 | carry)
			carry = word >> 63
			if lim := w - 64*k; lim < 64 {
				t &= 1<<uint(lim) - 1
			}
			for t != 0 {
				x := 64*k + bits.TrailingZeros64(t)
				t &= t - 1
				runs = [5]int{runs[1], runs[2], runs[3], runs[4], x - start}
				start = x
				// The run that just ended has the colour opposite to x's,
				// which is also the colour of the centre run.
				if runs[0] > 0 && ratioOK(runs) {
					b.hit(x, y, runs, byte(word>>uint(x&63)&1)^1)
				}
			}
		}
		// The last run ends at the right edge.
		runs = [5]int{runs[1], runs[2], runs[3], runs[4], w - start}
		if runs[0] > 0 && ratioOK(runs) {
			b.hit(w, y, runs, row[(w-1)>>3]>>uint((w-1)&7)&1)
		}
	}
	return b.triples(0), b.triples(1)
}

// triples reports how plausible it is that a polarity's candidates include
// a code's three finder patterns: 0 when no three of them have similar
// sizes (within a factor of 2: gozxing's own limit is 1.4) and lie like the
// corners of a code (pairwise at least 9 modules apart, roughly a right
// isosceles triangle), else the number of candidates.
func (b *binImage) triples(pol int) int {
	var keep [maxCands]cand
	cs := b.confirmed(pol, &keep)
	b.area[pol] = image.Rectangle{}
	// Of the plausible triples, the window for the first read is around
	// the one whose places showed on the most rows (the fewest of its
	// three), then with the largest patterns: a finder pattern shows on
	// every row through its 3-module centre, while the finder-like places
	// inside a code or in texture, some of them larger, show on a few. By
	// size alone the window was often around a code's inner places and
	// missed part of it: the first read failed and the full-frame read,
	// of the same bitmap, succeeded.
	best, bestRows := 0, 0 // the smallest pattern and fewest rows of the best triple so far
	for i := 0; i < len(cs); i++ {
		for j := i + 1; j < len(cs); j++ {
			if !pairOK(cs[i], cs[j]) {
				continue
			}
			for k := j + 1; k < len(cs); k++ {
				if !pairOK(cs[i], cs[k]) || !pairOK(cs[j], cs[k]) {
					continue
				}
				sz, rows := min(cs[i].size, cs[j].size, cs[k].size), min(cs[i].rows, cs[j].rows, cs[k].rows)
				if (rows > bestRows || rows == bestRows && sz > best) &&
					rightIsosceles(dist2(cs[i], cs[j]), dist2(cs[j], cs[k]), dist2(cs[i], cs[k])) {
					best, bestRows = sz, rows
					b.area[pol] = codeArea(cs[i], cs[j], cs[k])
					b.tri[pol] = [3]cand{cs[i], cs[j], cs[k]}
				}
			}
		}
	}
	b.areaSize[pol] = best
	if best == 0 {
		return 0
	}
	return len(cs)
}

// confirmed copies into keep, and returns, polarity pol's candidates that
// count: on a strict scan, those seen on at least minRows rows.
func (b *binImage) confirmed(pol int, keep *[maxCands]cand) []cand {
	n := 0
	for _, c := range b.cands[pol][:b.ncand[pol]] {
		if c.rows >= minRows || !b.strict {
			keep[n] = c
			n++
		}
	}
	return keep[:n]
}

// busyPerMpx is the density of finder-like places (beyond maxCands, per
// million pixels) above which a scene is too busy for a full-frame gozxing
// read: gozxing's finder keeps every such place and tries every triple of
// them, so a periodic pattern (fabric, a grille) made one read of a
// 181x176 frame take 1.7 s. The densest real code photo in the black-box
// set has 3,128; such patterns have about 100,000.
const busyPerMpx = 20000

// busy reports whether polarity pol of the image is too busy (see busyPerMpx).
func (b *binImage) busy(pol int) bool {
	// int64: on 32-bit ARM (Pi OS armhf) both sides overflow an int; the
	// right one already at 640x480 (20,000 × 307,200).
	return int64(b.over[pol])*1_000_000 > busyPerMpx*int64(b.w)*int64(b.h)
}

// codeArea is the box around a code whose finder patterns are centred at
// p, q and r: the right-angle corner is the one opposite the longest side,
// the fourth corner is where the other two imply it, and the margin (8
// modules) holds the patterns' outer halves and some of the quiet zone.
func codeArea(p, q, r cand) image.Rectangle {
	a, u, v := p, q, r // a: the right-angle corner
	switch max(dist2(p, q), dist2(q, r), dist2(p, r)) {
	case dist2(p, q):
		a, u, v = r, p, q
	case dist2(p, r):
		a, u, v = q, p, r
	}
	dx, dy := u.x+v.x-a.x, u.y+v.y-a.y
	m := 8 * max(p.size, q.size, r.size) / 7
	return image.Rect(min(a.x, u.x, v.x, dx)-m, min(a.y, u.y, v.y, dy)-m,
		max(a.x, u.x, v.x, dx)+m+1, max(a.y, u.y, v.y, dy)+m+1)
}

// crop makes c the window r of b's bits (r.Min.X a multiple of 8, r inside
// b), ready to hand to gozxing like a binarized image of its own.
func (b *binImage) crop(r image.Rectangle, c *binImage) {
	c.resize(r.Dx(), r.Dy())
	p := b.src.p
	c.src.p = plane{y: p.y[r.Min.Y*p.stride+r.Min.X:], w: r.Dx(), h: r.Dy(), stride: p.stride}
	c.packed = false
	n := min(c.bpr, b.bpr-r.Min.X>>3)
	for y := 0; y < c.h; y++ {
		src := b.bits[(r.Min.Y+y)*b.bpr+r.Min.X>>3:]
		copy(c.bits[y*c.bpr:y*c.bpr+n], src[:n])
	}
}

// rightIsosceles reports whether a triangle with these squared sides is
// roughly a right isosceles one, as a code's finder patterns are, with
// room for perspective and rolling-shutter shear: legs within a factor of
// about 1.5 of each other, and the angle between them (opposite the
// longest side) between 66° and 154°: cos² of it at most 0.16 when acute,
// 0.81 when obtuse. By the law of cosines a+b-c = 2√(ab)·cos, so the test
// needs no root. A skewed, tilted code's corner leans either way, and a
// noisy frame's finder centres add to it: the bounds are those that read
// more camera frames without a false read (scanner/camera_corpus_test.go).
func rightIsosceles(x, y, z int) bool {
	a, c := min(x, y, z), max(x, y, z)
	b := x + y + z - a - c
	if b > 9*a/4 {
		return false
	}
	// int64: on 32-bit ARM the products overflow an int.
	d, ab := int64(a+b-c), 4*int64(a)*int64(b)
	if d > 0 {
		return 100*d*d <= 16*ab
	}
	return 100*d*d <= 81*ab
}

func pairOK(p, q cand) bool {
	lo, hi := min(p.size, q.size), max(p.size, q.size)
	if hi > 2*lo {
		return false
	}
	// 9 modules = 9/7 of the smaller pattern's width.
	return 49*dist2(p, q) >= 81*lo*lo
}

func dist2(p, q cand) int {
	dx, dy := p.x-q.x, p.y-q.y
	return dx*dx + dy*dy
}

// hit confirms a row candidate ending at x down its centre column and
// records it, merged with a candidate already seen close by.
func (b *binImage) hit(x, y int, runs [5]int, c byte) {
	tot := runs[0] + runs[1] + runs[2] + runs[3] + runs[4]
	cx := x - runs[4] - runs[3] - runs[2]/2 - 1
	cy, ok := b.columnOK(cx, y, tot, c)
	if !ok || (b.strict && !b.diagonalOK(cx, cy, tot, c, 1) && !b.diagonalOK(cx, cy, tot, c, -1)) {
		return
	}
	pol := int(c ^ 1)
	cs := b.cands[pol][:b.ncand[pol]]
	for i := range cs {
		if k := &cs[i]; abs(k.x-cx)*2 <= k.size && abs(k.y-cy)*2 <= k.size {
			k.rows++
			return
		}
	}
	if len(cs) < maxCands {
		b.cands[pol][len(cs)] = cand{cx, cy, tot, 1}
		b.ncand[pol]++
		return
	}
	b.over[pol]++
	// Full: the place takes the slot of one seen on a single row that the
	// scan has left behind (it can gain no more rows), so that the noise
	// of the upper part of a frame does not crowd out a code below.
	for i := range cs {
		if k := &cs[i]; b.strict && k.rows < minRows && k.y+k.size < y {
			*k = cand{cx, cy, tot, 1}
			return
		}
	}
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

// diagonalOK checks a diagonal (dir 1: down to the right, -1: up) through a
// place's centre (x, y), of colour c, for runs of roughly 1:1:3:1:1: a blob
// of texture that passed across and down rarely passes there too. One of
// the two suffices: a small rotated pattern's rings can break along one.
func (b *binImage) diagonalOK(x, y, tot int, c byte, dir int) bool {
	if x < 0 || x >= b.w || y < 0 || y >= b.h || b.at(x, y) != (c == 1) {
		return false
	}
	is := func(k int, col byte) bool {
		xx, yy := x+k, y+dir*k
		return xx >= 0 && yy >= 0 && xx < b.w && yy < b.h && b.at(xx, yy) == (col == 1)
	}
	limit := 2 * tot
	var r [5]int
	up, down := 0, 0
	for is(up, c) && -up < limit {
		up--
	}
	for is(down, c) && down < limit {
		down++
	}
	r[2] = down - up - 1
	col := 1 - c
	for k := 0; k < 2; k++ {
		n := 0
		for is(up, col) && n < limit {
			up--
			n++
		}
		r[1-k] = n
		n = 0
		for is(down, col) && n < limit {
			down++
			n++
		}
		r[3+k] = n
		col = 1 - col
	}
	if r[0] == 0 || r[4] == 0 {
		return false
	}
	// Along the diagonal a pattern spans from 1 to √2 times its row width
	// (by its rotation); ratioOK's slack covers the rest.
	vt := r[0] + r[1] + r[2] + r[3] + r[4]
	return 2*vt >= tot && vt <= 2*tot && ratioOK(r)
}

// columnOK checks the column through (x, y), whose pixel has colour c, for
// runs of roughly 1:1:3:1:1 spanning about as much as the row did (tot),
// and returns the centre row of the pattern.
func (b *binImage) columnOK(x, y, tot int, c byte) (int, bool) {
	if x < 0 || x >= b.w {
		return 0, false
	}
	is := func(yy int, col byte) bool { return b.at(x, yy) == (col == 1) }
	limit := 2 * tot
	var r [5]int
	up := y
	for up >= 0 && is(up, c) && y-up < limit {
		up--
	}
	down := y
	for down < b.h && is(down, c) && down-y < limit {
		down++
	}
	r[2] = down - up - 1
	col := 1 - c
	for k := 0; k < 2; k++ {
		n := 0
		for up >= 0 && is(up, col) && n < limit {
			up--
			n++
		}
		r[1-k] = n
		n = 0
		for down < b.h && is(down, col) && n < limit {
			down++
			n++
		}
		r[3+k] = n
		col = 1 - col
	}
	if r[0] == 0 || r[4] == 0 {
		return 0, false
	}
	vt := r[0] + r[1] + r[2] + r[3] + r[4]
	centre := (up + r[0] + r[1] + 1 + down - r[3] - r[4]) / 2
	return centre, 2*vt >= tot && vt <= 2*tot && ratioOK(r)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pack copies the bits into gozxing's bit matrix (dark = set), inverted
// when invert is true, and returns the bitmap the QR reader takes.
func (b *binImage) pack(invert bool) *gozxing.BinaryBitmap {
	if b.packed && b.inv == invert {
		return b.bmp
	}
	var flip uint32
	if invert {
		flip = ^uint32(0)
	}
	n32 := (b.w + 31) / 32
	var tail uint32 = ^uint32(0)
	if r := b.w % 32; r != 0 {
		tail = 1<<uint(r) - 1
	}
	for y := 0; y < b.h; y++ {
		row := b.bits[y*b.bpr:]
		for k := 0; k < n32; k++ {
			v := binary.LittleEndian.Uint32(row[4*k:]) ^ flip
			if k == n32-1 {
				v &= tail
			}
			b.row.SetBulk(32*k, v)
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

// pixelStats returns the sum, minimum and maximum of a block, for images
// too small for blockStats.
func pixelStats(p plane, x0, x1, y0, y1 int) (sum, lo, hi int) {
	lo = 255
	for y := y0; y < y1; y++ {
		for _, v := range p.y[y*p.stride+x0 : y*p.stride+x1] {
			iv := int(v)
			sum += iv
			lo = min(lo, iv)
			hi = max(hi, iv)
		}
	}
	return sum, lo, hi
}
