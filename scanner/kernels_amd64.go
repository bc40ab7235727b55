//go:build !purego

package scanner

// Placeholder until the assembly lands: the portable versions.

func box3Row(ra, rb, rc, orow []byte) { box3RowGo(ra, rb, rc, orow) }

func blockStats(src []byte, stride, w int, sum []uint16, lo, hi []uint8) {
	blockStatsGo(src, stride, w, sum, lo, hi)
}

func darkRow(src, tv, dst []byte) { darkRowGo(src, tv, dst) }
