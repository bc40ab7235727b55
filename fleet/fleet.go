package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/kioskd/kioskd/store"
)

// Defaults for Options.
const (
	DefaultStatusInterval = 30 * time.Second
	DefaultPollInterval   = time.Second
	DefaultReconnectMax   = 30 * time.Second
	// publishBatch is how many outbox items are in flight at once.
	publishBatch = 64
)

// Options configure a Fleet.
type Options struct {
	// Kiosk is this kiosk's id (config kiosk_id): one topic level.
	Kiosk string
	// Broker is mqtt://host:port or mqtts://host:port.
	Broker string
	// Username and Password log in to the broker (optional).
	Username, Password string
	// TLS for mqtts://; nil = the system's roots. Never InsecureSkipVerify.
	TLS *tls.Config
	// TopicPrefix is the venue's topic root.
	TopicPrefix string
	// QoS of redemption messages, 1 or 2 (0 = 1).
	QoS byte
	// SessionExpiry: how long the broker keeps this kiosk's session while it is away.
	SessionExpiry time.Duration
	// StatusInterval: how often the retained online status is refreshed.
	StatusInterval time.Duration
	// Policy decides what counts as a double entry.
	Policy Policy
	Store  Store
	Logger *slog.Logger
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
	// OnDoubleEntry is called once per double entry found (wire the metric here).
	OnDoubleEntry func(store.DoubleEntry)
	// OnPeerRedemption is called after a peer's redemption was handled;
	// applied is false for a repeat. For tests and measurements.
	OnPeerRedemption func(r store.Redemption, applied bool)
	// OnPeerVisit is called after a peer's loyalty visit was handled
	// (visits.go); added is false for a repeat. For tests and measurements.
	OnPeerVisit func(v store.VisitEvent, added bool)
	// PollInterval is how often the outbox is checked without a Notify (0 = 1 s).
	PollInterval time.Duration
	// ReconnectMax caps the reconnect backoff (0 = 30 s).
	ReconnectMax time.Duration
}

// Fleet shares this kiosk's redemptions with its peers and applies theirs.
// Create with New (kioskd: assembly.OpenFleet), start with Run; the other methods are safe
// to call at any time from any goroutine.
type Fleet struct {
	o        Options
	log      *slog.Logger
	url      *url.URL
	conflict store.ConflictFunc
	wake     chan struct{}
	running  atomic.Bool

	published atomic.Uint64
	applied   atomic.Uint64
	repeats   atomic.Uint64
	ignored   atomic.Uint64

	visitRule  store.VisitRule // o.Policy.Visits (visits.go)
	visitCount visitCounters

	mu        sync.Mutex
	connected bool
	lastErr   string
	peers     map[string]*peer
}

type peer struct {
	lastSeen time.Time
	offline  bool
}

// Peer is another kiosk of the fleet as this kiosk last heard of it.
type Peer struct {
	Kiosk    string
	LastSeen time.Time
	Age      time.Duration
	// Online: its last status was "online" and it was heard from within 3 status intervals.
	Online bool
}

// Status is the fleet's state for `kioskd status`, logs and metrics.
type Status struct {
	Broker    string // without credentials
	Connected bool
	// LastError is the latest connection problem ("" once connected).
	LastError string
	// Pending local redemptions not yet acknowledged by the broker; Dropped
	// because the fleet outbox was full.
	Pending int
	Dropped uint64
	// Published local redemptions, Applied peer redemptions, Repeats of
	// peer redemptions already applied, Ignored malformed or foreign messages.
	Published, Applied, Repeats, Ignored uint64
	// DoubleEntries are the latest double entries recorded (newest first, at most 10).
	DoubleEntries []store.DoubleEntry
	Peers         []Peer
	// Visits are the loyalty visits shared (visits.go).
	Visits VisitStatus
}

// Policy is the venue's re-use policy as far as the fleet needs it.
type Policy struct {
	// Reuse is "single" (any two entries are a double entry), "cooldown"
	// (two uses closer than Cooldown) or "unlimited" (never).
	Reuse    string
	Cooldown time.Duration
	// Visits is the loyalty visit counter (visits.go); the zero rule is off.
	Visits store.VisitRule
}

