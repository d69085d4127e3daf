// goref-tls: a small Go TLS key server, the peer keyport's HTTPS throughput and handshake rate are
// measured against (Benchmarks/tls/bench.py). Standard library only: net/http over crypto/tls with
// Go's defaults (TLS 1.3 preferred) and TLS 1.2 as the minimum, as keyport; GET /key/N answers N
// random bytes from crypto/rand, /health answers ok. Not part of keyport.
package main

import (
	"crypto/rand"
	"crypto/tls"
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18443", "listen address")
	cert := flag.String("cert", "tls.crt", "PEM certificate (chain)")
	key := flag.String("key", "tls.key", "PEM private key")
	maxSize := flag.Int("max-size", 1024, "maximum key length in bytes")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/key/", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/key/"))
		if err != nil || n < 1 || n > *maxSize {
			http.Error(w, "invalid length", http.StatusBadRequest)
			return
		}
		buf := make([]byte, n)
		if _, err := rand.Read(buf); err != nil {
			http.Error(w, "rng failure", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(n))
		h.Set("Cache-Control", "no-store")
		w.Write(buf)
	})
	server := &http.Server{
		Addr:    *addr,
		Handler: mux,
		// HTTP/1.1 only (ALPN http/1.1), as keyport: wrk speaks HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		TLSConfig:    &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
	}
	log.Fatal(server.ListenAndServeTLS(*cert, *key))
}
