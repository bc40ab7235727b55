package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
)

// Transport carries a batch of events somewhere: HTTPTransport today, a
// fleet MQTT transport later. Send returns nil only when the receiver has
// taken every event; a *SendError with Permanent set means the receiver
// will never take them (the events are then dropped).
type Transport interface {
	Send(ctx context.Context, events []store.Event) error
}

// SendError is a Transport's refusal.
type SendError struct {
	Status     int           // HTTP status, 0 when not HTTP
	Permanent  bool          // retrying the same events cannot succeed
	RetryAfter time.Duration // the receiver's requested wait, 0 if none
	Msg        string
}

func (e *SendError) Error() string {
	s := fmt.Sprintf("event upload: HTTP %d", e.Status)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Permanent {
		s += " (permanent)"
	}
	return s
}

// HTTPTransport POSTs {"events":[...]} to URL (events.url).
type HTTPTransport struct {
	URL   string
	Token string // bearer token, optional
	// HTTP is the client used; nil = http.DefaultClient.
	HTTP *http.Client
	// Timeout bounds one POST; 0 = 30 s.
	Timeout time.Duration
}

// Send posts one batch. The Idempotency-Key header is derived from the
// batch's nonces, so a resent batch carries the same key; receivers may also
// deduplicate on each event's nonce.
func (t *HTTPTransport) Send(ctx context.Context, events []store.Event) error {
	body, err := json.Marshal(struct {
		Events []store.Event `json:"events"`
	}{events})
	if err != nil {
		return fmt.Errorf("encoding events: %w", err)
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("event upload: building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", batchKey(events))
	if t.Token != "" {
		req.Header.Set("Authorization", "Bearer "+t.Token)
	}
	c := t.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// net/http strips any password from the URL it quotes, not a query:
		// a receiver's URL may carry its key there (?key=...), and this
		// error is logged on every failed attempt and shown on the status page.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = withoutQuery(ue.URL)
		}
		return fmt.Errorf("event upload: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 == 2 {
		return nil
	}
	se := &SendError{Status: resp.StatusCode, Msg: http.StatusText(resp.StatusCode)}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode >= 500:
		se.RetryAfter = bitbadges.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden,
		resp.StatusCode == http.StatusNotFound:
		// A wrong token or URL is the venue's configuration, not the events'
		// fault: dropping would silently lose the whole backlog on a typo.
	case resp.StatusCode >= 400:
		se.Permanent = true
	}
	return se
}

// withoutQuery is u fit for a message: its query and fragment cut off.
func withoutQuery(u string) string {
	for i := 0; i < len(u); i++ {
		if u[i] == '?' || u[i] == '#' {
			return u[:i] + "?…"
		}
	}
	return u
}

