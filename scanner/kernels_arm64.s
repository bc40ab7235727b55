//go:build !purego

#include "textflag.h"

// NEON (ASIMD, part of every arm64 core, so no feature test) versions of
// the kernels in kernels.go, 16 pixels to a vector. The Go wrappers in
// kernels_arm64.go check the bounds and do the edges and tails.
//
// Go's assembler has no mnemonic for these; the macros encode them (the
// register numbers are the V registers: d destination, n and m sources).
// Each line's comment in the code gives the instruction in ARM syntax.
#define CMHS16B(d, n, m) WORD $(0x6e203c00 | (m)<<16 | (n)<<5 | (d))   // cmhs vd.16b, vn.16b, vm.16b: n >= m unsigned
#define UMINP16B(d, n, m) WORD $(0x6e20ac00 | (m)<<16 | (n)<<5 | (d))  // uminp vd.16b, vn.16b, vm.16b
#define UMAXP16B(d, n, m) WORD $(0x6e20a400 | (m)<<16 | (n)<<5 | (d))  // umaxp vd.16b, vn.16b, vm.16b
#define UADDLP8H(d, n) WORD $(0x6e202800 | (n)<<5 | (d))               // uaddlp vd.8h, vn.16b
#define UADALP8H(d, n) WORD $(0x6e206800 | (n)<<5 | (d))               // uadalp vd.8h, vn.16b
#define UHADD8H(d, n, m) WORD $(0x6e600400 | (m)<<16 | (n)<<5 | (d))   // uhadd vd.8h, vn.8h, vm.8h
#define SHRN3(d, n) WORD $(0x0f0d8400 | (n)<<5 | (d))                  // shrn vd.8b, vn.8h, #3
#define SHRN23(d, n) WORD $(0x4f0d8400 | (n)<<5 | (d))                 // shrn2 vd.16b, vn.8h, #3
#define UADDL8H(d, n, m) WORD $(0x2e200000 | (m)<<16 | (n)<<5 | (d))   // uaddl vd.8h, vn.8b, vm.8b
#define UADDL28H(d, n, m) WORD $(0x6e200000 | (m)<<16 | (n)<<5 | (d))  // uaddl2 vd.8h, vn.16b, vm.16b
#define UMLAL8H(d, n, m) WORD $(0x2e208000 | (m)<<16 | (n)<<5 | (d))   // umlal vd.8h, vn.8b, vm.8b
#define UMLAL28H(d, n, m) WORD $(0x6e208000 | (m)<<16 | (n)<<5 | (d))  // umlal2 vd.8h, vn.16b, vm.16b

// box3Row: the weighted column sums col = a + 2b + c of 16 pixels go into
// two vectors of 16-bit lanes (C0: x..x+7, C1: x+8..x+15; at most 1020),
// a widening add and a widening multiply-add by V31 = 2. The horizontal
// neighbours are the same lanes shifted by one (VEXT over the previous
// step's C1, P), which makes the step's outputs pixels x-1..x+14: a step
// needs no column to its right, so the loop reads nothing past x+15.
//
// (l + 2c + r) >> 4 == (((l + r) >> 1) + c) >> 3 (the bit dropped by the
// halving add cannot carry into bit 3), so uhadd, add and a narrowing
// shift finish 8 pixels.

// COLS: V3, V4 = the column sums of the next 16 pixels of R0, R1, R2.
#define COLS \
	VLD1.P	16(R0), [V0.B16] \
	VLD1.P	16(R1), [V1.B16] \
	VLD1.P	16(R2), [V2.B16] \
	UADDL8H(3, 0, 2) /* uaddl v3.8h, v0.8b, v2.8b */ \
	UADDL28H(4, 0, 2) /* uaddl2 v4.8h, v0.16b, v2.16b */ \
	UMLAL8H(3, 1, 31) /* umlal v3.8h, v1.8b, v31.8b */ \
	UMLAL28H(4, 1, 31) /* umlal2 v4.8h, v1.16b, v31.16b */

