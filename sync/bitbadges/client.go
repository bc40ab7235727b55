package bitbadges

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultMaxBodyBytes bounds one response: a page of 25 records is ~15 KiB,
// so 4 MiB is generous and still harmless on a Pi.
const DefaultMaxBodyBytes = 4 << 20

// DefaultMaxPageRecords bounds the records of one pre-fetch page. BitBadges
// sends 25; a page of thousands is a broken or hostile server, and the
// records of a page are held until the whole page has been checked.
const DefaultMaxPageRecords = 2000

// Client talks to the BitBadges API. Set the fields, then use it from any
// number of goroutines; do not change the fields after the first call.
type Client struct {
	APIURL       string // e.g. https://api.bitbadges.io/api/v0
	ClientID     string
	APIKey       string
	ClientSecret string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
	// RequestTimeout bounds each request, body included; 0 = only ctx bounds it.
	RequestTimeout time.Duration
	// MaxBodyBytes bounds each response body; 0 = DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxPageRecords bounds the records of one pre-fetch page: past it the
	// page is refused (ErrTooLarge) without reading further, so the memory
	// a page costs depends on these bounds, not on what the server sends.
	// 0 = DefaultMaxPageRecords.
	MaxPageRecords int
	// PageRetries is how many times one pre-fetch page is retried after a
	// temporary failure (network, 5xx) before the pre-fetch fails. A single
	// blip should not throw away 4,000 pages of progress.
	PageRetries int
	// RetryDelay is the first wait between page retries (doubled each time);
	// 0 = 500 ms.
	RetryDelay time.Duration
	// OnServerTime, if set, receives the Date header of every successful
	// response (2xx, the API's JSON: see serverTime). Error answers' Dates
	// are not reported.
	OnServerTime func(time.Time)
	// Logger receives one line per skipped record and per fallback; nil = discard.
	Logger *slog.Logger

	// form is the pre-fetch form that worked last (index into prefetchForms).
	form atomic.Int32
}

// prefetchForm is one way the pre-fetch was called over the API's life.
type prefetchForm struct {
	method string
	path   string
}

var prefetchForms = [...]prefetchForm{
	{http.MethodGet, "/developerApps/siwbbRequests"},
	{http.MethodPost, "/developerApps/siwbbRequests"}, // before March 2025
	{http.MethodPost, "/developerApp/siwbbRequests"},  // older still
}

func (c *Client) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

func (c *Client) maxBody() int64 {
	if c.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return c.MaxBodyBytes
}

func (c *Client) maxRecords() int {
	if c.MaxPageRecords <= 0 {
		return DefaultMaxPageRecords
	}
	return c.MaxPageRecords
}

// PageStats describes one pre-fetch.
type PageStats struct {
	Pages      int
	Records    int // handed to fn
	Deleted    int // soft-deleted, skipped
	Malformed  int // unusable, skipped and logged
	Bytes      int64
	Retries    int       // page retries after temporary failures
	ServerTime time.Time // the last successful page's Date header, zero if none
	Form       string    // "GET" or "POST": the form that worked
	// Bookmark is where the pre-fetch can be resumed with PrefetchFrom: the
	// bookmark after the last page whose records all reached fn ("" when no
	// page was completed, or when the list was read to its end).
	Bookmark string
}

// ErrBookmarkLoop is a server that hands back a bookmark it already gave:
// resuming from it would loop, start over instead.
var ErrBookmarkLoop = errors.New("bookmark did not advance")

// Prefetch pages through every code issued for ClientID and calls fn for
// each usable record, newest first. accessToken is the app owner's. It stops
// at the first error from the API, from a page or from fn; a nil error means
// the list was read to its end.
func (c *Client) Prefetch(ctx context.Context, accessToken string, fn func(Record) error) (PageStats, error) {
	return c.PrefetchFrom(ctx, accessToken, "", fn)
}

