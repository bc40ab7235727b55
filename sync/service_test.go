package sync

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

const (
	secretKey     = "api-key-DO-NOT-LEAK-1234"
	secretClient  = "client-secret-DO-NOT-LEAK-5678"
	secretRefresh = "refresh-token-DO-NOT-LEAK-9abc"
	secretEvents  = "events-token-DO-NOT-LEAK-def0"
)

func testService(t *testing.T, srv *bbtest.Server, eventsURL string, logs *bytes.Buffer) (*Service, *store.Store) {
	t.Helper()
	// As kioskd's config gives it (bitbadges: sync_schedule "@every 1h",
	// online_exchange, exchange_budget 1s, request_timeout 2s, max_backoff
	// 1m; events: upload_interval 1s; the defaults otherwise).
	cfg := Config{APIURL: srv.URL(), ClientID: "venue-app", APIKey: secretKey, ClientSecret: secretClient,
		RefreshToken:   func() (string, error) { return secretRefresh, nil },
		RequestTimeout: 2 * time.Second, Schedule: "@every 1h", MaxBackoff: time.Minute,
		HoldBack:       HoldBackPolicy{MaxDrop: 0.5, MinCodes: 100},
		OnlineExchange: true, ExchangeBudget: time.Second,
		Events: EventsConfig{URL: eventsURL, Token: secretEvents, BatchSize: 100, UploadInterval: time.Second,
			MaxBackoff: time.Minute, RequestTimeout: 2 * time.Second}}
	st, err := store.Open(filepath.Join(t.TempDir(), "kioskd.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, st, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

func TestServiceEndToEnd(t *testing.T) {
	srv := bbtest.NewServer(bbtest.Options{ClientID: "venue-app", APIKey: secretKey,
		ClientSecret: secretClient, RefreshToken: secretRefresh})
	defer srv.Close()
	codes := srv.AddCodes(60)
	rv := &receiver{}
	ts := httptest.NewServer(rv)
	defer ts.Close()
	logs := &bytes.Buffer{}
	s, st := testService(t, srv, ts.URL, logs)
	if err := st.AppendEvent(store.Event{Kiosk: "door-1", Kind: store.KindVerdict, Reason: "ok", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stt := s.Status()
		if stt.Codes == len(codes) && stt.PendingEvents == 0 && stt.EventsSent == 1 && !stt.NextSync.IsZero() {
			if stt.LastSync.IsZero() || stt.LastError != "" || stt.ServerTime.IsZero() || stt.Age < 0 {
				t.Fatalf("status %+v", stt)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not sync and upload: %+v", stt)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Scheduler.SyncNow(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exchanger.Exchange(ctx, codes[0]); err != nil {
		t.Fatal(err)
	}
	tok, _ := st.RefreshToken()
	if tok != srv.RefreshToken() || tok == secretRefresh {
		t.Fatal("the rotated refresh token is not in the store")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSecretsNeverLeak drives every failure path with known secrets and
// checks that no log line, error or status holds one of them or a code.
func TestSecretsNeverLeak(t *testing.T) {
	srv := bbtest.NewServer(bbtest.Options{ClientID: "venue-app", APIKey: secretKey,
		ClientSecret: secretClient, RefreshToken: secretRefresh})
	defer srv.Close()
	codes := srv.AddCodes(40)
	rv := &receiver{statuses: []int{500, 401, 400}}
	ts := httptest.NewServer(rv)
	defer ts.Close()
	logs := &bytes.Buffer{}
	s, st := testService(t, srv, ts.URL, logs)
	ctx := context.Background()
	var texts []string
	note := func(v ...any) {
		for _, x := range v {
			if x != nil {
				texts = append(texts, fmt.Sprintf("%v | %+v | %#v", x, x, x))
			}
		}
	}
	run := func() {
		_, err := s.Syncer.Sync(ctx)
		note(err)
		_ = s.Scheduler.runOnce(ctx, cron.Every(time.Hour))
		note(fmt.Sprintf("%+v", s.Status()))
	}
	run() // a good sync
	srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: 500, Times: 3})
	run()
	srv.ExpireAccessTokens()
	srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: 401, Times: 4})
	run() // 401, renewal, 401 again
	srv.RevokeRefreshToken()
	srv.ExpireAccessTokens()
	run() // refresh token refused
	srv.SetCredits(0)
	run()
	srv.SetCredits(-1)
	for _, c := range codes[:3] {
		_, err := s.Exchanger.Exchange(ctx, c)
		note(err)
		_, err = s.Exchanger.Exchange(ctx, c) // consumed: 500
		note(err)
	}
	_, err := s.Exchanger.Exchange(ctx, strings.Repeat("0", 64))
	note(err)
	for i := 0; i < 3; i++ {
		_ = st.AppendEvent(store.Event{Kiosk: "door-1", Kind: store.KindVerdict, Reason: "ok",
			Hash: store.HashCode(codes[i])})
		note(s.Uploader.Flush(ctx))
	}
	note(fmt.Sprintf("%+v %+v", s.Status(), s.Scheduler.State()), s.Client, s.Syncer, s.Exchanger)
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
	log.Info("printing the parts", "client", s.Client, "syncer", s.Syncer)
	all := logs.String() + strings.Join(texts, "\n")
	if !strings.Contains(all, "unauthorized") && !strings.Contains(all, "401") {
		t.Fatalf("the failures did not happen; logs:\n%s", all)
	}
	secrets := []string{secretKey, secretClient, secretRefresh, secretEvents, srv.RefreshToken(), "Bearer at-"}
	secrets = append(secrets, codes...)
	for _, sec := range secrets {
		if strings.Contains(all, sec) {
			i := strings.Index(all, sec)
			t.Errorf("secret %.8s… leaked: …%s…", sec, all[max(0, i-80):min(len(all), i+len(sec)+20)])
		}
	}
}