// SMOOTH: V18 = pixels x-1..x+14 from P = V5 (columns x-8..x-1), C0 = V3,
// C1 = V4.
#define SMOOTH \
	VEXT	$14, V3.B16, V5.B16, V6.B16 /* centres x-1..x+6 */ \
	VEXT	$12, V3.B16, V5.B16, V7.B16 /* left neighbours x-2..x+5 */ \
	VEXT	$14, V4.B16, V3.B16, V16.B16 /* centres x+7..x+14 */ \
	VEXT	$12, V4.B16, V3.B16, V17.B16 /* left neighbours x+6..x+13 */ \
	UHADD8H(7, 7, 3) /* uhadd v7.8h, v7.8h, v3.8h: right neighbours are C0 */ \
	UHADD8H(17, 17, 4) /* uhadd v17.8h, v17.8h, v4.8h */ \
	VADD	V6.H8, V7.H8, V7.H8 \
	VADD	V16.H8, V17.H8, V17.H8 \
	SHRN3(18, 7) /* shrn v18.8b, v7.8h, #3 */ \
	SHRN23(18, 17) /* shrn2 v18.16b, v17.8h, #3 */

// func box3RowNEON(ra, rb, rc, orow *byte, w int)
// w >= 32. Sets orow[0..w-2]; the caller does orow[w-1].
TEXT ·box3RowNEON(SB), NOSPLIT, $0-40
	MOVD	ra+0(FP), R0
	MOVD	rb+8(FP), R1
	MOVD	rc+16(FP), R2
	MOVD	orow+24(FP), R3
	MOVD	w+32(FP), R4
	VMOVI	$2, V31.B16
	LSR	$4, R4, R5 // 16-pixel steps, the first one below
	AND	$15, R4, R4 // pixels left after them
	SUB	$1, R5

	// Pixels 0..14: P = col(0) in every lane repeats the edge pixel. The
	// step makes pixels -1..14; rotated by a byte they go to orow[0..15],
	// and orow[15] is rewritten by the next step (w >= 32).
	COLS
	VDUP	V3.H[0], V5.H8
	SMOOTH
	VEXT	$1, V18.B16, V18.B16, V18.B16
	VST1	[V18.B16], (R3)
	ADD	$15, R3
	VMOV	V4.B16, V5.B16

loop:
	COLS
	SMOOTH
	VST1.P	[V18.B16], 16(R3)
	VMOV	V4.B16, V5.B16
	SUBS	$1, R5, R5
	BNE	loop

	CBZ	R4, done
	// 1..15 pixels left: step back so that one more step ends at the row's
	// end (it rewrites some pixels with the same values), with P the
	// columns of the 8 pixels before it.
	MOVD	$16, R6
	SUB	R4, R6, R6
	SUB	R6, R0
	SUB	R6, R1
	SUB	R6, R2
	SUB	R6, R3
	SUB	$8, R0, R7
	VLD1	(R7), [V0.B8]
	SUB	$8, R1, R7
	VLD1	(R7), [V1.B8]
	SUB	$8, R2, R7
	VLD1	(R7), [V2.B8]
	UADDL8H(5, 0, 2)  // uaddl v5.8h, v0.8b, v2.8b
	UMLAL8H(5, 1, 31) // umlal v5.8h, v1.8b, v31.8b
	MOVD	$0, R4
	MOVD	$1, R5
	B	loop

done:
	RET

// func blockStatsNEON(src *byte, stride int, sum *uint16, lo, hi *uint8, nq int)
// nq groups of 4 blocks (32 pixels of each of the 8 rows at src, stride
// apart): the two halves of a row's 32 pixels are two vectors of two blocks.
// Down the rows: min and max lane by lane in trees (depth 3, not a chain of
// 7), sums by pairwise widening adds (uaddlp, then uadalp accumulates; two
// chains). Across a block: pairwise min/max/add over both vectors at once,
// three times, leave the 4 blocks' results in lanes 0..3.
TEXT ·blockStatsNEON(SB), NOSPLIT, $0-48
	MOVD	src+0(FP), R0
	MOVD	stride+8(FP), R1
	MOVD	sum+16(FP), R10
	MOVD	lo+24(FP), R11
	MOVD	hi+32(FP), R12
	MOVD	nq+40(FP), R13
	ADD	R1, R0, R3
	ADD	R1, R3, R4
	ADD	R1, R4, R5
	ADD	R1, R5, R6
	ADD	R1, R6, R7
	ADD	R1, R7, R8
	ADD	R1, R8, R9

