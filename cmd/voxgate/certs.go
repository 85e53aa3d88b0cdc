package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"go.uber.org/zap"
)

// certReloader serves the certificate in its files and reads them again on
// SIGHUP, so a renewed certificate is taken without dropping calls.
type certReloader struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	return r, r.reload()
}

// reload reads the files; on an error the certificate in use stays.
func (r *certReloader) reload() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("sip_tls_cert, sip_tls_key: %w", err)
	}
	r.current.Store(&c)
	return nil
}

// tlsConfig is a server configuration that always presents the current
// certificate.
func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return r.current.Load(), nil
	}}
}

// watch reloads on every SIGHUP until ctx ends.
func (r *certReloader) watch(ctx context.Context, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := r.reload(); err != nil {
					log.Error("certificate not reloaded; the previous one stays", zap.Error(err))
					continue
				}
				log.Info("certificate reloaded", zap.String("file", r.certFile))
			}
		}
	}()
}
