package app

import (
	"fmt"
	"strings"
	"time"
)

// jobRetention reads how long finished River jobs are kept:
// ATOM_JOB_RETENTION (completed and cancelled jobs, default
// jobs.DefaultCompletedRetention) and ATOM_JOB_DISCARDED_RETENTION (jobs
// that failed their last attempt, default
// jobs.DefaultDiscardedRetention). Zero durations mean the defaults.
func jobRetention(env func(string) string) (completed, discarded time.Duration, err error) {
	for name, d := range map[string]*time.Duration{"ATOM_JOB_RETENTION": &completed, "ATOM_JOB_DISCARDED_RETENTION": &discarded} {
		v := strings.TrimSpace(env(name))
		if v == "" {
			continue
		}
		x, perr := time.ParseDuration(v)
		if perr != nil || x < time.Second {
			return 0, 0, fmt.Errorf("%s=%q: want a duration of at least 1s, such as 1h or 72h", name, v)
		}
		*d = x
	}
	return completed, discarded, nil
}
