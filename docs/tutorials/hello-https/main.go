// Command hello-https serves HTTPS with a certificate from a TLS Secret's files, for the
// "Your first certificate" tutorial:
//
//	go run ./docs/tutorials/hello-https --cert tls.crt --key tls.key --addr 127.0.0.1:8443
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
)

func main() {
	cert := flag.String("cert", "tls.crt", "certificate chain (PEM), the Secret's tls.crt")
	key := flag.String("key", "tls.key", "private key (PEM), the Secret's tls.key")
	addr := flag.String("addr", "127.0.0.1:8443", "address to serve on")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s, served with a certificate from cert-manager-msp\n", r.TLS.ServerName)
	})
	log.Printf("serving https://%s", *addr)
	log.Fatal(http.ListenAndServeTLS(*addr, *cert, *key, nil))
}
