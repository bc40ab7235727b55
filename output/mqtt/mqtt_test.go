package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/output/handoff"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

type got struct {
	topic, id string
	body      handoff.Payload
}

// subscribe is a till listening on topic with a plain paho client.
func subscribe(t *testing.T, broker, topic string, opts ...func(*paho.Connect)) <-chan got {
	t.Helper()
	u, _ := url.Parse(broker)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan got, 100)
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			var g got
			g.topic = pr.Packet.Topic
			if pr.Packet.Properties != nil {
				g.id = pr.Packet.Properties.User.Get("id")
			}
			if err := json.Unmarshal(pr.Packet.Payload, &g.body); err != nil {
				t.Errorf("payload %q: %v", pr.Packet.Payload, err)
			}
			ch <- g
			return true, nil
		},
	}})
	cp := &paho.Connect{ClientID: "till", CleanStart: true, KeepAlive: 30}
	for _, o := range opts {
		o(cp)
	}
	if _, err := c.Connect(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return ch
}

func receive(t *testing.T, ch <-chan got, n int) []got {
	t.Helper()
	var out []got
	for len(out) < n {
		select {
		case g := <-ch:
			out = append(out, g)
		case <-time.After(15 * time.Second):
			t.Fatalf("received %d of %d", len(out), n)
		}
	}
	return out
}

func hub(t *testing.T, s *Sender) (*handoff.Hub, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := handoff.New(handoff.Options{Queue: st}, []handoff.Output{{Name: "loyalty", Kind: "mqtt", Target: s.Target(), Sender: s}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h, st
}

func hand(h *handoff.Hub, n int) []string {
	var ids []string
	for i := range n {
		p := handoff.FromVerdict("door-a", handoff.InputCamera, verify.Verdict{Accept: true, Reason: verify.OK, At: time.Now(),
			Holder: fmt.Sprintf("bb1holder%d", i)})
		ids = append(ids, p.ID)
		h.Hand(p)
	}
	return ids
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling state that has no event
	}
}

// Published QoS 1, in order, with the id as a user property; a broker that
// goes away keeps the messages queued (a status problem) and gets them all
// once it is back.
func TestPublishAndBrokerOutage(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{})
	tillMsgs := subscribe(t, b.URL(), "venue/till/+")
	s, err := New(Options{Broker: b.URL(), Topic: "venue/till/door-a", ClientID: "kioskd-door-a-out-loyalty", ReconnectMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, st := hub(t, s)
	ids := hand(h, 3)
	msgs := receive(t, tillMsgs, 3)
	for i, m := range msgs {
		if m.id != ids[i] || m.body.ID != ids[i] || m.topic != "venue/till/door-a" || m.body.Verdict != "accept" ||
			m.body.Holder == nil || m.body.Holder.BitBadgesAddress != fmt.Sprintf("bb1holder%d", i) {
			t.Fatalf("message %d: %+v, want id %s", i, m, ids[i])
		}
	}
	eventually(t, "the queue drained", func() bool { q, _ := st.HandoffQueueOf("loyalty"); return q.Queued == 0 })
	if st0 := h.Status()[0]; st0.Delivered != 3 || st0.Connected == nil || !*st0.Connected {
		t.Fatalf("status %+v", st0)
	}

	b.Stop()
	eventually(t, "the output sees the broker gone", func() bool { return !s.Connected() })
	ids = hand(h, 2)
	eventually(t, "a failing output in status", func() bool {
		st0 := h.Status()[0]
		return st0.Failures > 0 && st0.Queued == 2 && strings.Contains(st0.Problem(time.Now()), "delivery failing")
	})
	b.StartAgain()
	tillMsgs = subscribe(t, b.URL(), "venue/till/+")
	eventually(t, "the queue drained after the outage", func() bool { q, _ := st.HandoffQueueOf("loyalty"); return q.Queued == 0 })
	msgs = receive(t, tillMsgs, 2)
	if msgs[0].id != ids[0] || msgs[1].id != ids[1] {
		t.Fatalf("after the outage got %s %s, want %v", msgs[0].id, msgs[1].id, ids)
	}
	if st0 := h.Status()[0]; st0.Failures != 0 || st0.Delivered != 5 {
		t.Fatalf("status after the outage %+v", st0)
	}
}

// A TLS broker with the venue's CA and a password; a wrong password is a
// clear status line that never quotes it.
func TestTLSAndCredentials(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{TLS: true, Users: map[string]string{"kiosk": "right horse"}})
	pem, err := os.ReadFile(b.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tlsc := &tls.Config{RootCAs: pool}

	bad, err := New(Options{Broker: b.URL(), Topic: "t", ClientID: "bad", TLS: tlsc, Username: "kiosk", Password: "Tr0ub4dor"})
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := hub(t, bad)
	hand(hb, 1)
	eventually(t, "a credentials error", func() bool {
		return strings.Contains(hb.Status()[0].LastError, "user name or password")
	})
	if s := hb.Status()[0]; strings.Contains(fmt.Sprint(s), "Tr0ub4dor") || strings.Contains(s.Target, "kiosk") {
		t.Fatalf("status leaks the password: %+v", s)
	}

	good, err := New(Options{Broker: b.URL(), Topic: "t", ClientID: "good", TLS: tlsc, Username: "kiosk", Password: "right horse"})
	if err != nil {
		t.Fatal(err)
	}
	hg, st := hub(t, good)
	hand(hg, 1)
	eventually(t, "delivered over TLS", func() bool {
		q, _ := st.HandoffQueueOf("loyalty")
		return q.Queued == 0 && hg.Status()[0].Delivered == 1
	})
}

func TestNewRefuses(t *testing.T) {
	for _, o := range []Options{
		{Broker: "http://b:1883", Topic: "t", ClientID: "c"},
		{Broker: "mqtt://u:p@b:1883", Topic: "t", ClientID: "c"},
		{Broker: "mqtt://b:1883", Topic: "t/#", ClientID: "c"},
		{Broker: "mqtt://b:1883", Topic: "", ClientID: "c"},
		{Broker: "mqtt://b:1883", Topic: "t"},
		{Broker: "mqtts://b:8883", Topic: "t", ClientID: "c", TLS: &tls.Config{InsecureSkipVerify: true}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New accepted %+v", o)
		}
	}
}
