package scanner

import "encoding/binary"

// The three loops that touch every pixel of every frame: smoothing a noisy
// frame (box3Row), the binarizer's block statistics (blockStats) and its
// thresholding (darkRow). Each has a portable version here, 8 pixels at a
// time in a uint64 (SWAR), which is the reference: on amd64 and arm64 an
// assembly version does the bulk of a row 16 pixels at a time and must
// agree with it bit for bit (TestKernels, FuzzKernels). Build with
// -tags purego for the portable versions on every architecture.

// box3RowGo sets orow[x] = binomial(ra, rb, rc, x) for every x: one row of
// box3, with ra and rc the rows above and below (all of one length). The
// weighted column sums of three rows go into 16-bit lanes, even and odd
// pixels apart, where a pixel's horizontal neighbours are the other word's
// lanes shifted by one; 4080 fits a lane, and /16 is a shift.
func box3RowGo(ra, rb, rc, orow []byte) {
	w := len(orow)
	ra, rb, rc = ra[:w], rb[:w], rc[:w]
	nk := w / 8
	if nk >= 3 {
		_, o0 := col3(ra, rb, rc, 0)
		e1, o1 := col3(ra, rb, rc, 8)
		for x := 8; x+16 <= w; x += 8 {
			e2, o2 := col3(ra, rb, rc, x+8)
			prev := o1<<16 | o0>>48 // lane i: pixel x+2i-1
			next := e1>>16 | e2<<48 // lane i: pixel x+2i+2
			es := (prev + 2*e1 + o1) >> 4 & low16
			os := (e1 + 2*o1 + next) >> 4 & low16
			binary.LittleEndian.PutUint64(orow[x:x+8], es|os<<8)
			o0, e1, o1 = o1, e2, o2
		}
	}
	// The first and last words and the tail, one pixel at a time, with
	// the edge pixels repeated.
	for x := 0; x < min(8, w); x++ {
		orow[x] = binomial(ra, rb, rc, x)
	}
	for x := max(8*(nk-1), 8); x < w; x++ {
		orow[x] = binomial(ra, rb, rc, x)
	}
}

// col3 sums the 8 pixels at x of three rows column by column, weighted
// 1 2 1: even pixels in the lanes of the first result, odd ones in the second.
func col3(ra, rb, rc []byte, x int) (ev, od uint64) {
	a := binary.LittleEndian.Uint64(ra[x : x+8])
	b := binary.LittleEndian.Uint64(rb[x : x+8])
	c := binary.LittleEndian.Uint64(rc[x : x+8])
	return a&low16 + 2*(b&low16) + c&low16, a>>8&low16 + 2*(b>>8&low16) + c>>8&low16
}

// blockStatsGo sets sum[bx], lo[bx] and hi[bx] to the sum, minimum and
// maximum of the pixels of 8×8 block bx of the 8 rows at src (row i is
// src[i*stride:][:w], w >= 8). Block bx starts at x = 8*bx, the last one
// at w-8 when w is not a multiple of 8 (it overlaps its neighbour);
// len(sum) = len(lo) = len(hi) = (w+7)/8.
//
// SWAR: the even and odd bytes of a row go into four 16-bit lanes each,
// where sums cannot carry over (8 rows × 2 × 255 < 2^16) and a lane-wise
// compare is one subtraction. Block by block, down its rows, with the
// block's statistics in registers: the block row (5 KB at 640 pixels)
// stays in L1, and out-of-order execution overlaps one block's chain with
// the next.
func blockStatsGo(src []byte, stride, w int, sum []uint16, lo, hi []uint8) {
	var rows [blockSize][]byte
	for i := range rows {
		rows[i] = src[i*stride : i*stride+w]
	}
	last := w - blockSize
	for bx := range sum {
		x := min(bx<<blockShift, last)
		var acc, mx uint64
		mn := uint64(low16)
		for _, row := range rows {
			v := binary.LittleEndian.Uint64(row[x : x+8])
			ev, od := v&low16, v>>8&low16
			acc += ev + od
			// ge: 0xffff in each lane where ev >= od.
			ge := ((ev | high16) - od) & high16 >> 15 * 0xffff
			l, h := od&ge|ev&^ge, ev&ge|od&^ge
			ge = ((mn | high16) - l) & high16 >> 15 * 0xffff // mn >= l
			mn = l&ge | mn&^ge
			ge = ((h | high16) - mx) & high16 >> 15 * 0xffff // h >= mx
			mx = h&ge | mx&^ge
		}
		sum[bx] = uint16(acc&0xffff + acc>>16&0xffff + acc>>32&0xffff + acc>>48)
		lo[bx] = uint8(min(mn&0xffff, mn>>16&0xffff, mn>>32&0xffff, mn>>48))
		hi[bx] = uint8(max(mx&0xffff, mx>>16&0xffff, mx>>32&0xffff, mx>>48))
	}
}

// darkRowGo sets bit i of dst[k] (least significant first) when
// src[8k+i] <= tv[8k+i], for every k < len(dst). tv holds one threshold
// per 8 pixels, repeated 8 times (the portable version reads the first).
func darkRowGo(src, tv, dst []byte) {
	src, tv = src[:8*len(dst)], tv[:8*len(dst)]
	for k := range dst {
		dst[k] = darkByte(binary.LittleEndian.Uint64(src[8*k:]), lanes16*uint64(tv[8*k]))
	}
}
