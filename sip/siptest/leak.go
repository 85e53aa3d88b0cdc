package siptest

import "go.uber.org/goleak"

// LeakOptions are the goroutines goleak should let outlive the tests of a
// package that runs SIP calls: sipgo's transport readers end when their
// sockets close, which its UserAgent.Close does without waiting for them,
// and rtpio's pollers, shared by every call's sockets, run for the life of
// the process.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportLayer).serveConnection"),
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
		goleak.IgnoreAnyFunction("github.com/voxgate/voxgate/media/rtpio.(*poller).run"),
	}
}
