// Command example is a minimal till-side receiver of kioskd's webhook
// hand-off (docs/integrations.md): it checks each request's signature and
// time, keeps each verdict once by its id (kioskd delivers at least once),
// and prints the customers it hears of. A starting point for an
// integrator, not part of kioskd:
//
//	go run ./output/webhook/example -listen 127.0.0.1:8080 -key-file till.key
//
// and in kioskd's config:
//
//	outputs:
//	  - {name: till, kind: webhook, url: "http://127.0.0.1:8080/kioskd", secret_file: till.key}
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/output/handoff"
	"github.com/kioskd/kioskd/output/webhook"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	keyFile := flag.String("key-file", "till.key", "file holding the HMAC key shared with the kiosk")
	flag.Parse()
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	r := newReceiver(bytes.TrimSpace(key), os.Stdout)
	srv := &http.Server{Addr: *listen, Handler: r, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("till listening on http://%s/", *listen)
	log.Fatal(srv.ListenAndServe())
}

// receiver handles kioskd's POSTs.
type receiver struct {
	key []byte
	out io.Writer
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // payload ids already handled
}

func newReceiver(key []byte, out io.Writer) *receiver {
	return &receiver{key: key, out: out, now: time.Now, seen: map[string]time.Time{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	// Read the raw body: the signature is over these exact bytes.
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	now := rc.now()
	if err := webhook.Verify(rc.key, r.Header.Get(webhook.SignatureHeader), body, now, 5*time.Minute); err != nil {
		// 401 is a 4xx: kioskd drops the message rather than retry it.
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p handoff.Payload // unknown fields are ignored: new ones may appear
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" {
		http.Error(w, "not a kioskd payload", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	_, dup := rc.seen[p.ID]
	rc.seen[p.ID] = now
	// Ids older than the replay window can no longer come back signed.
	for id, at := range rc.seen {
		if now.Sub(at) > time.Hour {
			delete(rc.seen, id)
		}
	}
	rc.mu.Unlock()
	if !dup {
		rc.handle(p)
	}
	// 2xx for a repeat too: kioskd may deliver a verdict more than once.
	w.WriteHeader(http.StatusNoContent)
}

// handle is where a till would look the customer up.
func (rc *receiver) handle(p handoff.Payload) {
	who := "nobody known"
	if p.Holder != nil {
		who = p.Holder.BitBadgesAddress
		if p.Holder.Name != "" {
			who += " (" + p.Holder.Name + ")"
		}
	}
	visit := ""
	if p.Visit != nil {
		visit = fmt.Sprintf(", visit %d of %s", p.Visit.Count, p.Visit.Period)
		if !p.Visit.Counted {
			visit += " (the same visit)"
		}
	}
	fmt.Fprintf(rc.out, "%s %s at %s: %s (%s)%s\n", p.Time.Local().Format("15:04:05"),
		strings.ToUpper(p.Verdict), p.Kiosk, who, p.Reason, visit)
}
