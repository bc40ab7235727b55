// Package webhook is the hand-off output that POSTs each verdict's payload
// (package output/handoff) as JSON to a receiver's URL, signed with HMAC-SHA256.
//
// # The request
//
//	POST <url>
//	Content-Type: application/json
//	Idempotency-Key: <payload id>
//	X-Kioskd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>
//
// The signature covers the time of this attempt and the exact body, so a
// receiver that checks it (Verify, or the few lines per language in
// docs/integrations.md) knows the message comes from a kiosk holding the key,
// unchanged, and can refuse a replay older than its window (5 minutes is
// usual). Each retry is signed anew; its body and id are the same, so the
// receiver deduplicates on the id.
//
// # The answer
//
// 2xx is delivered. 408, 429 and 5xx are retried (after Retry-After when
// the receiver sends one); any other 4xx is a refusal for good (Permanent):
// the message is dropped and counted, the queue goes on. Redirects are not
// followed (a signed POST is not replayed elsewhere) and are retried as
// failures, for an operator to fix the URL. TLS certificates are always
// verified (Options.TLS for a venue's own CA); each attempt is bounded by
// Options.Timeout. Errors never quote the URL (it may carry a token in its
// query) nor the key.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kioskd/kioskd/output/handoff"
)

// SignatureHeader carries the HMAC signature of a request.
const SignatureHeader = "X-Kioskd-Signature"

// DefaultTimeout bounds one attempt (connect, TLS, request, answer).
const DefaultTimeout = 5 * time.Second

// maxAnswer is how much of an answer's body is read (and discarded) so the
// connection can be reused.
const maxAnswer = 4 << 10

// Options configure a Sender.
type Options struct {
	// URL is http:// or https://, without credentials.
	URL string
	// Key is the HMAC-SHA256 key shared with the receiver (required).
	Key []byte
	// Timeout bounds one attempt; 0 = DefaultTimeout.
	Timeout time.Duration
	// TLS verifies an https receiver; nil = the system's roots. A config
	// with InsecureSkipVerify is refused.
	TLS *tls.Config
	// UserAgent is sent as User-Agent ("kioskd" when empty).
	UserAgent string
	// Now is the clock for signatures; nil = time.Now.
	Now func() time.Time
}

// Sender POSTs messages to one receiver. It is safe for concurrent use.
type Sender struct {
	o      Options
	url    string
	target string
	client *http.Client
}

// New checks the options; nothing is sent until Send.
func New(o Options) (*Sender, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, errors.New("webhook: the URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("webhook: the URL must be http:// or https://, not %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("webhook: the URL has no host")
	}
	if u.User != nil {
		return nil, errors.New("webhook: the URL must not hold credentials")
	}
	if len(o.Key) == 0 {
		return nil, errors.New("webhook: no signing key")
	}
	if o.TLS != nil && o.TLS.InsecureSkipVerify {
		return nil, errors.New("webhook: TLS verification cannot be turned off")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.UserAgent == "" {
		o.UserAgent = "kioskd"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLS != nil {
		tlsc = o.TLS.Clone()
		tlsc.MinVersion = max(tlsc.MinVersion, tls.VersionTLS12)
	}
	tr.TLSClientConfig = tlsc
	tr.MaxResponseHeaderBytes = 16 << 10
	tr.MaxIdleConnsPerHost = 2
	target := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	return &Sender{o: o, url: o.URL, target: target, client: &http.Client{
		Transport: tr,
		// A signed POST is not replayed to wherever a redirect points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Target is the receiver's URL without query or credentials, for status.
func (s *Sender) Target() string { return s.target }

// Close releases idle connections.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// Send POSTs one message; see the package comment for what its error means.
func (s *Sender) Send(ctx context.Context, m handoff.Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(string(m.Body)))
	if err != nil {
		return errors.New("building the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.o.UserAgent)
	req.Header.Set("Idempotency-Key", m.ID)
	req.Header.Set(SignatureHeader, Sign(s.o.Key, s.o.Now(), m.Body))
	resp, err := s.client.Do(req)
	if err != nil {
		return requestError(ctx, err, s.o.Timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		err := fmt.Errorf("receiver answered %d", code)
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), s.o.Now()); ok {
			return handoff.RetryAfter(err, d)
		}
		return err
	case code >= 400:
		return handoff.Permanent(fmt.Errorf("receiver refused with %d", code))
	case code >= 300:
		return fmt.Errorf("receiver answered %d (a redirect: not followed, fix the URL)", code)
	}
	return fmt.Errorf("receiver answered %d", code)
}

// requestError describes a failed request without the URL (*url.Error
// quotes it, and a URL may carry a token).
func requestError(ctx context.Context, err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("no answer within %s", timeout)
	case errors.Is(err, context.Canceled):
		return errors.New("canceled")
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return fmt.Errorf("the receiver's TLS certificate is not trusted: %v", ce.Err)
	}
	return fmt.Errorf("POST failed: %w", err)
}

// parseRetryAfter reads a Retry-After of seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(min(n, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Sign is the X-Kioskd-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>".
func Sign(key []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(key, ts, body))
}

func mac(key []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Errors of Verify.
var (
	ErrMalformed = errors.New("malformed signature header")
	ErrSignature = errors.New("signature does not match")
	ErrStale     = errors.New("signature time outside the window")
)

// Verify checks a request's X-Kioskd-Signature header against its body, as
// a receiver written in Go would: the HMAC with key, and the signature's
// time within window of now (a replayed request is refused). Unknown
// fields in the header are ignored, several v1 values are accepted (any
// one matching), for a receiver rotating keys.
func Verify(key []byte, header string, body []byte, now time.Time, window time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return ErrMalformed
			}
			sigs = append(sigs, b)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	want := mac(key, ts, body)
	ok := false
	for _, s := range sigs {
		ok = ok || hmac.Equal(s, want)
	}
	if !ok {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > window || d < -window {
		return ErrStale
	}
	return nil
}
