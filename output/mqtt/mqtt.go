// Package mqtt is the hand-off output that publishes each verdict's payload
// (package output/handoff) on one MQTT v5 topic, QoS 1, to the fleet's broker or
// another one, with the client library the fleet uses (paho.golang's
// autopaho).
//
// A message leaves the kiosk's durable queue only after the broker's PUBACK
// (with a reason code below 0x80: "no matching subscribers" is a success, the
// broker took it). Subscribers see each message at least once: the payload's
// id, also sent as the user property "id", is the idempotency key. The
// connection is this output's own (client id kioskd-<kiosk>-out-<name>),
// with a clean session: the kiosk's queue, not the broker's session, holds
// what is not yet acknowledged. While the broker is away the queue grows
// (bounded) and the output is a status problem; when the connection comes
// back the queue is sent at once.
//
// Who may publish is the broker's business: give the kiosk's user an ACL
// limited to its topics. Payloads are not signed (a receiver trusts the
// broker's authentication), and carry no code.
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	stdsync "sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/kioskd/kioskd/output/handoff"
)

// DefaultTimeout bounds one publish, from sending to the PUBACK.
const DefaultTimeout = 10 * time.Second

// Options configure a Sender.
type Options struct {
	// Broker is mqtt://host:port or mqtts://host:port (certificate verified).
	Broker string
	// Username and Password log in to the broker (optional).
	Username, Password string
	// TLS for mqtts://; nil = the system's roots. InsecureSkipVerify is refused.
	TLS *tls.Config
	// Topic is where payloads are published: no wildcards.
	Topic string
	// ClientID must be unique on the broker.
	ClientID string
	// Timeout bounds one publish; 0 = DefaultTimeout.
	Timeout time.Duration
	// ReconnectMax caps the reconnect backoff (0 = 30 s).
	ReconnectMax time.Duration
	Logger       *slog.Logger
}

// Sender publishes messages on one topic. Run keeps its connection; Send
// may be called from any goroutine.
type Sender struct {
	o   Options
	url *url.URL
	log *slog.Logger
	up  chan struct{}

	mu        stdsync.Mutex
	cm        *autopaho.ConnectionManager
	connected bool
	lastErr   string
}

// New checks the options; nothing connects until Run.
func New(o Options) (*Sender, error) {
	u, err := url.Parse(o.Broker)
	if err != nil {
		return nil, errors.New("mqtt output: the broker URL does not parse")
	}
	if u.Scheme != "mqtt" && u.Scheme != "mqtts" {
		return nil, fmt.Errorf("mqtt output: the broker must be mqtt:// or mqtts://, not %q", u.Scheme)
	}
	if u.Host == "" || u.User != nil {
		return nil, errors.New("mqtt output: the broker URL needs a host and no credentials")
	}
	if o.Topic == "" || o.ClientID == "" {
		return nil, errors.New("mqtt output: no topic or client id")
	}
	for _, r := range o.Topic {
		if r == '+' || r == '#' || r == 0 {
			return nil, errors.New("mqtt output: the topic must have no wildcards")
		}
	}
	if o.TLS != nil && o.TLS.InsecureSkipVerify {
		return nil, errors.New("mqtt output: TLS verification cannot be turned off")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{o: o, url: &url.URL{Scheme: u.Scheme, Host: u.Host}, log: o.Logger, up: make(chan struct{}, 1),
		lastErr: "not connected yet"}, nil
}

// Target is the broker and topic, for status.
func (s *Sender) Target() string { return s.url.String() + " topic " + s.o.Topic }

// Connected reports whether the broker connection is up.
func (s *Sender) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Up fires when the connection comes up.
func (s *Sender) Up() <-chan struct{} { return s.up }

// Run connects and keeps the connection until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	minDelay := 200 * time.Millisecond
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{s.url},
		TlsCfg:                        s.o.TLS,
		KeepAlive:                     20,
		CleanStartOnInitialConnection: true,
		SessionExpiryInterval:         0,
		ConnectTimeout:                10 * time.Second,
		ReconnectBackoff:              autopaho.NewExponentialBackoff(minDelay, max(s.o.ReconnectMax, 2*minDelay), 2*minDelay, 2),
		ConnectUsername:               s.o.Username,
		ConnectPassword:               []byte(s.o.Password),
		OnConnectionUp: func(*autopaho.ConnectionManager, *paho.Connack) {
			s.setConnected(true, "")
			s.log.Info("output broker connected", "broker", s.url.String())
			select {
			case s.up <- struct{}{}:
			default:
			}
		},
		OnConnectionDown: func() bool {
			s.setConnected(false, "connection lost")
			return true
		},
		OnConnectError: func(err error) {
			msg := describe(err)
			s.mu.Lock()
			same := s.lastErr == msg
			s.mu.Unlock()
			s.setConnected(false, msg)
			if !same {
				s.log.Warn("output broker connection failed; retrying", "broker", s.url.String(), "err", msg)
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: s.o.ClientID},
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return fmt.Errorf("mqtt output: starting the client: %w", err)
	}
	s.mu.Lock()
	s.cm = cm
	s.mu.Unlock()
	<-ctx.Done()
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = cm.Disconnect(dctx)
	s.setConnected(false, "stopped")
	return nil
}

func (s *Sender) setConnected(up bool, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = up
	if !up && why != "" {
		s.lastErr = why
	}
}

// describe names a connection failure without credentials.
func describe(err error) string {
	var ce *autopaho.ConnackError
	if errors.As(err, &ce) {
		switch ce.ReasonCode {
		case 0x86, 0x87:
			return "broker refused the connection: wrong user name or password, or not authorized"
		default:
			return fmt.Sprintf("broker refused the connection: reason code 0x%02x", ce.ReasonCode)
		}
	}
	return err.Error()
}

// Send publishes one message, QoS 1, and returns once the broker
// acknowledged it. Without a connection it fails at once (the hub retries,
// and is woken when the connection is back).
func (s *Sender) Send(ctx context.Context, m handoff.Message) error {
	s.mu.Lock()
	cm, up, why := s.cm, s.connected, s.lastErr
	s.mu.Unlock()
	if cm == nil || !up {
		return fmt.Errorf("not connected to the broker: %s", why)
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	format := byte(1) // UTF-8
	_, err := cm.Publish(ctx, &paho.Publish{
		QoS: 1, Topic: s.o.Topic, Payload: m.Body,
		Properties: &paho.PublishProperties{
			ContentType: "application/json", PayloadFormat: &format,
			User: paho.UserProperties{{Key: "id", Value: m.ID}},
		},
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no PUBACK within %s", s.o.Timeout)
	}
	return fmt.Errorf("publishing: %w", err)
}
