//go:build amd64 && !purego

package mips

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernel (AVX2 with FMA).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dots32AVX2 is dots32 for f a multiple of 8 and n ≥ 1 rows.
//
//go:noescape
func dots32AVX2(q, rows *float32, f, n int, out *float32)
