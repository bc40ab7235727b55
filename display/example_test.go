package display_test

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/kioskd/kioskd/display"
	"github.com/kioskd/kioskd/display/authsignal"
	"github.com/kioskd/kioskd/gpio"
)

// doorSink is the shape of kioskd's Sink: the same outputs as an accepted
// or rejected scan, and an event with the user id (never the token).
type doorSink struct {
	sig    gpio.Signal
	record func(ctx context.Context, userID string, accepted bool, reason string) error
}

func (s doorSink) Approved(ctx context.Context, userID string) error {
	s.sig.Show(gpio.Accept)
	return s.record(ctx, userID, true, "ok")
}

func (s doorSink) Rejected(ctx context.Context, r display.Reason) error {
	s.sig.Show(gpio.Reject)
	return s.record(ctx, "", false, r.String())
}

// Wiring the display mode beside the scan mode (kioskd's assembler does
// this from the display: section).
func Example() {
	client, err := authsignal.New(authsignal.Config{BaseURL: "https://api.authsignal.com/v1", TenantID: "tenant",
		SecretKey: "read from a file, never the config", Action: "kiosk-login"})
	if err != nil {
		return
	}
	var sig gpio.Signal // the kiosk's outputs
	sink := doorSink{sig: sig, record: func(context.Context, string, bool, string) error { return nil }}
	ctrl, err := display.New(display.Options{Client: client, Sink: sink, Logger: slog.Default()})
	if err != nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/display/", ctrl.Handler()) // Chromium: --kiosk http://127.0.0.1:9750/display/
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ctrl.Run(ctx) // returns when ctx ends; cancel it before http.Server.Shutdown
}