// Store is what the fleet reads and writes: the fleet outbox, peers'
// redemptions and the double entries (*store.Store).
type Store interface {
	PendingFleet(max int) ([]store.FleetItem, error)
	AckFleet(seqs []uint64) error
	ApplyPeerRedemptions(ctx context.Context, rs []store.Redemption, self string, now time.Time, conflict store.ConflictFunc) ([]store.PeerApply, error)
	DoubleEntries(max int) ([]store.DoubleEntry, error)
	FleetCounts() (store.FleetCounts, error)
	// EnableFleetOutbox makes every redemption from now on queue for
	// the fleet.
	EnableFleetOutbox() error
}

var _ Store = (*store.Store)(nil)

// Leave is a kiosk without a broker (one taken out of a fleet): the store
// stops queueing redemptions for the fleet. Local redemptions not yet
// published are kept, with a warning: a reload that loses fleet.broker by
// mistake must not lose them, and `kioskd fleet drop` discards them on
// purpose.
func Leave(st interface{ DisableFleetOutbox() (int, error) }, log *slog.Logger) error {
	pending, err := st.DisableFleetOutbox()
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	if pending > 0 && log != nil {
		log.Warn("fleet.broker is not set, but local redemptions were never published to the fleet: "+
			"they are kept until fleet.broker is back, or dropped by kioskd fleet drop", "pending", pending)
	}
	return nil
}

// New checks the options and returns a Fleet; nothing connects until Run.
func New(o Options) (*Fleet, error) {
	if o.Store == nil {
		return nil, errors.New("fleet: no store")
	}
	if !validKioskID(o.Kiosk) {
		return nil, fmt.Errorf("fleet: kiosk id %q cannot be a topic level (empty, /, + or #)", o.Kiosk)
	}
	u, err := url.Parse(o.Broker)
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Host == "" {
		return nil, fmt.Errorf("fleet: broker must be mqtt://host:port or mqtts://host:port")
	}
	u.User = nil
	if u.Scheme == "mqtts" {
		t := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.TLS != nil {
			t = o.TLS.Clone()
		}
		// Verification is not optional: a venue's peers must not be spoofed.
		t.InsecureSkipVerify = false
		if t.ServerName == "" {
			t.ServerName = u.Hostname()
		}
		o.TLS = t
	}
	if o.QoS == 0 {
		o.QoS = 1
	}
	if o.QoS > 2 {
		return nil, fmt.Errorf("fleet: QoS must be 1 or 2, not %d", o.QoS)
	}
	if o.StatusInterval <= 0 {
		o.StatusInterval = DefaultStatusInterval
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = DefaultReconnectMax
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Fleet{
		o: o, log: o.Logger.With("component", "fleet"), url: u, conflict: ConflictRule(o.Policy),
		wake: make(chan struct{}, 1), peers: map[string]*peer{}, visitRule: o.Policy.Visits,
	}, nil
}

// ConflictRule is the policy's notion of a double entry between a use here
// and a peer's use of the same code. Exits are never uses.
func ConflictRule(p Policy) store.ConflictFunc {
	uses := func(a, b store.Redemption) bool { return a.Direction != store.DirExit && b.Direction != store.DirExit }
	switch p.Reuse {
	case "single":
		return uses
	case "cooldown":
		return func(a, b store.Redemption) bool {
			d := a.At.Sub(b.At)
			if d < 0 {
				d = -d
			}
			return uses(a, b) && d < p.Cooldown
		}
	default:
		return nil
	}
}

// Notify tells the fleet a local redemption was recorded, so it is published
// now rather than at the next poll. It never blocks; call it after every
// accepted verdict (calling it after every verdict is harmless).
func (f *Fleet) Notify() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *Fleet) topic(seg, kiosk string) string { return f.o.TopicPrefix + "/" + seg + "/" + kiosk }

