//go:build amd64 && !purego

#include "textflag.h"

// func dots32AVX2(q, rows *float32, f, n int, out *float32)
// For each of n rows of f float32 (f a multiple of 8): four 8-wide FMA
// accumulators over the row, then a horizontal sum into out[i].
TEXT ·dots32AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ rows+8(FP), DI
	MOVQ f+16(FP), CX
	MOVQ n+24(FP), DX
	MOVQ out+32(FP), R8
	SHLQ $2, CX          // row length in bytes
	MOVQ CX, BX
	SUBQ $128, BX        // last offset where 32 floats still fit

row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX

loop32:
	CMPQ AX, BX
	JGT  loop8
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (DI)(AX*1), Y4, Y0
	VMOVUPS     32(SI)(AX*1), Y5
	VFMADD231PS 32(DI)(AX*1), Y5, Y1
	VMOVUPS     64(SI)(AX*1), Y6
	VFMADD231PS 64(DI)(AX*1), Y6, Y2
	VMOVUPS     96(SI)(AX*1), Y7
	VFMADD231PS 96(DI)(AX*1), Y7, Y3
	ADDQ $128, AX
	JMP  loop32

loop8:
	CMPQ AX, CX
	JGE  reduce
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (DI)(AX*1), Y4, Y0
	ADDQ $32, AX
	JMP  loop8

reduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, (R8)
	ADDQ         $4, R8
	ADDQ         CX, DI
	DECQ         DX
	JNE          row

	VZEROUPPER
	RET