blocks:
	// Row i: V(2i) = blocks 0 and 1, V(2i+1) = blocks 2 and 3.
	VLD1.P	32(R0), [V0.B16, V1.B16]
	VLD1.P	32(R3), [V2.B16, V3.B16]
	VLD1.P	32(R4), [V4.B16, V5.B16]
	VLD1.P	32(R5), [V6.B16, V7.B16]
	VLD1.P	32(R6), [V8.B16, V9.B16]
	VLD1.P	32(R7), [V10.B16, V11.B16]
	VLD1.P	32(R8), [V12.B16, V13.B16]
	VLD1.P	32(R9), [V14.B16, V15.B16]

	// Minimum down the rows: V16 (blocks 0, 1), V17 (blocks 2, 3).
	VUMIN	V2.B16, V0.B16, V16.B16
	VUMIN	V3.B16, V1.B16, V17.B16
	VUMIN	V6.B16, V4.B16, V18.B16
	VUMIN	V7.B16, V5.B16, V19.B16
	VUMIN	V10.B16, V8.B16, V20.B16
	VUMIN	V11.B16, V9.B16, V21.B16
	VUMIN	V14.B16, V12.B16, V22.B16
	VUMIN	V15.B16, V13.B16, V23.B16
	VUMIN	V18.B16, V16.B16, V16.B16
	VUMIN	V19.B16, V17.B16, V17.B16
	VUMIN	V22.B16, V20.B16, V20.B16
	VUMIN	V23.B16, V21.B16, V21.B16
	VUMIN	V20.B16, V16.B16, V16.B16
	VUMIN	V21.B16, V17.B16, V17.B16

	// Maximum: V18, V19.
	VUMAX	V2.B16, V0.B16, V18.B16
	VUMAX	V3.B16, V1.B16, V19.B16
	VUMAX	V6.B16, V4.B16, V20.B16
	VUMAX	V7.B16, V5.B16, V21.B16
	VUMAX	V10.B16, V8.B16, V22.B16
	VUMAX	V11.B16, V9.B16, V23.B16
	VUMAX	V14.B16, V12.B16, V24.B16
	VUMAX	V15.B16, V13.B16, V25.B16
	VUMAX	V20.B16, V18.B16, V18.B16
	VUMAX	V21.B16, V19.B16, V19.B16
	VUMAX	V24.B16, V22.B16, V22.B16
	VUMAX	V25.B16, V23.B16, V23.B16
	VUMAX	V22.B16, V18.B16, V18.B16
	VUMAX	V23.B16, V19.B16, V19.B16

	// Sums of pixel pairs, 16-bit: V20 (blocks 0, 1), V22 (blocks 2, 3).
	UADDLP8H(20, 0)  // uaddlp v20.8h, v0.16b
	UADALP8H(20, 2)  // uadalp v20.8h, v2.16b
	UADALP8H(20, 4)  // uadalp v20.8h, v4.16b
	UADALP8H(20, 6)  // uadalp v20.8h, v6.16b
	UADDLP8H(21, 8)  // uaddlp v21.8h, v8.16b
	UADALP8H(21, 10) // uadalp v21.8h, v10.16b
	UADALP8H(21, 12) // uadalp v21.8h, v12.16b
	UADALP8H(21, 14) // uadalp v21.8h, v14.16b
	UADDLP8H(22, 1)  // uaddlp v22.8h, v1.16b
	UADALP8H(22, 3)  // uadalp v22.8h, v3.16b
	UADALP8H(22, 5)  // uadalp v22.8h, v5.16b
	UADALP8H(22, 7)  // uadalp v22.8h, v7.16b
	UADDLP8H(23, 9)  // uaddlp v23.8h, v9.16b
	UADALP8H(23, 11) // uadalp v23.8h, v11.16b
	UADALP8H(23, 13) // uadalp v23.8h, v13.16b
	UADALP8H(23, 15) // uadalp v23.8h, v15.16b
	VADD	V21.H8, V20.H8, V20.H8
	VADD	V23.H8, V22.H8, V22.H8

	// Across each block: 16 -> 8 -> 4 lanes per pair of vectors.
	UMINP16B(16, 16, 17) // uminp v16.16b, v16.16b, v17.16b
	UMINP16B(16, 16, 16) // uminp v16.16b, v16.16b, v16.16b
	UMINP16B(16, 16, 16) // uminp v16.16b, v16.16b, v16.16b
	UMAXP16B(18, 18, 19) // umaxp v18.16b, v18.16b, v19.16b
	UMAXP16B(18, 18, 18) // umaxp v18.16b, v18.16b, v18.16b
	UMAXP16B(18, 18, 18) // umaxp v18.16b, v18.16b, v18.16b
	VADDP	V22.H8, V20.H8, V20.H8
	VADDP	V20.H8, V20.H8, V20.H8

	VST1.P	[V20.B8], 8(R10) // 4 sums
	VST1.P	V16.S[0], 4(R11) // 4 minima
	VST1.P	V18.S[0], 4(R12) // 4 maxima
	SUBS	$1, R13, R13
	BNE	blocks
	RET