// PrefetchFrom is Prefetch starting after bookmark (a PageStats.Bookmark
// from an interrupted pre-fetch; "" = from the start). Records of the page
// that was being read when it failed may reach fn again on resumption.
func (c *Client) PrefetchFrom(ctx context.Context, accessToken, bookmark string, fn func(Record) error) (PageStats, error) {
	st := PageStats{Bookmark: bookmark}
	seen := map[string]bool{}
	buf := new(bytes.Buffer)
	for {
		page, n, err := c.fetchPage(ctx, accessToken, bookmark, &st, buf)
		st.Bytes += n
		if err != nil {
			return st, err
		}
		st.Pages++
		for _, err := range page.bad {
			st.Malformed++
			c.logMalformed(&st, err)
		}
		for i := range page.records {
			r, err := page.records[i].check()
			switch {
			case IsDeleted(err):
				st.Deleted++
				continue
			case err != nil:
				st.Malformed++
				c.logMalformed(&st, err)
				continue
			}
			st.Records++
			if err := fn(r); err != nil {
				return st, err
			}
		}
		if !page.hasMore || page.count == 0 {
			if st.Malformed > maxMalformedLogs {
				c.log().Warn("bitbadges: malformed records skipped in all", "count", st.Malformed)
			}
			st.Bookmark = ""
			return st, nil
		}
		if page.bookmark == "" || page.bookmark == bookmark || seen[page.bookmark] {
			return st, fmt.Errorf("%w: pre-fetch page %d: %w", ErrMalformed, st.Pages, ErrBookmarkLoop)
		}
		// Only the last few bookmarks matter for loop detection; keep memory flat.
		if len(seen) > 64 {
			clear(seen)
		}
		seen[page.bookmark] = true
		bookmark = page.bookmark
		st.Bookmark = bookmark
	}
}

// maxMalformedLogs bounds the per-record log lines of one pre-fetch: a
// schema change would otherwise log 100,000 lines.
const maxMalformedLogs = 10

func (c *Client) logMalformed(st *PageStats, err error) {
	if st.Malformed <= maxMalformedLogs {
		c.log().Warn("bitbadges: skipping malformed record", "page", st.Pages, "err", err)
	}
}

// fetchPage gets one page, retrying temporary failures and falling back to
// the older POST form when the GET one is not there.
func (c *Client) fetchPage(ctx context.Context, token, bookmark string, st *PageStats, buf *bytes.Buffer) (decodedPage, int64, error) {
	delay := c.RetryDelay
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	var total int64
	for attempt := 0; ; attempt++ {
		page, n, err := c.fetchPageOnce(ctx, token, bookmark, st, buf)
		total += n
		if err == nil || attempt >= c.PageRetries || !temporary(err) || ctx.Err() != nil {
			return page, total, err
		}
		st.Retries++
		c.log().Info("bitbadges: retrying pre-fetch page", "page", st.Pages+1, "err", err, "in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return page, total, err
		case <-t.C:
		}
		delay *= 2
	}
}

// temporary reports whether a retry of the same request might succeed.
func temporary(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Temporary() && ae.Status != http.StatusTooManyRequests
	}
	if errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) {
		// A truncated page is a network hiccup as often as a broken server,
		// but a retry costs a credit only: allow it for truncation alone.
		return errors.Is(err, errTruncated)
	}
	return true // network errors, timeouts
}

var errTruncated = errors.New("truncated JSON")

