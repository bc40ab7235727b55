//go:build !purego

#include "textflag.h"

// SSE2 only (the GOAMD64=v1 baseline). Legacy SSE instructions fault on an
// unaligned memory operand, so every pixel load is a MOVOU into a register.

// func box3RowSSE2(ra, rb, rc, orow *byte, n int)
//
// 16 pixels per chunk. Splitting each row into its even and odd pixels (a
// mask and a shift, no unpacking) puts the 1-2-1 column sums of the chunk
// into two registers of eight 16-bit lanes, CE (pixels x, x+2, ...) and CO
// (x+1, x+3, ...): 4 × 1020 fits a lane. Then the horizontal neighbours of
// an even pixel are CO's lanes i-1 and i, those of an odd pixel CE's lanes
// i and i+1: one lane shift each, with the one column from outside the
// chunk put into the free lane by PINSRW. Column x-1 is the previous
// chunk's last odd column (kept in AX), column x+16 is summed from three
// bytes, so that nothing past x+16 is read.
TEXT ·box3RowSSE2(SB), NOSPLIT, $0-40
	MOVQ ra+0(FP), SI
	MOVQ rb+8(FP), DI
	MOVQ rc+16(FP), R8
	MOVQ orow+24(FP), DX
	MOVQ n+32(FP), CX
	TESTQ CX, CX
	JLE  box3done
	PCMPEQW X14, X14
	PSRLW   $8, X14 // 0x00ff in each lane: the even pixels

	// Column x-1 of the first chunk.
	MOVBLZX -1(SI), AX
	MOVBLZX -1(DI), BX
	MOVBLZX -1(R8), R9
	ADDL    R9, AX
	LEAL    (AX)(BX*2), AX

box3loop:
	MOVOU (SI), X0
	MOVOU (DI), X1
	MOVOU (R8), X2
	MOVO  X0, X3
	PAND  X14, X0
	PSRLW $8, X3
	MOVO  X1, X4
	PAND  X14, X1
	PSRLW $8, X4
	MOVO  X2, X5
	PAND  X14, X2
	PSRLW $8, X5
	PADDW X2, X0
	PADDW X1, X1
	PADDW X1, X0 // X0 = CE
	PADDW X5, X3
	PADDW X4, X4
	PADDW X4, X3 // X3 = CO

	// Left neighbours of the even pixels: CO one lane up, column x-1 in
	// lane 0.
	MOVO   X3, X6
	PSLLDQ $2, X6
	PINSRW $0, AX, X6

	// Right neighbours of the odd pixels: CE one lane down, column x+16
	// in lane 7.
	MOVBLZX 16(SI), AX
	MOVBLZX 16(DI), BX
	MOVBLZX 16(R8), R9
	ADDL    R9, AX
	LEAL    (AX)(BX*2), AX
	MOVO    X0, X7
	PSRLDQ  $2, X7
	PINSRW  $7, AX, X7

	// even = left + 2 CE + CO, odd = CE + 2 CO + right; /16 leaves a byte
	// in each lane, and the odd ones go to the lanes' high bytes.
	PADDW  X3, X6
	PADDW  X0, X6
	PADDW  X0, X6
	PADDW  X0, X7
	PADDW  X3, X7
	PADDW  X3, X7
	PSRLW  $4, X6
	PSRLW  $4, X7
	PSLLW  $8, X7
	POR    X7, X6
	MOVOU  X6, (DX)
	PEXTRW $7, X3, AX // column x+15: the next chunk's left

	ADDQ $16, SI
	ADDQ $16, DI
	ADDQ $16, R8
	ADDQ $16, DX
	DECQ CX
	JNZ  box3loop

box3done:
	RET

// func blockStatsSSE2(src *byte, stride int, sum *uint16, lo, hi *uint8, n int)
//
// Two blocks per 16-byte load, down the 8 rows: PMINUB and PMAXUB keep the
// byte-wise minimum and maximum, PSADBW against zero sums each 8-byte half
// into its 64-bit lane (8 rows × 2040 fits the low 16 bits).
//
// The horizontal minimum and maximum of the two halves are four 8-byte
// reductions, done together in one register: the maximum as the minimum
// of the complement (255-v), and SHUFPS gathers the four groups' low and
// high 4 bytes into two registers, one per 32-bit lane, so that three
// PMINUBs reduce all four. Each shift fills with zeros, and min(v, 0) = 0,
// so a lane ends as its result byte with zeros above it, ready to pack.
TEXT ·blockStatsSSE2(SB), NOSPLIT, $0-48
	MOVQ  src+0(FP), SI
	MOVQ  stride+8(FP), BX
	MOVQ  sum+16(FP), DI
	MOVQ  lo+24(FP), R9
	MOVQ  hi+32(FP), R10
	MOVQ  n+40(FP), CX
	TESTQ CX, CX
	JLE   statsdone
	LEAQ  (BX)(BX*2), DX // 3 rows
	LEAQ  (SI)(BX*4), R8 // row 4
	PXOR  X7, X7         // zero, for PSADBW
	PCMPEQB X6, X6       // all ones, for the complement

