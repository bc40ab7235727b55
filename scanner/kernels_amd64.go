//go:build !purego

package scanner

// SSE2 versions of the three kernels (kernels_amd64.s). SSE2 is part of the
// amd64 baseline (GOAMD64=v1), so there is no feature test and no fallback.
// Each wrapper hands the assembly whole chunks of 16 pixels, after checking
// the bounds the assembly relies on (a short slice panics here, as the
// portable version would, instead of being read past its end), and finishes
// edges and tails with the portable helpers.

// box3RowSSE2 sets orow[x] for x in [0, 16n), reading ra, rb and rc from
// index -1 to 16n (both included): the caller keeps both in bounds.
//
//go:noescape
func box3RowSSE2(ra, rb, rc, orow *byte, n int)

// blockStatsSSE2 sets the statistics of blocks [0, 2n) (8 pixels apart,
// none overlapping), reading bytes [0, 16n) of the 8 rows.
//
//go:noescape
func blockStatsSSE2(src *byte, stride int, sum *uint16, lo, hi *uint8, n int)

// darkRowSSE2 sets dst[0:2n] from src[0:16n] and tv[0:16n].
//
//go:noescape
func darkRowSSE2(src, tv, dst *byte, n int)

func box3Row(ra, rb, rc, orow []byte) {
	w := len(orow)
	// A chunk needs the columns on both sides of its 16 pixels: the
	// interior [1, w-1) in chunks from x = 1, the last one moved left to
	// end at w-1 (it rewrites some pixels with the same values), the two
	// edge pixels with binomial.
	if w < 18 {
		box3RowGo(ra, rb, rc, orow)
		return
	}
	ra, rb, rc = ra[:w], rb[:w], rc[:w]
	n := (w - 2) / 16
	box3RowSSE2(&ra[1], &rb[1], &rc[1], &orow[1], n)
	if (w-2)%16 != 0 {
		x := w - 17
		box3RowSSE2(&ra[x], &rb[x], &rc[x], &orow[x], 1)
	}
	orow[0] = binomial(ra, rb, rc, 0)
	orow[w-1] = binomial(ra, rb, rc, w-1)
}

func blockStats(src []byte, stride, w int, sum []uint16, lo, hi []uint8) {
	n := w / 16 // pairs of blocks, both whole
	if n > 0 {
		_ = src[7*stride+16*n-1]
		_, _, _ = sum[2*n-1], lo[2*n-1], hi[2*n-1]
		blockStatsSSE2(&src[0], stride, &sum[0], &lo[0], &hi[0], n)
	}
	// One or two blocks left: the portable version from 8 pixels before
	// the end when only the overlapping last block is left.
	if k := 2 * n; k < len(sum) {
		x := min(k*blockSize, w-blockSize)
		blockStatsGo(src[x:], stride, w-x, sum[k:], lo[k:], hi[k:])
	}
}

func darkRow(src, tv, dst []byte) {
	n := len(dst) / 2
	if n > 0 {
		_, _ = src[16*n-1], tv[16*n-1]
		darkRowSSE2(&src[0], &tv[0], &dst[0], n)
	}
	if len(dst)&1 != 0 {
		darkRowGo(src[16*n:], tv[16*n:], dst[2*n:])
	}
}
