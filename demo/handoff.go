package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/output/handoff"
	"github.com/kioskd/kioskd/output/webhook"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// handoffScene shows the local hand-off (issue 21, docs/integrations.md):
// the scene's verdicts go to a till, an HTTP receiver on loopback that
// checks each request's signature as a real one would, through the real
// output hub (the store's durable queue) and the real signed webhook. It
// prints what the till receives and returns the payloads.
func handoffScene(ctx context.Context, p *printer, kioskID string, st *store.Store, vs []verify.Verdict, log *slog.Logger) ([]handoff.Payload, error) {
	key := []byte(store.NewNonce()) // a fresh HMAC key, shared with the till
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("hand-off scene: starting the till: %w", err)
	}
	t := &demoTill{p: p, key: key, got: make(chan struct{}, len(vs))}
	srv := &http.Server{Handler: t, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	url := "http://" + ln.Addr().String() + "/till"
	sender, err := webhook.New(webhook.Options{URL: url, Key: key, UserAgent: "kioskd-demo"})
	if err != nil {
		return nil, fmt.Errorf("hand-off scene: %w", err)
	}
	defer sender.Close()
	hub, err := handoff.New(handoff.Options{Queue: st, Logger: log},
		[]handoff.Output{{Name: "till", Kind: "webhook", Target: sender.Target(), Sender: sender}})
	if err != nil {
		return nil, fmt.Errorf("hand-off scene: %w", err)
	}
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = hub.Run(hctx); close(done) }()
	defer func() { cancel(); <-done }()

	p.say("hand-off: the %d verdicts to a till at %s (webhook, HMAC-SHA256 signed; never the code)", len(vs), url)
	for _, v := range vs {
		hub.Hand(handoff.FromVerdict(kioskID, handoff.InputCamera, v))
	}
	wait := time.NewTimer(15 * time.Second)
	defer wait.Stop()
	// Done when the hub has taken every delivered message off its queue
	// (the till's answers come first: it is polled after each one).
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for hub.Status()[0].Delivered < uint64(len(vs)) {
		select {
		case <-t.got:
		case <-tick.C:
		case <-wait.C:
			return t.payloads(), errors.New("hand-off scene: the till did not get every verdict within 15 s")
		case <-ctx.Done():
			return t.payloads(), ctx.Err()
		}
	}
	return t.payloads(), nil
}

// demoTill is the demo's point-of-sale receiver.
type demoTill struct {
	p   *printer
	key []byte
	got chan struct{}

	mu  stdsync.Mutex
	all []handoff.Payload
}

func (t *demoTill) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(t.key, r.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		t.p.say("    till refused a request: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var pl handoff.Payload
	if err := jsonStrict(body, &pl); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	t.p.say("    till got POST %s, Idempotency-Key %.8s…, signature ok:", r.URL.Path, r.Header.Get("Idempotency-Key"))
	t.p.say("      %s", body)
	t.mu.Lock()
	t.all = append(t.all, pl)
	t.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	select {
	case t.got <- struct{}{}:
	default: // a repeat (at least once): the scene already counted it
	}
}

func jsonStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (t *demoTill) payloads() []handoff.Payload {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]handoff.Payload(nil), t.all...)
}
