package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/voxgate/voxgate/sip/siptest"
)

// TestSIPTLSCertificateReloadsOnSIGHUP: SIP over TLS presents the
// configured certificate, and the renewed one after SIGHUP, without a restart.
func TestSIPTLSCertificateReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "sip.crt"), filepath.Join(dir, "sip.key")
	roots := x509.NewCertPool()
	install := func(serial int64) {
		_, certPEM, keyPEM := siptest.SelfSigned(t, serial)
		roots.AppendCertsFromPEM(certPEM)
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	install(1)
	tlsAddr := freePort(t)
	p := startServe(t, dir, "--sip-tls-addr", tlsAddr, "--sip-tls-cert", certFile, "--sip-tls-key", keyFile)
	serial := func() int64 {
		c, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("certificate %d, want 1", got)
	}
	install(2)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for serial() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not taken after SIGHUP")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
