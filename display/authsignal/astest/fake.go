// Package astest is an in-process stand-in for the Authsignal endpoints a
// QR-showing kiosk talks to, the way net/http/httptest stands in for a real
// server. Tests and demos use it alike.
//
// Server implements, with the real paths, field names and quirks:
//
//   - the kiosk's client API: create an anonymous QR challenge and poll it
//     (tenant id as Basic user);
//   - the phone's client API: claim a challenge, then approve or decline it,
//     each signed with the device's P-256 key (ECDSA-SHA256 over the UTF-8
//     challenge id, DER, base64; the public key as base64 DER SPKI). Signatures
//     are verified for real, and only enrolled keys are accepted;
//   - the server API's /validate (secret key as Basic user).
//
// Challenges expire after ten minutes on the Server's own clock, which tests
// move with Advance. Error answers carry Authsignal's {error, errorCode,
// errorDescription} body under a text/plain content type, as the real API
// sometimes does. A replayed token validates again (the real API does not
// document otherwise), so a client's own replay protection is what is tested.
// SetFault makes an endpoint slow, broken or down.
//
// Phone plays the user's phone: NewPhone enrolls a fresh key for a user id
// and Phone's methods claim, approve and decline the way the mobile SDK does.
package astest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Endpoint paths, relative to the base URL.
const (
	EndpointCreate   = "/client/challenge/qr-code"
	EndpointVerify   = "/client/verify/qr-code"
	EndpointClaim    = "/client/user-authenticators/qr-code/challenge/claim"
	EndpointDecide   = "/client/user-authenticators/qr-code/challenge"
	EndpointValidate = "/validate"
)

// Fault is a way for an endpoint to misbehave.
type Fault uint8

const (
	NoFault     Fault = iota
	Slow              // answer only after SlowDelay (or when the client gives up)
	Malformed         // 200 with a body that is not valid JSON
	Truncated         // 200 whose body stops before its Content-Length
	ServerError       // 503 with an error body
	RateLimited       // 429 too_many_requests
	Hangup            // close the connection without answering
)

func (f Fault) String() string {
	switch f {
	case NoFault:
		return "none"
	case Slow:
		return "slow"
	case Malformed:
		return "malformed"
	case Truncated:
		return "truncated"
	case ServerError:
		return "server-error"
	case RateLimited:
		return "rate-limited"
	case Hangup:
		return "hangup"
	}
	return "invalid"
}

// Lifetime is how long a challenge and its token live.
const Lifetime = 10 * time.Minute

type challenge struct {
	id, deviceCode, action string
	custom                 map[string]string
	idempotencyKey         string
	expiresAt              time.Time
	claimedBy              string // base64 SPKI of the claiming device
	decided, approved      bool
	token                  string
}

type token struct {
	userID, action, state, idempotencyKey string
	updatedAt, expiresAt                  time.Time
}

// Server is a running fake. Its zero value is not usable: call NewServer.
type Server struct {
	// URL is the REST base, like https://api.authsignal.com/v1.
	URL       string
	TenantID  string
	SecretKey string

	ts   *httptest.Server
	done chan struct{} // closed by Close: ends slow answers

	mu             sync.Mutex
	offset         time.Duration // added to time.Now: the fake's clock
	ttl            time.Duration
	slowDelay      time.Duration
	legacyAction   bool
	challenges     map[string]*challenge
	tokens         map[string]*token
	authenticators map[string]string // base64 SPKI -> user id
	faults         map[string]Fault
	created        []string // challenge ids in creation order
	validations    int
}

// NewServer starts a fake on 127.0.0.1 for the given tenant id and secret key.
// Close it when done.
func NewServer(tenantID, secretKey string) *Server {
	s := &Server{
		TenantID:       tenantID,
		SecretKey:      secretKey,
		ttl:            Lifetime,
		slowDelay:      30 * time.Second,
		challenges:     map[string]*challenge{},
		tokens:         map[string]*token{},
		authenticators: map[string]string{},
		faults:         map[string]Fault{},
		done:           make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1"+EndpointCreate, s.fault(EndpointCreate, s.create))
	mux.HandleFunc("POST /v1"+EndpointVerify, s.fault(EndpointVerify, s.verify))
	mux.HandleFunc("POST /v1"+EndpointClaim, s.fault(EndpointClaim, s.claim))
	mux.HandleFunc("POST /v1"+EndpointDecide, s.fault(EndpointDecide, s.decide))
	mux.HandleFunc("POST /v1"+EndpointValidate, s.fault(EndpointValidate, s.validate))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL + "/v1"
	return s
}

// Close shuts the fake down, ending any slow answer.
func (s *Server) Close() {
	close(s.done)
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Client returns an HTTP client for the fake (a plain one: the fake is HTTP).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Now is the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return time.Now().Add(s.offset) }

// Advance moves the fake's clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
}

// SetLifetime changes the lifetime of challenges created from now on
// (default Lifetime), to test a client that honours expiresAt.
func (s *Server) SetLifetime(d time.Duration) {
	s.mu.Lock()
	s.ttl = d
	s.mu.Unlock()
}

