// Package cputime reads the CPU time a process has used, for benchmarks
// that report CPU per operation: a parallel benchmark's wall time hides
// what waiting costs, and counts the work of other processes (a
// redis-server on the same cores) as its own.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user and system CPU time this process has used so far.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
