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
// taken every event (only then do they leave the outbox); a refusal is a
// *SendError whose Class says what the uploader does about it.
type Transport interface {
	Send(ctx context.Context, events []store.Event) error
}

// AnswerClass is what the uploader makes of a receiver's answer. No answer
// but a 2xx ever removes an event: a receiver that refuses them (a wrong
// URL, a static site, a validation rule) is the venue's to fix or the
// operator's to override (`kioskd events drop`), never a reason to lose the
// backlog.
type AnswerClass int

const (
	// Accepted (2xx): the events leave the outbox.
	Accepted AnswerClass = iota
	// Unavailable (408, 425, 429, 5xx, or no answer): the same batch is
	// retried after a backoff; a Retry-After is honoured.
	Unavailable
	// TooLarge (413): the batch is halved until the receiver takes it; a
	// single event it refuses as too large is kept and reported.
	TooLarge
	// Refused (400, 409, 422): the receiver objects to the content, maybe of
	// one event. The batch is sent again one event at a time, in order, up to
	// the first the receiver refuses: the outbox waits at that event, which
	// is kept and reported.
	Refused
	// Misconfigured (every other answer: 3xx, 401, 403, 404, 405, 407, 410,
	// 415...): the receiver or the way to it is wrong whatever the events
	// say. The batch is kept and the error reported.
	Misconfigured
)

var classNames = [...]string{Accepted: "accepted", Unavailable: "unavailable", TooLarge: "too-large",
	Refused: "refused", Misconfigured: "misconfigured"}

func (c AnswerClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("AnswerClass(%d)", int(c))
}

// ClassifyStatus is the class of an HTTP answer to an event upload.
func ClassifyStatus(code int) AnswerClass {
	switch {
	case code >= 200 && code <= 299:
		return Accepted
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests,
		code >= 500 && code <= 599:
		return Unavailable
	case code == http.StatusRequestEntityTooLarge:
		return TooLarge
	case code == http.StatusBadRequest, code == http.StatusConflict, code == http.StatusUnprocessableEntity:
		return Refused
	}
	return Misconfigured
}

// SendError is a Transport's refusal.
type SendError struct {
	Status     int // HTTP status, 0 when not HTTP
	Class      AnswerClass
	RetryAfter time.Duration // the receiver's requested wait, 0 if none
	Msg        string
}

func (e *SendError) Error() string {
	s := fmt.Sprintf("event upload: HTTP %d", e.Status)
	if e.Msg != "" {
		s += " " + e.Msg
	}
	return s + " (" + e.Class.String() + ")"
}

// HTTPTransport POSTs {"events":[...]} to URL (events.url).
type HTTPTransport struct {
	URL   string
	Token string // bearer token, optional
	// HTTP is the client used; nil = http.DefaultClient. Its redirects are
	// followed only when they keep the POST (307, 308).
	HTTP *http.Client
	// Timeout bounds one POST; 0 = 30 s.
	Timeout time.Duration
}

// Send posts one batch. The Idempotency-Key header is derived from the
// batch's nonces, so a resent batch carries the same key; receivers may also
// deduplicate on each event's nonce (each event has its own).
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
	c := http.DefaultClient
	if t.HTTP != nil {
		c = t.HTTP
	}
	// A 301, 302 or 303 turns the POST into a GET: a static site's page
	// would then answer 200 for events it never saw. Such a redirect is
	// reported as it is (Misconfigured) instead.
	cc := *c
	cc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.Method != http.MethodPost {
			return http.ErrUseLastResponse
		}
		if c.CheckRedirect != nil {
			return c.CheckRedirect(r, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	resp, err := cc.Do(req)
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
	class := ClassifyStatus(resp.StatusCode)
	if class == Accepted {
		return nil
	}
	se := &SendError{Status: resp.StatusCode, Class: class, Msg: http.StatusText(resp.StatusCode)}
	if class == Unavailable {
		se.RetryAfter = bitbadges.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
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
	limit int // batch size after a 413; 0 = BatchSize
}

// UploadStats is what the uploader has done in this process.
type UploadStats struct {
	Sent        uint64 // events taken by the receiver
	LastSuccess time.Time
	LastError   string
	Failures    int // consecutive failed drains
	NextAttempt time.Time
	// Stuck is how many events the receiver refused at the last attempt
	// (kept; the outbox waits behind them); 0 when the last attempt
	// succeeded or the receiver could not be reached. StuckID is the outbox
	// id of the oldest of them (for `kioskd events drop -id`).
	Stuck   int
	StuckID uint64
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
// ctx ends (then it returns nil). After a failed drain it waits a backoff
// (MinBackoff doubling up to MaxBackoff, or a longer Retry-After), during
// which kicks are ignored: a stuck outbox is retried, never hammered.
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
		wait = backoffPolicy(minB, maxB, u.Rand).Delay(n)
		var se *SendError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			wait = max(wait, min(se.RetryAfter, maxRetryAfterHonor))
		}
		u.log().Warn("event upload failed, events kept, will retry", "err", err, "retry_in", wait)
	}
}

