package botlink_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTwilioBotCalls runs n SIP calls at once, each bridged to
// examples/echo-bot over Twilio Media Streams (the phone's tone goes to the
// bot and comes back), and reports the CPU the gateway's process spends per
// call: the gateway and the n test phones share the process; the bot runs in
// its own. Run it with a fixed count, e.g. -benchtime=50x (5 s).
func BenchmarkTwilioBotCalls(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("calls=%d", n), func(b *testing.B) {
			f := newFixture(b)
			bot := run(b, buildEchoBot(b), nil)
			for range n {
				s := f.session(bot.url, "twilio", "", `{}`)
				talk(b, f, s.ID)
			}
			for started := 0; started < n; {
				select {
				case line := <-bot.lines:
					if strings.HasPrefix(line, `event {"event":"start"`) {
						started++
					}
				case <-time.After(30 * time.Second):
					b.Fatalf("%d of %d bots started", started, n)
				}
			}
			time.Sleep(time.Second) // every call settles
			out0, cpu0, bot0, t0 := f.h.Stats().MessagesOut, cpuTime(), processCPU(b, bot.pid), time.Now()
			for b.Loop() {
				time.Sleep(100 * time.Millisecond)
			}
			cpu, wall := (cpuTime() - cpu0).Seconds(), time.Since(t0).Seconds()
			botCPU := (processCPU(b, bot.pid) - bot0).Seconds()
			out := float64(f.h.Stats().MessagesOut - out0)
			b.ReportMetric(100*cpu/wall/float64(n), "%core/call")
			b.ReportMetric(float64(n)*wall/cpu, "calls/core")
			b.ReportMetric(out/wall/float64(n), "bot-msgs/s/call")
			b.ReportMetric(100*botCPU/wall/float64(n), "bot-%core/call")
		})
	}
}

// processCPU is the user and system CPU another process has used, from
// /proc (in clock ticks of 10 ms).
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command's closing parenthesis: state is the 3rd field
	// of the line, utime the 14th, stime the 15th.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// cpuTime is the user and system CPU the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
