// Command demofn is a stand-in for an OpenFaaS gateway and its functions,
// for the demo and the end-to-end tests. It answers like the gateway's
// routes (/system/functions, /ui/, /healthz, /function/<name>) and echoes
// what it received, so one can see what funcauth let through: the method,
// path, identity headers, body length and SHA-256.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("demo function listening on http://%s", *addr)
	log.Fatal(srv.ListenAndServe())
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "OK")
	})
	mux.HandleFunc("/system/functions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode([]map[string]interface{}{
			{"name": "env", "image": "ghcr.io/openfaas/alpine:latest", "namespace": "openfaas-fn", "replicas": 1},
		})
	})
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "<html><body>OpenFaaS UI stand-in</body></html>")
	})
	echo := func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]interface{}{
			"function":       strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/function/"), "/async-function/"), "/", 2)[0],
			"method":         r.Method,
			"path":           r.URL.Path,
			"query":          r.URL.RawQuery,
			"content_length": r.ContentLength,
			"body_bytes":     n,
			"body_sha256":    hex.EncodeToString(h.Sum(nil)),
			"user":           r.Header.Get("X-Funcauth-User"),
			"signed_by":      r.Header.Get("X-Funcauth-Signature"),
		})
	}
	mux.HandleFunc("/function/", echo)
	mux.HandleFunc("/async-function/", echo)
	return mux
}
