//go:build !amd64 || purego

package mips

const useAVX2 = false

func dots32AVX2(q, rows *float32, f, n int, out *float32) { panic("unreachable") }
