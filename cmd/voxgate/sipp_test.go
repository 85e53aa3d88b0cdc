package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sippCallsSessions writes SIPp's uac_pcap scenario into dir, edited to
// call the session named in field 0 of the injection file (8 s of recorded
// A-law speech, then BYE), and returns its path.
func sippCallsSessions(t *testing.T, sipp, dir string) string {
	t.Helper()
	xml, _ := exec.Command(sipp, "-sd", "uac_pcap").Output() // it exits 99 after printing
	scenario := strings.NewReplacer("[service]", "[field0]", "pcap/g711a.pcap", "/usr/share/sip-tester/g711a.pcap",
		"pcap/dtmf_2833_1.pcap", "/usr/share/sip-tester/dtmf_2833_1.pcap").Replace(string(xml))
	path := filepath.Join(dir, "uac.xml")
	if err := os.WriteFile(path, []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
