//go:build !purego

package scanner

// The kernels on arm64 (the Raspberry Pi 4 and 5 on a 64-bit OS): NEON
// assembly in kernels_arm64.s does the bulk of a row, 16 pixels to a
// vector; these wrappers check the bounds the assembly relies on (a
// violated contract panics here instead of reading out of bounds) and do
// what is left with the portable code of kernels.go. NEON is part of
// every arm64 core, so there is no feature test.

//go:noescape
func box3RowNEON(ra, rb, rc, orow *byte, w int)

//go:noescape
func blockStatsNEON(src *byte, stride int, sum *uint16, lo, hi *uint8, nq int)

//go:noescape
func darkRowNEON(src, tv, dst *byte, n int)

// box3Row: the assembly sets orow[0..w-2] (it repeats the left edge
// itself); the last pixel, whose right neighbour is itself, is one
// binomial. Rows under 32 pixels are too short for its first two steps.
func box3Row(ra, rb, rc, orow []byte) {
	w := len(orow)
	if w < 32 {
		box3RowGo(ra, rb, rc, orow)
		return
	}
	ra, rb, rc = ra[:w], rb[:w], rc[:w]
	box3RowNEON(&ra[0], &rb[0], &rc[0], &orow[0], w)
	orow[w-1] = binomial(ra, rb, rc, w-1)
}

// blockStats: the assembly does the whole blocks in groups of 4 (32
// pixels); when their number is not a multiple of 4, one more group ends
// at the last of them, recomputing 1 to 3 blocks to the same values,
// rather than leaving up to 3 blocks of every block row to the portable
// code (a 720-pixel row has 90). blockStatsGo does the last block when w
// is not a multiple of 8 (it starts at w-8), and rows under 32 pixels.
func blockStats(src []byte, stride, w int, sum []uint16, lo, hi []uint8) {
	full, done := w/blockSize, 0
	if full >= 4 && stride >= w {
		_, _, _, _ = src[7*stride+w-1], sum[full-1], lo[full-1], hi[full-1]
		blockStatsNEON(&src[0], stride, &sum[0], &lo[0], &hi[0], full/4)
		if b := full - 4; full%4 != 0 {
			blockStatsNEON(&src[b*blockSize], stride, &sum[b], &lo[b], &hi[b], 1)
		}
		done = full
	}
	if x := done * blockSize; x < w {
		x0 := min(x, w-blockSize)
		blockStatsGo(src[x0:], stride, w-x0, sum[done:], lo[done:], hi[done:])
	}
}

// darkRow: the assembly does pairs of dst bytes (16 pixels), darkRowGo
// an odd last one.
func darkRow(src, tv, dst []byte) {
	n := len(dst) &^ 1
	if n > 0 {
		s, t := src[:8*n], tv[:8*n]
		darkRowNEON(&s[0], &t[0], &dst[0], n)
	}
	if n < len(dst) {
		darkRowGo(src[8*n:], tv[8*n:], dst[n:])
	}
}
