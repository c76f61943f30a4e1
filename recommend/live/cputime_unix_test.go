//go:build unix

package live

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system, every
// thread): on a loaded machine it measures the work a benchmark did where
// wall time measures mostly the other processes.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