// Flush uploads pending events, oldest first, until the outbox is empty or
// a send fails (that error is returned; the events stay).
func (u *Uploader) Flush(ctx context.Context) error {
	stuck, err := u.flush(ctx)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stats.Stuck, u.stats.StuckID = len(stuck), 0
	if len(stuck) > 0 {
		u.stats.StuckID = stuck[0].Seq
	}
	if err != nil {
		u.stats.Failures++
		u.stats.LastError = err.Error()
		return err
	}
	u.stats.Failures = 0
	u.stats.LastError = ""
	return nil
}

// errSmaller asks flush to read the outbox again with the halved batch size.
var errSmaller = errors.New("batch halved")

// flush returns, with a failure, the events the receiver refused.
func (u *Uploader) flush(ctx context.Context) ([]store.Event, error) {
	acked := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		size := u.batchSize()
		evs, err := u.Outbox.PendingEvents(size)
		if err != nil {
			return nil, fmt.Errorf("reading the outbox: %w", err)
		}
		if len(evs) == 0 {
			// A 413 may have come from one big event: the next backlog
			// starts from the full batch size again.
			u.mu.Lock()
			u.limit = 0
			u.mu.Unlock()
			return nil, nil
		}
		// An event that stays after its ack would loop forever.
		if acked[evs[0].Nonce] {
			return nil, fmt.Errorf("outbox: event %q is still pending after it was acknowledged", evs[0].Nonce)
		}
		stuck, err := u.sendBatch(ctx, evs)
		if errors.Is(err, errSmaller) {
			continue
		}
		if err != nil {
			return stuck, err
		}
		if len(acked) > 4*size {
			clear(acked)
		}
		for _, e := range evs {
			acked[e.Nonce] = true
		}
	}
}

func (u *Uploader) batchSize() int {
	size := u.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.limit > 0 {
		size = min(size, u.limit)
	}
	return size
}

// sendBatch sends evs and acknowledges them once the receiver took them.
// On a refusal it returns the refused events (kept in the outbox) with the
// error; see AnswerClass for what each answer leads to.
func (u *Uploader) sendBatch(ctx context.Context, evs []store.Event) ([]store.Event, error) {
	err := u.Transport.Send(ctx, evs)
	if err == nil {
		return nil, u.ack(evs)
	}
	var se *SendError
	if !errors.As(err, &se) {
		return nil, err // no answer: the receiver is unreachable, nothing refused
	}
	switch {
	case se.Class == Accepted:
		return nil, u.ack(evs)
	case se.Class == Unavailable:
		return nil, err
	case se.Class == TooLarge && len(evs) > 1:
		half := len(evs) / 2
		u.mu.Lock()
		u.limit = half
		u.mu.Unlock()
		u.log().Warn("event receiver refused a batch as too large: sending smaller batches", "events", len(evs), "batch_size", half)
		return nil, errSmaller
	case se.Class == Refused && len(evs) > 1:
		// Find the event refused, if it is one: those before it go through.
		for i := range evs {
			if stuck, err := u.sendBatch(ctx, evs[i:i+1]); err != nil {
				return stuck, err
			}
		}
		return nil, nil
	case se.Class == Refused || se.Class == TooLarge: // one event
		e := evs[0]
		u.log().Warn("event refused by the receiver, kept in the outbox", "id", e.Seq, "kind", e.Kind,
			"time", e.Time, "status", se.Status, "class", se.Class.String())
		return evs, fmt.Errorf("event %d (%s of %s) kept: %w; kioskd events drop -id %d discards it",
			e.Seq, e.Kind, e.Time.UTC().Format(time.RFC3339), err, e.Seq)
	}
	return evs, fmt.Errorf("%d events kept: %w", len(evs), err)
}

func (u *Uploader) ack(evs []store.Event) error {
	nonces := make([]string, len(evs))
	for i, e := range evs {
		nonces[i] = e.Nonce
	}
	if err := u.Outbox.AckEvents(nonces); err != nil {
		return fmt.Errorf("acknowledging uploaded events: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stats.Sent += uint64(len(evs))
	u.stats.LastSuccess = u.clock().Now()
	return nil
}
