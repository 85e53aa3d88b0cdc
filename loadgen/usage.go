package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Usage is the gateway's CPU time and resident memory at one moment.
type Usage struct {
	CPU time.Duration
	RSS int64
}

// UsageFunc reads the gateway's usage.
type UsageFunc func(ctx context.Context) (Usage, error)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux architecture Go runs on).
const clockTicks = 100

// ProcUsage reads a local process's usage from /proc/<pid>.
func ProcUsage(pid int) UsageFunc {
	return func(context.Context) (Usage, error) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return Usage{}, err
		}
		// Fields after the command name (which may hold spaces) in parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			return Usage{}, fmt.Errorf("/proc/%d/stat: unreadable", pid)
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 22 {
			return Usage{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
		stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
		rss, _ := strconv.ParseInt(f[21], 10, 64)   // field 24, in pages
		return Usage{CPU: time.Duration(utime+stime) * time.Second / clockTicks, RSS: rss * int64(os.Getpagesize())}, nil
	}
}

// MetricsUsage reads the process collector's figures from a Prometheus
// /metrics URL (process_cpu_seconds_total, process_resident_memory_bytes).
func MetricsUsage(url string) UsageFunc {
	return func(ctx context.Context) (Usage, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return Usage{}, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return Usage{}, err
		}
		defer res.Body.Close()
		var u Usage
		found := 0
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				continue
			}
			switch name {
			case "process_cpu_seconds_total":
				u.CPU, found = time.Duration(v*float64(time.Second)), found+1
			case "process_resident_memory_bytes":
				u.RSS, found = int64(v), found+1
			}
		}
		if found < 2 {
			return u, fmt.Errorf("%s: no process_cpu_seconds_total and process_resident_memory_bytes", url)
		}
		return u, sc.Err()
	}
}