// SetSlowDelay sets how long a Slow endpoint stalls (default 30 s).
func (s *Server) SetSlowDelay(d time.Duration) {
	s.mu.Lock()
	s.slowDelay = d
	s.mu.Unlock()
}

// SetLegacyActionCode makes /validate send only the deprecated actionCode
// field instead of action.
func (s *Server) SetLegacyActionCode(on bool) {
	s.mu.Lock()
	s.legacyAction = on
	s.mu.Unlock()
}

// SetFault makes endpoint (one of the Endpoint constants, or "" for all of
// them) misbehave; NoFault restores it.
func (s *Server) SetFault(endpoint string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if endpoint == "" {
		for _, e := range []string{EndpointCreate, EndpointVerify, EndpointClaim, EndpointDecide, EndpointValidate} {
			s.faults[e] = f
		}
		return
	}
	s.faults[endpoint] = f
}

// Created returns the ids of every challenge created so far, oldest first.
func (s *Server) Created() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.created...)
}

// Latest returns the id of the newest challenge ("" when none).
func (s *Server) Latest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.created) == 0 {
		return ""
	}
	return s.created[len(s.created)-1]
}

// Validations counts /validate calls that reached the handler.
func (s *Server) Validations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.validations
}

// Enroll registers a device public key (base64 DER SPKI) for a user, as the
// mobile SDK's enrolment would.
func (s *Server) Enroll(publicKey, userID string) {
	s.mu.Lock()
	s.authenticators[publicKey] = userID
	s.mu.Unlock()
}

// MintToken issues a token directly, with any state and action, to test a
// validator's refusals (e.g. state CHALLENGE_FAILED).
func (s *Server) MintToken(userID, action, state string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	t := randHex(32)
	s.tokens[t] = &token{userID: userID, action: action, state: state, idempotencyKey: uuid(),
		updatedAt: now, expiresAt: now.Add(Lifetime)}
	return t
}

// fault wraps a handler with the endpoint's configured misbehaviour.
func (s *Server) fault(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f, delay := s.faults[endpoint], s.slowDelay
		s.mu.Unlock()
		switch f {
		case Slow:
			// Read the body first: only then does net/http watch the
			// connection and cancel r.Context() when the client gives up.
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			case <-t.C:
			}
		case Malformed:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"isClaimed": tru, "challengeId": `)
			return
		case Truncated:
			hijack(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 120\r\n\r\n{\"challengeId\":\"abc\",\"devi")
			return
		case ServerError:
			writeErr(w, http.StatusServiceUnavailable, "service_unavailable", "the service is temporarily unavailable")
			return
		case RateLimited:
			writeErr(w, http.StatusTooManyRequests, "too_many_requests", "slow down")
			return
		case Hangup:
			hijack(w, "")
			return
		}
		h(w, r)
	}
}

func hijack(w http.ResponseWriter, raw string) {
	hj, ok := w.(http.Hijacker)
	if !ok { // httptest's HTTP/1 server always can; answer something broken anyway
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if raw != "" {
		buf.WriteString(raw)
		buf.Flush()
	}
	conn.Close()
}

// writeErr answers with Authsignal's error shape, labelled text/plain as the
// real API sometimes does.
func writeErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "errorCode": code, "errorDescription": desc})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body strictly: an unknown field means the client got a
// name wrong, which the fake should catch.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", "invalid body: "+err.Error())
		return false
	}
	return true
}

func (s *Server) tenantOK(w http.ResponseWriter, r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	if !ok || u != s.TenantID || p != "" {
		writeErr(w, http.StatusUnauthorized, "unauthorized", "The request is unauthorized. Check that your tenant ID and region are correct.")
		return false
	}
	return true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(w, r) {
		return
	}
	var req struct {
		Action string            `json:"action"`
		Custom map[string]string `json:"custom"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Action == "" {
		writeErr(w, http.StatusBadRequest, "invalid_request", "action is required")
		return
	}
	s.mu.Lock()
	c := &challenge{id: uuid(), deviceCode: randHex(16), action: req.Action, custom: req.Custom,
		idempotencyKey: uuid(), expiresAt: s.nowLocked().Add(s.ttl)}
	s.challenges[c.id] = c
	s.created = append(s.created, c.id)
	s.mu.Unlock()
	writeJSON(w, map[string]string{
		"challengeId": c.id,
		"deviceCode":  c.deviceCode,
		"expiresAt":   c.expiresAt.UTC().Format("2006-01-02T15:04:05.000Z"),
	})
}