func batchKey(events []store.Event) string {
	h := sha256.New()
	for _, e := range events {
		h.Write([]byte(e.Nonce))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Defaults for Uploader.
const (
	DefaultBatchSize      = 100
	DefaultUploadInterval = time.Minute
	defaultUploadMinWait  = 5 * time.Second
)

// Uploader drains the store's outbox through a Transport.
type Uploader struct {
	Outbox    Outbox
	Transport Transport
	BatchSize int           // 0 = DefaultBatchSize
	Interval  time.Duration // between drains when all is well; 0 = DefaultUploadInterval
	// MinBackoff and MaxBackoff bound the wait after failures; 0 = 5 s and 10 min.
	MinBackoff, MaxBackoff time.Duration
	Clock                  Clock
	Logger                 *slog.Logger
	Rand                   func() float64

	kickOnce stdsync.Once
	kick     chan struct{}

	mu    stdsync.Mutex
	stats UploadStats
}

// UploadStats is what the uploader has done in this process.
type UploadStats struct {
	Sent        uint64 // events taken by the receiver
	Dropped     uint64 // events refused permanently
	LastSuccess time.Time
	LastError   string
	Failures    int // consecutive failed drains
	NextAttempt time.Time
}

func (u *Uploader) init() { u.kickOnce.Do(func() { u.kick = make(chan struct{}, 1) }) }

func (u *Uploader) log() *slog.Logger { return orDiscard(u.Logger) }

func (u *Uploader) clock() Clock { return orReal(u.Clock) }

// Stats returns a copy of the upload counters.
func (u *Uploader) Stats() UploadStats {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.stats
}

// Kick tells the uploader new events are waiting; it never blocks. While
// backing off after a failure the uploader keeps waiting.
func (u *Uploader) Kick() {
	u.init()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Run drains the outbox at start-up, then every Interval or on Kick, until
// ctx ends (then it returns nil).
func (u *Uploader) Run(ctx context.Context) error {
	u.init()
	clk := u.clock()
	interval := u.Interval
	if interval <= 0 {
		interval = DefaultUploadInterval
	}
	minB, maxB := u.MinBackoff, u.MaxBackoff
	if minB <= 0 {
		minB = defaultUploadMinWait
	}
	if maxB <= 0 {
		maxB = DefaultMaxBackoff
	}
	var wait time.Duration
	for {
		u.mu.Lock()
		u.stats.NextAttempt = clk.Now().Add(wait)
		failing := u.stats.Failures > 0
		u.mu.Unlock()
		timer, stop := clk.Timer(wait)
		kick := u.kick
		if failing {
			kick = nil // a backlog does not jump the backoff
		}
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-timer:
		case <-kick:
			stop()
		}
		err := u.Flush(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			wait = interval
			continue
		}
		u.mu.Lock()
		n := u.stats.Failures
		u.mu.Unlock()
		wait = Backoff{Min: minB, Max: maxB, Rand: u.Rand}.Delay(n)
		var se *SendError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			wait = max(wait, min(se.RetryAfter, maxRetryAfterHonor))
		}
		u.log().Warn("event upload failed, will retry", "err", err, "retry_in", wait)
	}
}

// Flush uploads pending events, oldest first, until the outbox is empty or
// a send fails for a reason worth retrying (that error is returned).
func (u *Uploader) Flush(ctx context.Context) error {
	err := u.flush(ctx)
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		u.stats.Failures++
		u.stats.LastError = err.Error()
		return err
	}
	u.stats.Failures = 0
	u.stats.LastError = ""
	return nil
}

func (u *Uploader) flush(ctx context.Context) error {
	size := u.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	acked := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		evs, err := u.Outbox.PendingEvents(size)
		if err != nil {
			return fmt.Errorf("reading the outbox: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		// An event that stays after its ack would loop forever.
		if acked[evs[0].Nonce] {
			return fmt.Errorf("outbox: event %q is still pending after it was acknowledged", evs[0].Nonce)
		}
		if err := u.sendBatch(ctx, evs); err != nil {
			return err
		}
		if len(acked) > 4*size {
			clear(acked)
		}
		for _, e := range evs {
			acked[e.Nonce] = true
		}
	}
}

// sendBatch sends evs and acknowledges what the receiver took or refused
// for good. A batch refused permanently is retried one event at a time, so
// one bad event does not take its neighbours down with it.
func (u *Uploader) sendBatch(ctx context.Context, evs []store.Event) error {
	err := u.Transport.Send(ctx, evs)
	var se *SendError
	switch {
	case err == nil:
		return u.ack(evs, false)
	case errors.As(err, &se) && se.Permanent && len(evs) > 1:
		for i := range evs {
			if err := u.sendBatch(ctx, evs[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	case errors.As(err, &se) && se.Permanent:
		u.log().Warn("event refused permanently, dropping it", "nonce", evs[0].Nonce, "kind", evs[0].Kind, "err", err)
		return u.ack(evs, true)
	}
	return err
}

func (u *Uploader) ack(evs []store.Event, dropped bool) error {
	nonces := make([]string, len(evs))
	for i, e := range evs {
		nonces[i] = e.Nonce
	}
	if err := u.Outbox.AckEvents(nonces); err != nil {
		return fmt.Errorf("acknowledging uploaded events: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if dropped {
		u.stats.Dropped += uint64(len(evs))
	} else {
		u.stats.Sent += uint64(len(evs))
		u.stats.LastSuccess = u.clock().Now()
	}
	return nil
}