func (c *Client) fetchPageOnce(ctx context.Context, token, bookmark string, st *PageStats, buf *bytes.Buffer) (decodedPage, int64, error) {
	// Start with the form that worked last; on 404/405 try the others in
	// turn (wrapping round, so a server upgraded back to GET is followed).
	start := int(c.form.Load())
	for k := range len(prefetchForms) {
		i := (start + k) % len(prefetchForms)
		f := prefetchForms[i]
		var body []byte
		u := strings.TrimRight(c.APIURL, "/") + f.path
		if f.method == http.MethodGet {
			q := url.Values{"clientId": {c.ClientID}}
			if bookmark != "" {
				q.Set("bookmark", bookmark)
			}
			u += "?" + q.Encode()
		} else {
			body, _ = json.Marshal(map[string]string{"clientId": c.ClientID, "bookmark": bookmark})
		}
		var page decodedPage
		var perr error // the page's own fault, as opposed to the transport's
		n, date, err := c.doStream(ctx, "pre-fetch", f.method, u, body, token, buf, func(r io.Reader) error {
			page, perr = decodePage(r, c.maxRecords())
			return perr
		})
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) && k+1 < len(prefetchForms) {
			c.log().Info("bitbadges: pre-fetch form refused, trying an older one",
				"method", f.method, "path", f.path, "status", ae.Status)
			continue
		}
		if err != nil && err != perr {
			return decodedPage{}, n, err
		}
		if i != start {
			c.form.Store(int32(i))
		}
		st.Form = f.method
		if perr != nil {
			return decodedPage{}, n, fmt.Errorf("pre-fetch page %d: %w", st.Pages+1, perr)
		}
		if !date.IsZero() {
			st.ServerTime = date
		}
		c.serverTime(date)
		return page, n, nil
	}
	// Unreachable: the last form's error is returned above.
	return decodedPage{}, 0, errors.New("bitbadges pre-fetch: no form left to try")
}

// do sends one request and returns the bounded body of a 2xx answer, or a
// typed error. The Date header is returned whatever the status; callers
// report it (serverTime) only once the answer proved to be a success.
//
// The body is read into buf (reused across pages to keep garbage down; nil =
// a new buffer), so the returned bytes are valid only until buf's next use.
//
// extra are more secrets of this request (a refresh token, a code) to
// redact from the server's message, before it is cut to length: redacting
// the cut text later could miss a secret the cut split.
func (c *Client) do(ctx context.Context, op, method, u string, body []byte, bearer string, buf *bytes.Buffer, extra ...string) ([]byte, time.Time, error) {
	resp, date, done, err := c.send(ctx, op, method, u, body, bearer)
	if err != nil {
		return nil, date, err
	}
	defer done()
	return c.readAnswer(op, resp, date, bearer, buf, extra)
}

// doStream is do for a 2xx body too large to hold twice: decode reads it as
// a stream, through the MaxBodyBytes bound. It returns the bytes read. A
// non-2xx answer is read and reported as do does.
func (c *Client) doStream(ctx context.Context, op, method, u string, body []byte, bearer string, buf *bytes.Buffer, decode func(io.Reader) error) (int64, time.Time, error) {
	resp, date, done, err := c.send(ctx, op, method, u, body, bearer)
	if err != nil {
		return 0, date, err
	}
	defer done()
	if resp.StatusCode/100 != 2 {
		data, date, err := c.readAnswer(op, resp, date, bearer, buf, nil)
		return int64(len(data)), date, err
	}
	br := &boundedReader{r: resp.Body, max: c.maxBody()}
	err = decode(br)
	switch {
	case br.over:
		return br.n, date, fmt.Errorf("bitbadges %s: %w (over %d bytes)", op, ErrTooLarge, br.max)
	case br.err != nil:
		// The decoder's complaint about a body cut short is the network's
		// failure, not the server's JSON.
		return br.n, date, fmt.Errorf("bitbadges %s: reading body: %w", op, c.scrub(br.err))
	}
	return br.n, date, err
}

// boundedReader counts what it reads, refuses to read past max, and keeps
// the underlying reader's error apart from the decoder's.
type boundedReader struct {
	r    io.Reader
	n    int64
	max  int64
	over bool  // the body went past max
	err  error // the underlying read error other than io.EOF
}