// live returns the challenge if it exists and has not expired, else answers
// the error itself. Called with s.mu held.
func (s *Server) live(w http.ResponseWriter, id string) *challenge {
	c := s.challenges[id]
	if c == nil {
		writeErr(w, http.StatusNotFound, "not_found", "challenge not found")
		return nil
	}
	if !s.nowLocked().Before(c.expiresAt) {
		writeErr(w, http.StatusBadRequest, "expired_token", "the challenge has expired")
		return nil
	}
	return c
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(w, r) {
		return
	}
	var req struct {
		ChallengeID string `json:"challengeId"`
		DeviceCode  string `json:"deviceCode"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.live(w, req.ChallengeID)
	if c == nil {
		return
	}
	if req.DeviceCode != c.deviceCode {
		writeErr(w, http.StatusBadRequest, "invalid_request", "deviceCode does not match")
		return
	}
	resp := map[string]any{
		"isClaimed":  c.claimedBy != "",
		"isConsumed": c.decided,
		"isVerified": c.approved,
	}
	if c.approved {
		resp["accessToken"] = c.token
	}
	writeJSON(w, resp)
}

// signed checks the device's signature over the challenge id and returns its
// user id, or answers the error itself. Called with s.mu held.
func (s *Server) signed(w http.ResponseWriter, challengeID, publicKey, signature string) (string, bool) {
	user, ok := s.authenticators[publicKey]
	if !ok {
		writeErr(w, http.StatusBadRequest, "invalid_credential", "unknown authenticator")
		return "", false
	}
	der, err := base64.StdEncoding.DecodeString(publicKey)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_credential", "publicKey is not base64")
		return "", false
	}
	pk, err := x509.ParsePKIXPublicKey(der)
	ec, isEC := pk.(*ecdsa.PublicKey)
	if err != nil || !isEC || ec.Curve != elliptic.P256() {
		writeErr(w, http.StatusBadRequest, "invalid_credential", "publicKey is not a P-256 SPKI")
		return "", false
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	sum := sha256.Sum256([]byte(challengeID))
	if err != nil || !ecdsa.VerifyASN1(ec, sum[:], sig) {
		writeErr(w, http.StatusUnauthorized, "invalid_signature", "signature verification failed")
		return "", false
	}
	return user, true
}

func (s *Server) claim(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(w, r) {
		return
	}
	var req struct {
		ChallengeID string `json:"challengeId"`
		PublicKey   string `json:"publicKey"`
		Signature   string `json:"signature"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.live(w, req.ChallengeID)
	if c == nil {
		return
	}
	if _, ok := s.signed(w, req.ChallengeID, req.PublicKey, req.Signature); !ok {
		return
	}
	if c.claimedBy != "" || c.decided {
		writeErr(w, http.StatusConflict, "invalid_request", "challenge already claimed")
		return
	}
	c.claimedBy = req.PublicKey
	writeJSON(w, map[string]any{
		"success":        true,
		"ipAddress":      "127.0.0.1",
		"userAgent":      r.UserAgent(),
		"actionCode":     c.action,
		"idempotencyKey": c.idempotencyKey,
		"custom":         c.custom,
	})
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(w, r) {
		return
	}
	var req struct {
		ChallengeID      string  `json:"challengeId"`
		PublicKey        string  `json:"publicKey"`
		Signature        string  `json:"signature"`
		Approved         *bool   `json:"approved"`
		VerificationCode *string `json:"verificationCode"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Approved == nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", "approved is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.live(w, req.ChallengeID)
	if c == nil {
		return
	}
	user, ok := s.signed(w, req.ChallengeID, req.PublicKey, req.Signature)
	if !ok {
		return
	}
	if c.claimedBy != req.PublicKey || c.decided {
		writeErr(w, http.StatusConflict, "invalid_request", "challenge not claimed by this device or already decided")
		return
	}
	c.decided = true
	c.approved = *req.Approved
	if c.approved {
		now := s.nowLocked()
		c.token = randHex(32)
		s.tokens[c.token] = &token{userID: user, action: c.action, state: "CHALLENGE_SUCCEEDED",
			idempotencyKey: c.idempotencyKey, updatedAt: now, expiresAt: now.Add(Lifetime)}
	}
	writeJSON(w, map[string]bool{"isVerified": c.approved})
}

func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || u != s.SecretKey || p != "" || s.SecretKey == "" {
		writeErr(w, http.StatusUnauthorized, "unauthorized", "The request is unauthorized. Check that your secret key and region are correct.")
		return
	}
	var req struct {
		Token  string `json:"token"`
		Action string `json:"action"`
		UserID string `json:"userId"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validations++
	t := s.tokens[req.Token]
	if t == nil {
		writeErr(w, http.StatusBadRequest, "invalid_token", "the token is invalid")
		return
	}
	if !s.nowLocked().Before(t.expiresAt) {
		writeErr(w, http.StatusBadRequest, "expired_token", "the token has expired")
		return
	}
	valid := t.state == "CHALLENGE_SUCCEEDED" &&
		(req.Action == "" || req.Action == t.action) && (req.UserID == "" || req.UserID == t.userID)
	resp := map[string]any{
		"isValid":            valid,
		"state":              t.state,
		"stateUpdatedAt":     t.updatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"userId":             t.userID,
		"idempotencyKey":     t.idempotencyKey,
		"verificationMethod": "DEVICE",
	}
	if s.legacyAction {
		resp["actionCode"] = t.action
	} else {
		resp["action"] = t.action
	}
	writeJSON(w, resp)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
