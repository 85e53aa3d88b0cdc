// Command voxgate is the voxgate media gateway.
//
//	voxgate [serve] [flags]          run the gateway (the default)
//	voxgate keys create --org NAME --scopes a,b [--test]
//	voxgate stream <session_id> (--token kst_… | --api-key sk_…) [--play file.wav --speaker agent]
//	voxgate loadgen --api-key sk_… [--calls N --duration D] [--ramp-step N --ramp-max N]
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches a subcommand and returns the exit code.
func run(args []string) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, os.Getenv)
	case "keys":
		return keys(args, os.Getenv)
	case "stream":
		return streamCmd(args, os.Getenv, os.Stdout, os.Stderr)
	case "loadgen":
		quietSIPWarnings(os.Stderr)
		return loadgenCmd(args, os.Getenv, os.Stdout, os.Stderr)
	case "help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "voxgate: unknown command %q\n%s", cmd, usage)
	return 2
}

const usage = `usage:
  voxgate [serve] [flags]        run the gateway (voxgate serve -h lists every setting)
  voxgate keys create --org NAME --scopes a,b [--test] [--name NAME]
                                 mint an API key; it is printed alone on the last line
  voxgate stream <session_id> [--url URL] (--token kst_… | --api-key sk_…) [--play file.wav --speaker agent]
                                 print a session's stream as lines; play a WAV into it
  voxgate loadgen [--url URL] --api-key sk_… [--fixture x.pcap] [--calls N --duration D] [--ramp-step N --ramp-max N]
                                 load a running gateway with SIP calls and subscribers; report latency, loss, CPU
`
