package assembly

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// The fleet: section through OpenFleet (moved from fleet's tests, which
// test fleet.New's options without a config).

const fleetPrefix = "kioskd/test-venue"

func fleetCode(i int) string { return fmt.Sprintf("%064x", i) }

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

func TestOpenFleet(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := config.Default()
	if f, err := OpenFleet(&c, fleet.Options{Store: st}); f != nil || err != nil {
		t.Fatalf("no broker: %v %v", f, err)
	}
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	tests := []struct {
		name, content, wantErr string
	}{
		{"colon form", "kiosk-a:pa:ss\n", ""},
		{"yaml form", "username: kiosk-a\npassword: 'pa ss'\n", ""},
		{"yaml unknown key", "username: a\npasword: x\n", "only the keys"},
		{"no colon", "justonething", "expected username:password"},
		{"empty user", ":secret", "expected username:password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(creds, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			c.Fleet.Broker, c.Fleet.CredentialsFile = "mqtt://127.0.0.1:1", creds
			f, err := OpenFleet(&c, fleet.Options{Store: st})
			if tc.wantErr == "" {
				if err != nil || f == nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "pasword: x") {
				t.Fatalf("error quotes the credentials: %v", err)
			}
		})
	}
}

// TestOpenFleetWithoutBrokerKeepsQueue: a config that loses fleet.broker
// (a reload with a slip) stops queueing but keeps the redemptions the
// broker never acknowledged, and says so; the broker back in the config
// publishes them.
func TestOpenFleetWithoutBrokerKeepsQueue(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	with, without := config.Default(), config.Default()
	with.KioskID, with.Fleet.Broker, with.Fleet.TopicPrefix = "A", "mqtt://127.0.0.1:1", fleetPrefix
	v := verify.New(st, verify.Options{Policy: PolicyOptions(with.Policy), Kiosk: "A"})
	sn, _ := st.NewSnapshot()
	for i := range 2 {
		sn.Put(store.Record{Hash: store.HashCode(fleetCode(i)), Name: "guest"})
	}
	if err := sn.Commit(store.SyncInfo{At: time.Now(), Source: "test"}); err != nil {
		t.Fatal(err)
	}
	if f, err := OpenFleet(&with, fleet.Options{Store: st, Logger: log}); f == nil || err != nil {
		t.Fatalf("with a broker: %v %v", f, err)
	}
	if vd := v.Check(context.Background(), fleetCode(0), verify.CheckOpts{}); !vd.Accept {
		t.Fatalf("code 0: %+v", vd)
	}
	if f, err := OpenFleet(&without, fleet.Options{Store: st, Logger: log}); f != nil || err != nil {
		t.Fatalf("without a broker: %v %v", f, err)
	}
	if !strings.Contains(logs.String(), "never published") || !strings.Contains(logs.String(), "pending=1") {
		t.Errorf("no warning about the kept redemption:\n%s", logs.String())
	}
	if vd := v.Check(context.Background(), fleetCode(1), verify.CheckOpts{}); !vd.Accept {
		t.Fatalf("code 1: %+v", vd)
	}
	if fc, _ := st.FleetCounts(); fc.Pending != 1 {
		t.Fatalf("without a broker, %d pending; want the 1 made in the fleet, kept, and none queued since", fc.Pending)
	}
	if f, err := OpenFleet(&with, fleet.Options{Store: st, Logger: log}); f == nil || err != nil {
		t.Fatalf("the broker back: %v %v", f, err)
	}
	items, _ := st.PendingFleet(10)
	if len(items) != 1 || items[0].Redemption.Hash != store.HashCode(fleetCode(0)) {
		t.Fatalf("the broker back: outbox %+v, want code 0's redemption", items)
	}
}

// TestOpenFleetCAFile: fleet.ca_file through the assembler: the broker's
// certificate is verified against it and the kiosk connects.
func TestOpenFleetCAFile(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{TLS: true})
	// fleet.ca_file through the assembler: verified, connected, redemptions flow.
	c := config.Default()
	c.KioskID = "B"
	c.Fleet.Broker, c.Fleet.CAFile, c.Fleet.TopicPrefix = b.URL(), b.CAFile(), fleetPrefix
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "b.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := OpenFleet(&c, fleet.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, 10*time.Second, "TLS connection with fleet.ca_file", func() bool { return f.Status().Connected })
}