var errOverMax = errors.New("over the body bound")

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.over {
		return 0, errOverMax
	}
	// One byte more than max tells "exactly max" from "more".
	if room := b.max + 1 - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		b.over = true
		return n, errOverMax
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// send sends one request. On success the caller must call done, which
// closes the body and releases the request's timeout.
func (c *Client) send(ctx context.Context, op, method, u string, body []byte, bearer string) (*http.Response, time.Time, func(), error) {
	cancel := context.CancelFunc(func() {})
	if c.RequestTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.RequestTimeout)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		cancel()
		return nil, time.Time{}, nil, fmt.Errorf("bitbadges %s: building request: %w", op, err)
	}
	req.Header.Set("x-api-key", c.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		cancel()
		return nil, time.Time{}, nil, fmt.Errorf("bitbadges %s: %w", op, c.scrub(err))
	}
	var date time.Time
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		date = d.UTC()
	}
	resp.Body = ctxBody{resp.Body, ctx}
	return resp, date, func() { resp.Body.Close(); cancel() }, nil
}

// ctxBody reports a read that failed once the request's context had ended
// as that context's error too: when the timeout closes the connection the
// transport may hand the reader "use of closed network connection", and a
// timeout must be classed (and backed off) as one.
type ctxBody struct {
	io.ReadCloser
	ctx context.Context
}

func (b ctxBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		if cerr := b.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
	}
	return n, err
}

// readAnswer reads a response's body through the bound and turns a non-2xx
// status into a typed error; see do.
func (c *Client) readAnswer(op string, resp *http.Response, date time.Time, bearer string, buf *bytes.Buffer, extra []string) ([]byte, time.Time, error) {
	max := c.maxBody()
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, max+1))
	data := buf.Bytes()
	if int64(len(data)) > max {
		return nil, date, fmt.Errorf("bitbadges %s: %w (over %d bytes)", op, ErrTooLarge, max)
	}
	if err != nil {
		// A body cut short: keep what came for the status check below, but
		// report the read failure for a 2xx (its JSON cannot be complete).
		if resp.StatusCode/100 == 2 {
			return data, date, fmt.Errorf("bitbadges %s: reading body: %w", op, c.scrub(err))
		}
	}
	if resp.StatusCode/100 == 2 {
		return data, date, nil
	}
	ae := newAPIError(op, resp.StatusCode,
		redact(serverMessage(data), append([]string{c.APIKey, c.ClientSecret, bearer}, extra...)...))
	if resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "") {
		now := date
		if now.IsZero() {
			now = time.Now()
		}
		return data, date, &RateLimited{RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now), Err: ae}
	}
	return data, date, ae
}

// serverTime reports the Date of an answer that succeeded: a 2xx to a
// request carrying the API key, whose body parsed as the API's. Only such an
// answer vouches for the server's clock; an error page (401, 402, 5xx) or a
// 200 that is not the API's (a captive portal, a proxy) proves nothing about
// who sent it, and its Date would move the kiosk's trusted time.
func (c *Client) serverTime(date time.Time) {
	if c.OnServerTime != nil && !date.IsZero() {
		c.OnServerTime(date)
	}
}

// scrub makes sure a transport error cannot carry a credential: url.Error
// quotes the URL, which holds only the client id and bookmark, never a
// secret; but be certain anyway.
func (c *Client) scrub(err error) error {
	msg := err.Error()
	red := redact(msg, c.APIKey, c.ClientSecret)
	if red == msg {
		return err
	}
	return &scrubbed{msg: red, err: err}
}

// scrubbed keeps the error chain (errors.Is for timeouts, cancellations)
// while replacing the text.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// String and LogValue keep the credentials out of any printed or logged Client.
func (c *Client) String() string { return "bitbadges.Client(" + c.APIURL + ", " + c.ClientID + ")" }

// GoString keeps %#v from printing the credentials.
func (c *Client) GoString() string { return c.String() }

// LogValue keeps slog from printing the credentials.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("api_url", c.APIURL), slog.String("client_id", c.ClientID))
}