// Run connects to the broker and keeps the fleet in step until ctx ends:
// it publishes the fleet outbox (removing an item only after the broker's
// PUBACK), applies peers' redemptions, refreshes the retained status, and
// reconnects with backoff when the broker is away. While it is away the
// kiosk decides alone; the outbox and the broker's persistent session catch
// both sides up. Run returns nil after a clean shutdown (status "offline"
// published, session kept on the broker).
func (f *Fleet) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("fleet: already running")
	}
	defer f.running.Store(false)
	if err := f.o.Store.EnableFleetOutbox(); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	// The connection outlives ctx by the little it takes to say goodbye.
	connCtx, stopConn := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConn()
	// The applier owns inbox; the MQTT client's handler feeds it until
	// applyCtx ends, after which unacknowledged messages wait on the broker.
	applyCtx, stopApply := context.WithCancel(connCtx)
	defer stopApply()
	inbox := make(chan inMsg, applyBatch)
	var applier sync.WaitGroup
	applier.Go(func() { f.applyLoop(applyCtx, inbox) })
	defer applier.Wait()
	connUp := make(chan struct{}, 1)
	cm, err := autopaho.NewConnection(connCtx, f.clientConfig(applyCtx, inbox, connUp))
	if err != nil {
		stopApply()
		return fmt.Errorf("fleet: starting MQTT client: %w", err)
	}
	poll := time.NewTicker(f.o.PollInterval)
	defer poll.Stop()
	status := time.NewTicker(f.o.StatusInterval)
	defer status.Stop()
	for {
		select {
		case <-ctx.Done():
			f.shutdown(cm, func() { stopApply(); applier.Wait() })
			return nil
		case <-connUp:
			f.onUp(ctx, cm)
		case <-status.C:
			f.publishStatus(ctx, cm, stateOnline)
		case <-f.wake:
			f.drain(ctx, cm)
		case <-poll.C:
			f.drain(ctx, cm)
		}
	}
}

func (f *Fleet) clientConfig(ctx context.Context, inbox chan<- inMsg, connUp chan struct{}) autopaho.ClientConfig {
	minDelay := 200 * time.Millisecond
	return autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{f.url},
		TlsCfg:                        f.o.TLS,
		KeepAlive:                     20,
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(f.o.SessionExpiry / time.Second),
		ConnectTimeout:                10 * time.Second,
		ReconnectBackoff:              autopaho.NewExponentialBackoff(minDelay, max(f.o.ReconnectMax, 2*minDelay), 2*minDelay, 2),
		ConnectUsername:               f.o.Username,
		ConnectPassword:               []byte(f.o.Password),
		WillMessage: &paho.WillMessage{
			Retain: true, QoS: 1, Topic: f.topic(segStatus, f.o.Kiosk),
			Payload: encodeStatus(f.o.Kiosk, stateOffline, time.Time{}),
		},
		OnConnectionUp: func(*autopaho.ConnectionManager, *paho.Connack) {
			f.setConnected(true, "")
			select {
			case connUp <- struct{}{}:
			default:
			}
		},
		OnConnectionDown: func() bool {
			f.setConnected(false, "connection lost")
			f.log.Warn("fleet broker connection lost; deciding locally until it is back")
			return true
		},
		OnConnectError: f.connectError,
		ClientConfig: paho.ClientConfig{
			ClientID: "kioskd-" + f.o.Kiosk,
			// A redemption is acknowledged only once it is durable here.
			EnableManualAcknowledgment: true,
			SendAcksInterval:           10 * time.Millisecond,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) {
					f.receive(ctx, inbox, pr)
					return true, nil
				},
			},
		},
	}
}

// connectError records why a connection attempt failed, logging each new
// reason once rather than on every retry.
func (f *Fleet) connectError(err error) {
	msg := describeConnectError(err)
	f.mu.Lock()
	same := f.lastErr == msg
	f.connected, f.lastErr = false, msg
	f.mu.Unlock()
	if !same {
		f.log.Error("fleet broker connection failed; deciding locally, retrying", "broker", f.url.String(), "err", msg)
	}
}

