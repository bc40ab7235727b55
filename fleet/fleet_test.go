package fleet_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// propagationBound is the stated time within which a redemption at one
// kiosk is rejected at the others through a local broker (measured p99 is
// a few ms; see BENCHMARKS.md). Generous for a loaded 2-core CI machine.
const propagationBound = 2 * time.Second

const prefix = "kioskd/test-venue"

func code(i int) string { return fmt.Sprintf("%064x", i) }

// kiosk is one in-process kioskd: a real store, the real verifier and a fleet.
type kiosk struct {
	t      testing.TB
	id     string
	st     *store.Store
	v      *verify.Verifier
	opt    fleet.Options
	f      *fleet.Fleet
	cancel context.CancelFunc
	done   chan error

	doubles atomic.Int64
	applied atomic.Int64
	onApply func(store.Redemption) // optional hook, set before start
}

func newKiosk(t testing.TB, id, broker string, codes int, tweak func(*fleet.Options)) *kiosk {
	t.Helper()
	return newKioskStore(t, id, broker, codes, false, tweak)
}

// newKioskStore is newKiosk with a choice of durability: durable stores
// fsync every transaction, as on a real kiosk (benchmarks).
func newKioskStore(t testing.TB, id, broker string, codes int, durable bool, tweak func(*fleet.Options)) *kiosk {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), id+".db"), store.Options{NoSync: !durable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := range codes {
		if err := sn.Put(store.Record{Hash: store.HashCode(code(i)), Name: "guest"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sn.Commit(store.SyncInfo{At: time.Now(), Source: "test"}); err != nil {
		t.Fatal(err)
	}
	k := &kiosk{t: t, id: id, st: st, v: verify.New(st, verify.Options{Policy: verify.DefaultPolicy(), Kiosk: id})}
	k.opt = fleet.Options{
		Kiosk: id, Broker: broker, TopicPrefix: prefix, SessionExpiry: time.Hour,
		StatusInterval: time.Second, PollInterval: 100 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
		Policy: fleet.Policy{Reuse: "single"}, Store: st, Logger: testLogger(t, id),
		OnDoubleEntry: func(store.DoubleEntry) { k.doubles.Add(1) },
		OnPeerRedemption: func(r store.Redemption, applied bool) {
			if applied {
				k.applied.Add(1)
			}
			if k.onApply != nil {
				k.onApply(r)
			}
		},
	}
	if tweak != nil {
		tweak(&k.opt)
	}
	return k
}

func testLogger(t testing.TB, id string) *slog.Logger {
	if os.Getenv("FLEET_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("kiosk", id)
}

// start runs a new Fleet over the kiosk's store (as a restarted kioskd would).
func (k *kiosk) start() {
	k.t.Helper()
	f, err := fleet.New(k.opt)
	if err != nil {
		k.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	k.f, k.cancel, k.done = f, cancel, make(chan error, 1)
	go func() { k.done <- f.Run(ctx) }()
	k.t.Cleanup(k.stop)
}

func (k *kiosk) stop() {
	if k.cancel == nil {
		return
	}
	k.cancel()
	if err := <-k.done; err != nil {
		k.t.Errorf("%s: Run: %v", k.id, err)
	}
	k.cancel = nil
}

func (k *kiosk) check(c string) verify.Verdict {
	vd := k.v.Check(context.Background(), c, verify.CheckOpts{})
	if k.f != nil {
		k.f.Notify()
	}
	return vd
}

func (k *kiosk) connected() bool { return k.f.Status().Connected }

func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fleetOf(t testing.TB, broker string, ids ...string) []*kiosk {
	var ks []*kiosk
	for _, id := range ids {
		k := newKiosk(t, id, broker, 200, nil)
		k.start()
		ks = append(ks, k)
	}
	for _, k := range ks {
		eventually(t, 10*time.Second, k.id+" connected", k.connected)
	}
	// Each sees the others' retained status: subscriptions are in place.
	for _, k := range ks {
		eventually(t, 5*time.Second, k.id+" sees its peers", func() bool { return len(k.f.Peers()) == len(ks)-1 })
	}
	return ks
}

func TestRedeemAtOneRejectedAtOthers(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{})
	ks := fleetOf(t, b.URL(), "A", "B", "C")
	a, bk, c := ks[0], ks[1], ks[2]

	for i := range 5 {
		cd := code(i)
		if vd := a.check(cd); !vd.Accept {
			t.Fatalf("A rejected a fresh code: %v", vd.Reason)
		}
		start := time.Now()
		h := store.HashCode(cd)
		for _, k := range []*kiosk{bk, c} {
			eventually(t, propagationBound, k.id+" learns A's redemption", func() bool {
				st, ok, _ := k.st.RedemptionState(h)
				return ok && st.Count == 1
			})
			if vd := k.check(cd); vd.Accept || vd.Reason != verify.AlreadyUsed {
				t.Fatalf("%s after A's redemption: accept=%v reason=%v", k.id, vd.Accept, vd.Reason)
			}
		}
		t.Logf("code %d rejected at B and C %v after A's accept", i, time.Since(start))
	}
	// Peers list each other as online, with a recent last-seen.
	for _, p := range a.f.Peers() {
		if !p.Online || p.Age > 5*time.Second {
			t.Errorf("A's peer %+v", p)
		}
	}
	// The rejects at B and C are local verdicts too; nothing but A's five
	// accepts went out.
	eventually(t, 2*time.Second, "A's outbox empty", func() bool { return a.f.Status().Pending == 0 })
	if s := a.f.Status(); s.Published != 5 {
		t.Fatalf("A published %d, want 5", s.Published)
	}
	if n := bk.applied.Load(); n != 5 {
		t.Fatalf("B applied %d, want 5", n)
	}
}

func TestPartitionDoubleEntryReportedOncePerKiosk(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{})
	ks := fleetOf(t, b.URL(), "A", "B", "C")
	a, bk, c := ks[0], ks[1], ks[2]

	b.Stop()
	eventually(t, 5*time.Second, "kiosks see the broker gone", func() bool {
		return !a.connected() && !bk.connected() && !c.connected()
	})
	cd := code(7)
	// Offline, each kiosk decides alone: both accept.
	if vd := a.check(cd); !vd.Accept {
		t.Fatalf("A offline: %v", vd.Reason)
	}
	if vd := bk.check(cd); !vd.Accept {
		t.Fatalf("B offline: %v", vd.Reason)
	}
	b.StartAgain()
	eventually(t, 10*time.Second, "A and B report the double entry", func() bool {
		return a.doubles.Load() >= 1 && bk.doubles.Load() >= 1
	})
	eventually(t, 5*time.Second, "C learns both redemptions", func() bool {
		st, ok, _ := c.st.RedemptionState(store.HashCode(cd))
		return ok && st.Count == 2
	})
	// Repeats must not report again: restart A's fleet (B's redemption may
	// be delivered again) and republish through a second partition.
	a.stop()
	a.start()
	eventually(t, 10*time.Second, "A reconnected", a.connected)
	time.Sleep(500 * time.Millisecond)
	if a.doubles.Load() != 1 || bk.doubles.Load() != 1 || c.doubles.Load() != 0 {
		t.Fatalf("double entries reported A=%d B=%d C=%d, want 1, 1, 0", a.doubles.Load(), bk.doubles.Load(), c.doubles.Load())
	}
	for _, k := range []*kiosk{a, bk} {
		des, err := k.st.DoubleEntries(10)
		if err != nil || len(des) != 1 {
			t.Fatalf("%s stored double entries %v, %v", k.id, des, err)
		}
		d := des[0]
		if d.Local.Kiosk != k.id || d.Hash != store.HashCode(cd) || d.Local.At.IsZero() || d.Peer.At.IsZero() {
			t.Fatalf("%s double entry %+v", k.id, d)
		}
		lines := k.f.Status().Lines()
		if len(lines) != 1 || !strings.Contains(lines[0], "double entry") || !strings.Contains(lines[0], "A at") || !strings.Contains(lines[0], "B at") {
			t.Fatalf("%s status lines %q", k.id, lines)
		}
		// One double-entry event waits in the upload outbox.
		evs, _ := k.st.PendingEvents(1000)
		var n int
		for _, e := range evs {
			if e.Kind == store.KindDoubleEntry {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s has %d double-entry events", k.id, n)
		}
	}
	if vd := c.check(cd); vd.Reason != verify.AlreadyUsed {
		t.Fatalf("C after the partition: %v", vd.Reason)
	}
}

func TestBrokerRestartWithQueuedMessages(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{})
	ks := fleetOf(t, b.URL(), "A", "B", "C")
	a, bk, c := ks[0], ks[1], ks[2]

	// C goes away cleanly; its session (and what is published for it) stays on the broker.
	c.stop()
	const n = 50
	for i := range n / 2 {
		if vd := a.check(code(i)); !vd.Accept {
			t.Fatalf("A: %v", vd.Reason)
		}
	}
	eventually(t, 5*time.Second, "A's first half acknowledged by the broker", func() bool { return a.f.Status().Pending == 0 })
	// The broker restarts with those queued for C; meanwhile A redeems the
	// second half into its own outbox.
	b.Stop()
	eventually(t, 5*time.Second, "A sees the broker gone", func() bool { return !a.connected() })
	for i := n / 2; i < n; i++ {
		if vd := a.check(code(i)); !vd.Accept {
			t.Fatalf("A offline: %v", vd.Reason)
		}
	}
	if p := a.f.Status().Pending; p != n/2 {
		t.Fatalf("A pending while broker down = %d, want %d", p, n/2)
	}
	b.StartAgain()
	eventually(t, 10*time.Second, "A's outbox drained after the restart", func() bool { return a.f.Status().Pending == 0 })
	c.start()
	for _, k := range []*kiosk{bk, c} {
		eventually(t, 10*time.Second, k.id+" has every redemption", func() bool { return k.applied.Load() == n })
	}
	// Restart C again: anything redelivered is a repeat, not a second use.
	c.stop()
	c.start()
	eventually(t, 10*time.Second, "C reconnected", c.connected)
	time.Sleep(300 * time.Millisecond)
	for _, k := range []*kiosk{bk, c} {
		if got := k.applied.Load(); got != n {
			t.Fatalf("%s applied %d, want %d", k.id, got, n)
		}
		for i := range n {
			st, ok, err := k.st.RedemptionState(store.HashCode(code(i)))
			if err != nil || !ok || st.Count != 1 || !st.Last.Peer || st.Last.Kiosk != "A" {
				t.Fatalf("%s code %d: state %+v ok=%v err=%v", k.id, i, st, ok, err)
			}
		}
	}
}

func TestMalformedAndForeignMessagesIgnored(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{})
	ks := fleetOf(t, b.URL(), "B")
	bk := ks[0]
	good := func(kiosk, hash, nonce string) string {
		return fmt.Sprintf(`{"v":1,"kiosk":%q,"hash":%q,"at":"2026-11-23T10:00:00Z","nonce":%q}`, kiosk, hash, nonce)
	}
	h := store.HashCode(code(3))
	msgs := []struct{ topic, payload string }{
		{prefix + "/redemption/X", "not json"},
		{prefix + "/redemption/X", good("Y", h, "n1")},                                               // kiosk differs from topic
		{prefix + "/redemption/X", good("X", strings.ToUpper(h), "n2")},                              // not lowercase hex
		{prefix + "/redemption/X", good("X", "0123", "n3")},                                          // short hash
		{prefix + "/redemption/X", strings.Replace(good("X", h, "n4"), `"v":1`, `"v":9`, 1)},         // future version
		{prefix + "/redemption/X", strings.Replace(good("X", h, "n5"), `{`, `{"code":"secret",`, 1)}, // unknown field
		{prefix + "/redemption/X", good("X", h, "bad nonce!")},                                       // nonce charset
		{prefix + "/redemption/B", good("B", h, "n6")},                                               // someone posing as B
		{prefix + "/status/X", `{"v":1,"kiosk":"X","state":"dancing"}`},                              // unknown state
		{prefix + "/redemption/X/extra", good("X", h, "n7")},                                         // not our topic shape (not subscribed: not delivered)
		{prefix + "/redemption/X", good("X", h, "n8")},                                               // the one valid message
	}
	pub := rawClient(t, b.URL())
	for _, m := range msgs {
		if _, err := pub.Publish(context.Background(), &paho.Publish{QoS: 1, Topic: m.topic, Payload: []byte(m.payload)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "the valid message applied", func() bool { return bk.applied.Load() == 1 })
	if got := bk.f.Status().Ignored; got != 9 {
		t.Fatalf("ignored %d, want 9", got)
	}
	st, _, _ := bk.st.RedemptionState(h)
	if st.Count != 1 || st.Last.Nonce != "n8" {
		t.Fatalf("state %+v", st)
	}
}

func rawClient(t *testing.T, broker string) *paho.Client {
	t.Helper()
	u, _ := url.Parse(broker)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	if _, err := c.Connect(context.Background(), &paho.Connect{ClientID: "intruder", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func TestWrongCredentials(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{Users: map[string]string{"kiosk-a": "right horse"}})
	bad := newKiosk(t, "A", b.URL(), 1, func(o *fleet.Options) { o.Username, o.Password = "kiosk-a", "Tr0ub4dor" })
	bad.start()
	eventually(t, 5*time.Second, "a clear credentials error", func() bool {
		e := bad.f.Status().LastError
		return strings.Contains(e, "broker refused") && strings.Contains(e, "user name or password")
	})
	s := bad.f.Status()
	if s.Connected || strings.Contains(s.LastError, "Tr0ub4dor") {
		t.Fatalf("status %+v", s)
	}
	if lines := s.Lines(); len(lines) != 1 || !strings.Contains(lines[0], "credentials_file") {
		t.Fatalf("lines %q", lines)
	}
	// The kiosk still decides alone.
	if vd := bad.check(code(0)); !vd.Accept {
		t.Fatalf("offline decision: %v", vd.Reason)
	}
	good := newKiosk(t, "B", b.URL(), 1, func(o *fleet.Options) { o.Username, o.Password = "kiosk-a", "right horse" })
	good.start()
	eventually(t, 5*time.Second, "right credentials connect", good.connected)
}

func TestLastWillMarksPeerOffline(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{})
	ks := fleetOf(t, b.URL(), "A", "B")
	a := ks[0]
	ks[1].stop() // clean stop publishes "offline"
	eventually(t, 5*time.Second, "A sees B offline", func() bool {
		p := a.f.Peers()
		return len(p) == 1 && p[0].Kiosk == "B" && !p[0].Online
	})
}

func TestTLSVerified(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{TLS: true})
	// Without the venue's CA the broker's certificate is not trusted: no connection.
	untrusted := newKiosk(t, "A", b.URL(), 1, nil)
	untrusted.start()
	eventually(t, 5*time.Second, "a certificate error", func() bool {
		return strings.Contains(untrusted.f.Status().LastError, "certificate")
	})
	if untrusted.connected() {
		t.Fatal("connected to a broker with an untrusted certificate")
	}
}