statsloop:
	MOVOU  (SI), X0
	MOVO   X0, X1
	MOVO   X0, X2
	PSADBW X7, X2
	MOVOU  (SI)(BX*1), X3
	PMINUB X3, X0
	PMAXUB X3, X1
	PSADBW X7, X3
	PADDW  X3, X2
	MOVOU  (SI)(BX*2), X4
	PMINUB X4, X0
	PMAXUB X4, X1
	PSADBW X7, X4
	PADDW  X4, X2
	MOVOU  (SI)(DX*1), X3
	PMINUB X3, X0
	PMAXUB X3, X1
	PSADBW X7, X3
	PADDW  X3, X2
	MOVOU  (R8), X4
	PMINUB X4, X0
	PMAXUB X4, X1
	PSADBW X7, X4
	PADDW  X4, X2
	MOVOU  (R8)(BX*1), X3
	PMINUB X3, X0
	PMAXUB X3, X1
	PSADBW X7, X3
	PADDW  X3, X2
	MOVOU  (R8)(BX*2), X4
	PMINUB X4, X0
	PMAXUB X4, X1
	PSADBW X7, X4
	PADDW  X4, X2
	MOVOU  (R8)(DX*1), X3
	PMINUB X3, X0
	PMAXUB X3, X1
	PSADBW X7, X3
	PADDW  X3, X2

	// X0 = minima, X1 = maxima of the two blocks, 8 bytes each.
	PXOR   X6, X1            // complements: max = 255 - min(255-v)
	MOVO   X0, X3
	SHUFPS $0x88, X1, X0     // low 4 bytes of min0, min1, ~max0, ~max1
	SHUFPS $0xdd, X1, X3     // their high 4 bytes
	PMINUB X3, X0
	MOVO   X0, X3
	PSRLL  $16, X3
	PMINUB X3, X0
	MOVO   X0, X3
	PSRLL  $8, X3
	PMINUB X3, X0            // 32-bit lanes: lo0, lo1, ~hi0, ~hi1
	PACKSSLW X0, X0
	PACKUSWB X0, X0          // bytes: lo0, lo1, ~hi0, ~hi1
	MOVQ   X0, AX
	MOVW   AX, (R9)
	SHRL   $16, AX
	NOTL   AX
	MOVW   AX, (R10)

	// The sums, in the low 16 bits of each 64-bit lane, to words 0 and 1.
	PSHUFD  $0x08, X2, X2
	PSHUFLW $0x08, X2, X2
	MOVQ    X2, AX
	MOVL    AX, (DI)

	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $4, DI
	ADDQ $2, R9
	ADDQ $2, R10
	DECQ CX
	JNZ  statsloop

statsdone:
	RET

// func darkRowSSE2(src, tv, dst *byte, n int)
//
// v <= t exactly when min(v, t) == v: PMINUB and PCMPEQB give 0xff per dark
// pixel, and PMOVMSKB gathers the 16 top bits, pixel 0 in bit 0, which is
// two bytes of dst in order.
TEXT ·darkRowSSE2(SB), NOSPLIT, $0-32
	MOVQ  src+0(FP), SI
	MOVQ  tv+8(FP), DI
	MOVQ  dst+16(FP), DX
	MOVQ  n+24(FP), CX
	TESTQ CX, CX
	JLE   darkdone

darkloop:
	MOVOU    (SI), X0
	MOVOU    (DI), X1
	PMINUB   X0, X1
	PCMPEQB  X0, X1
	PMOVMSKB X1, AX
	MOVW     AX, (DX)
	ADDQ     $16, SI
	ADDQ     $16, DI
	ADDQ     $2, DX
	DECQ     CX
	JNZ      darkloop

darkdone:
	RET
