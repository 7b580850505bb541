//go:build !unix

package debugz

import "time"

// cpuTime is unknown here: the flood test then reports 0.
func cpuTime() time.Duration { return 0 }