// describeConnectError names the broker's refusal in words an installer acts on.
func describeConnectError(err error) string {
	var ce *autopaho.ConnackError
	if errors.As(err, &ce) {
		var what string
		switch ce.ReasonCode {
		case 0x86:
			what = "bad user name or password (check fleet.credentials_file)"
		case 0x87:
			// Mosquitto answers a wrong password with this code too.
			what = "not authorized: wrong user name or password, or a user the broker does not admit (check fleet.credentials_file and the broker's password file)"
		case 0x85:
			what = "client identifier refused"
		case 0x88, 0x89:
			what = "server unavailable or busy"
		case 0x8C:
			what = "bad authentication method"
		default:
			what = fmt.Sprintf("reason code 0x%02x", ce.ReasonCode)
		}
		if ce.Reason != "" {
			what += ": " + ce.Reason
		}
		return "broker refused the connection: " + what
	}
	return err.Error()
}

func (f *Fleet) setConnected(up bool, why string) {
	f.mu.Lock()
	f.connected = up
	if up || f.lastErr == "" {
		f.lastErr = why
	}
	f.mu.Unlock()
}

// onUp runs after every (re)connection: subscribe (kept by the persistent
// session anyway, but a first connection or an expired session needs it),
// announce ourselves, send what queued up while away.
func (f *Fleet) onUp(ctx context.Context, cm *autopaho.ConnectionManager) {
	f.log.Info("fleet broker connected", "broker", f.url.String())
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	qos := f.o.QoS
	_, err := cm.Subscribe(sctx, &paho.Subscribe{Subscriptions: append([]paho.SubscribeOptions{
		{Topic: f.o.TopicPrefix + "/" + segRedemption + "/+", QoS: qos, NoLocal: true},
		{Topic: f.o.TopicPrefix + "/" + segStatus + "/+", QoS: 1, NoLocal: true},
	}, f.visitSubscriptions()...)})
	if err != nil {
		f.log.Error("fleet subscribe failed", "err", err)
	}
	f.publishStatus(ctx, cm, stateOnline)
	f.drain(ctx, cm)
}

func (f *Fleet) publishStatus(ctx context.Context, cm *autopaho.ConnectionManager, state string) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := cm.Publish(pctx, &paho.Publish{
		QoS: 1, Retain: true, Topic: f.topic(segStatus, f.o.Kiosk),
		Payload: encodeStatus(f.o.Kiosk, state, f.o.Now()),
	})
	if err != nil && !errors.Is(err, autopaho.ConnectionDownError) {
		f.log.Debug("fleet status not published", "err", err)
	}
}

// drain publishes the fleet outbox while the broker takes it. Items go out
// concurrently (a batch in flight), each removed only after its PUBACK; a
// failure leaves it for the next attempt, and receivers are idempotent by
// nonce, so a repeat after a lost PUBACK is harmless.
func (f *Fleet) drain(ctx context.Context, cm *autopaho.ConnectionManager) {
	for ctx.Err() == nil {
		f.mu.Lock()
		up := f.connected
		f.mu.Unlock()
		if !up {
			return
		}
		items, err := f.o.Store.PendingFleet(publishBatch)
		if err != nil {
			f.log.Error("reading fleet outbox", "err", err)
			return
		}
		if len(items) == 0 {
			return
		}
		acked := make([]uint64, 0, len(items))
		var amu sync.Mutex
		var firstErr error
		var wg sync.WaitGroup
		for _, it := range items {
			wg.Go(func() {
				err := f.publish(ctx, cm, it.Redemption)
				amu.Lock()
				defer amu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				acked = append(acked, it.Seq)
			})
		}
		wg.Wait()
		if err := f.o.Store.AckFleet(acked); err != nil {
			f.log.Error("acknowledging fleet outbox", "err", err)
			return
		}
		f.published.Add(uint64(len(acked)))
		if firstErr != nil {
			f.log.Debug("fleet publish failed; will retry", "err", firstErr, "published", len(acked))
			return
		}
	}
}