// func darkRowNEON(src, tv, dst *byte, n int)
// n even, > 0. t >= v is one unsigned compare (cmhs) giving 0xff or 0; AND
// with each byte's bit weight (1, 2, ..., 128 per 8 pixels) and three
// pairwise adds sum each 8 pixels' weights into one byte, the "movemask"
// NEON lacks. 64 pixels a step, so the pairwise adds work on full
// vectors; then 16 at a time.
TEXT ·darkRowNEON(SB), NOSPLIT, $0-32
	MOVD	src+0(FP), R0
	MOVD	tv+8(FP), R1
	MOVD	dst+16(FP), R2
	MOVD	n+24(FP), R3
	VMOVQ	$0x8040201008040201, $0x8040201008040201, V30
	LSR	$3, R3, R4 // 64-pixel steps
	AND	$7, R3, R3 // bytes left after them
	CBZ	R4, pairs

dark64:
	VLD1.P	64(R0), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P	64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	CMHS16B(0, 4, 0) // cmhs v0.16b, v4.16b, v0.16b
	CMHS16B(1, 5, 1) // cmhs v1.16b, v5.16b, v1.16b
	CMHS16B(2, 6, 2) // cmhs v2.16b, v6.16b, v2.16b
	CMHS16B(3, 7, 3) // cmhs v3.16b, v7.16b, v3.16b
	VAND	V30.B16, V0.B16, V0.B16
	VAND	V30.B16, V1.B16, V1.B16
	VAND	V30.B16, V2.B16, V2.B16
	VAND	V30.B16, V3.B16, V3.B16
	VADDP	V1.B16, V0.B16, V0.B16 // pairs: 8 pixels in 4 lanes
	VADDP	V3.B16, V2.B16, V2.B16
	VADDP	V2.B16, V0.B16, V0.B16 // in 2 lanes
	VADDP	V0.B16, V0.B16, V0.B16 // in 1: lanes 0..7 = dst bytes
	VST1.P	[V0.B8], 8(R2)
	SUBS	$1, R4, R4
	BNE	dark64

pairs:
	CBZ	R3, darkdone

dark16:
	VLD1.P	16(R0), [V0.B16]
	VLD1.P	16(R1), [V4.B16]
	CMHS16B(0, 4, 0) // cmhs v0.16b, v4.16b, v0.16b
	VAND	V30.B16, V0.B16, V0.B16
	VADDP	V0.B16, V0.B16, V0.B16
	VADDP	V0.B16, V0.B16, V0.B16
	VADDP	V0.B16, V0.B16, V0.B16
	VST1.P	V0.H[0], 2(R2)
	SUBS	$2, R3, R3
	BNE	dark16

darkdone:
	RET
