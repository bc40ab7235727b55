package display

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kioskd/kioskd/display/authsignal"
	"github.com/kioskd/kioskd/display/authsignal/astest"
)

// BenchmarkRenderQR: one QR per challenge (every 9 minutes), so this only
// has to be far below a frame.
func BenchmarkRenderQR(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderQR("5f0c8a2e-1b7d-4c3e-9a61-0d2f7e8b4c19"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScreenEvent: the JSON pushed to each page on a change.
func BenchmarkScreenEvent(b *testing.B) {
	svg, _ := renderQR("5f0c8a2e-1b7d-4c3e-9a61-0d2f7e8b4c19")
	s := Screen{State: Scan, Seq: 7, svg: svg}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(eventOf(s)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPoll: one state poll against the in-process fake over loopback
// (client cost + HTTP; the real API adds the network round trip).
func BenchmarkPoll(b *testing.B) {
	srv := astest.NewServer("tn", "sk")
	defer srv.Close()
	c, err := authsignal.New(authsignal.Config{BaseURL: srv.URL, TenantID: "tn", SecretKey: "sk", Action: "kiosk-login",
		HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ch, err := c.CreateChallenge(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Poll(ctx, ch); err != nil {
			b.Fatal(err)
		}
	}
}