func (f *Fleet) publish(ctx context.Context, cm *autopaho.ConnectionManager, r store.Redemption) error {
	payload, err := encodeRedemption(r)
	if err != nil {
		return fmt.Errorf("encoding redemption: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := cm.Publish(pctx, &paho.Publish{QoS: f.o.QoS, Topic: f.topic(segRedemption, r.Kiosk), Payload: payload})
	if err != nil {
		return fmt.Errorf("publishing redemption: %w", err)
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		return fmt.Errorf("publishing redemption: broker answered reason code 0x%02x", resp.ReasonCode)
	}
	return f.publishVisit(ctx, cm, r) // the visit it counted, if any (visits.go)
}

// inMsg is a peer's redemption waiting to be applied, with what acknowledges it.
type inMsg struct {
	r  store.Redemption
	pr paho.PublishReceived
}

// applyBatch bounds how many queued redemptions go into one transaction.
const applyBatch = 128

// receive is called by the MQTT client for each message, in order. Status
// and malformed messages are handled here and acknowledged; redemptions go
// to the applier, which acknowledges them once they are durable.
func (f *Fleet) receive(ctx context.Context, inbox chan<- inMsg, pr paho.PublishReceived) {
	if f.receiveVisit(ctx, pr) {
		return
	}
	if r, ok := f.classify(pr.Packet); ok {
		select {
		case inbox <- inMsg{r: r, pr: pr}:
		case <-ctx.Done(): // shutting down: the broker redelivers it next session
		}
		return
	}
	f.ack(pr)
}

func (f *Fleet) ack(pr paho.PublishReceived) {
	// After a lost connection the old client's acknowledgements are never
	// sent (its ack loop is gone); the broker redelivers, and applying is
	// idempotent.
	if err := pr.Client.Ack(pr.Packet); err != nil {
		f.log.Debug("fleet ack", "err", err)
	}
}

// classify handles a status message, counts a malformed or foreign one,
// and returns a peer's redemption to apply.
func (f *Fleet) classify(p *paho.Publish) (store.Redemption, bool) {
	seg, kiosk, ok := splitTopic(f.o.TopicPrefix, p.Topic)
	if !ok {
		f.ignore(p.Topic, errForeign)
		return store.Redemption{}, false
	}
	switch seg {
	case segStatus:
		if kiosk == f.o.Kiosk {
			return store.Redemption{}, false // our own retained status
		}
		if len(p.Payload) == 0 {
			f.mu.Lock()
			delete(f.peers, kiosk) // retained status cleared by an operator
			f.mu.Unlock()
			return store.Redemption{}, false
		}
		m, err := decodeStatus(kiosk, p.Payload)
		if err != nil {
			f.ignore(p.Topic, err)
			return store.Redemption{}, false
		}
		f.seen(kiosk, m.At, m.State == stateOffline)
	case segRedemption:
		if kiosk == f.o.Kiosk {
			f.ignore(p.Topic, fmt.Errorf("%w: another client publishes as this kiosk", errForeign))
			return store.Redemption{}, false
		}
		r, err := decodeRedemption(kiosk, p.Payload)
		if err != nil {
			f.ignore(p.Topic, err)
			return store.Redemption{}, false
		}
		f.seen(kiosk, f.o.Now(), false)
		return r, true
	default:
		f.ignore(p.Topic, errForeign)
	}
	return store.Redemption{}, false
}

// applyLoop applies peers' redemptions as they come, several per
// transaction when they queue up (a backlog after a partition), and
// acknowledges each only after its transaction is durable.
func (f *Fleet) applyLoop(ctx context.Context, inbox <-chan inMsg) {
	batch := make([]inMsg, 0, applyBatch)
	rs := make([]store.Redemption, 0, applyBatch)
	for {
		batch, rs = batch[:0], rs[:0]
		select {
		case <-ctx.Done():
			return
		case m := <-inbox:
			batch = append(batch, m)
		}
	more:
		for len(batch) < applyBatch {
			select {
			case m := <-inbox:
				batch = append(batch, m)
			default:
				break more
			}
		}
		for _, m := range batch {
			rs = append(rs, m.r)
		}
		res, err := f.o.Store.ApplyPeerRedemptions(ctx, rs, f.o.Kiosk, f.o.Now(), f.conflict)
		for err != nil {
			// The store failed (disk): keep the messages unacknowledged and
			// retry; nothing is lost, the broker holds them meanwhile.
			f.log.Error("applying peer redemptions; retrying", "count", len(rs), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			res, err = f.o.Store.ApplyPeerRedemptions(ctx, rs, f.o.Kiosk, f.o.Now(), f.conflict)
		}
		for i, m := range batch {
			f.applied1(m.r, res[i])
			f.ack(m.pr)
		}
	}
}

func (f *Fleet) applied1(r store.Redemption, res store.PeerApply) {
	if res.Applied {
		f.applied.Add(1)
	} else {
		f.repeats.Add(1)
	}
	for _, d := range res.DoubleEntries {
		f.log.Warn("double entry: one code accepted at two kiosks",
			"hash", d.Hash[:12], "here", d.Local.Kiosk, "here_at", d.Local.At, "peer", d.Peer.Kiosk, "peer_at", d.Peer.At)
		if f.o.OnDoubleEntry != nil {
			f.o.OnDoubleEntry(d)
		}
	}
	if f.o.OnPeerRedemption != nil {
		f.o.OnPeerRedemption(r, res.Applied)
	}
}

// ignore counts a message that is not ours to apply; the first few are
// logged, then one in a thousand, so a flood cannot fill the journal.
func (f *Fleet) ignore(topic string, err error) {
	n := f.ignored.Add(1)
	if n <= 10 || n%1000 == 0 {
		f.log.Warn("ignoring fleet message", "topic", topic, "err", err, "ignored_total", n)
	}
}

func (f *Fleet) seen(kiosk string, at time.Time, offline bool) {
	now := f.o.Now()
	if at.IsZero() || at.After(now) {
		// A will carries no time, and a peer's clock may be ahead of ours.
		at = now
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.peers[kiosk]
	if p == nil {
		p = &peer{}
		f.peers[kiosk] = p
	}
	if at.After(p.lastSeen) {
		p.lastSeen = at
	}
	p.offline = offline
}

// shutdown says goodbye, stops the applier (stopApply), then disconnects.
func (f *Fleet) shutdown(cm *autopaho.ConnectionManager, stopApply func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	f.mu.Lock()
	up := f.connected
	f.mu.Unlock()
	if up {
		// A clean DISCONNECT suppresses the will: say "offline" ourselves.
		f.publishStatus(ctx, cm, stateOffline)
	}
	stopApply()
	if err := cm.Disconnect(ctx); err != nil {
		f.log.Debug("fleet disconnect", "err", err)
	}
	f.setConnected(false, "stopped")
}

// Peers lists the other kiosks heard of, by id.
func (f *Fleet) Peers() []Peer {
	now := f.o.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Peer, 0, len(f.peers))
	for id, p := range f.peers {
		age := now.Sub(p.lastSeen)
		out = append(out, Peer{Kiosk: id, LastSeen: p.lastSeen, Age: age, Online: !p.offline && age < 3*f.o.StatusInterval})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kiosk < out[j].Kiosk })
	return out
}

// Status returns the fleet's state.
func (f *Fleet) Status() Status {
	s := Status{
		Broker: f.url.String(), Published: f.published.Load(), Applied: f.applied.Load(),
		Repeats: f.repeats.Load(), Ignored: f.ignored.Load(), Peers: f.Peers(), Visits: f.visitStatus(),
	}
	f.mu.Lock()
	s.Connected, s.LastError = f.connected, f.lastErr
	f.mu.Unlock()
	if fc, err := f.o.Store.FleetCounts(); err == nil {
		s.Pending, s.Dropped = fc.Pending, fc.Dropped
	}
	s.DoubleEntries, _ = f.o.Store.DoubleEntries(10)
	return s
}

// Lines renders the status as short lines for `kioskd status` and the
// status page's problems: one per double entry, one per connection problem.
func (s Status) Lines() []string {
	var out []string
	if !s.Connected && s.LastError != "" {
		out = append(out, "fleet: "+s.LastError)
	}
	for _, d := range s.DoubleEntries {
		out = append(out, d.Problem())
	}
	return out
}
