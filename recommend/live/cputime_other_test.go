//go:build !unix

package live

import "time"

// processCPU is unknown here; the cpu-us metrics then read 0.
func processCPU() time.Duration { return 0 }
