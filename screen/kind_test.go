package screen

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kioskd/kioskd/page"
	"github.com/kioskd/kioskd/scanner"
)

func yamlDecode(text string) func(any) error {
	return func(into any) error {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
		dec.KnownFields(true)
		if err := dec.Decode(into); err != nil && err.Error() != "EOF" {
			return err
		}
		return nil
	}
}

func TestScreenSettings(t *testing.T) {
	s, err := decodeSettings(yamlDecode(""))
	if err != nil || s.Hold != 4*time.Second || s.MaxClients != 4 || s.ShowName || s.DeskChecks {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	for _, tt := range []struct{ text, want string }{
		{"hold: 100ms\n", "hold"},
		{"max_clients: 0\n", "max_clients"},
		{"show_names: true\n", "show_names"},
	} {
		if err := checkSettings(yamlDecode(tt.text)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error naming %q", tt.text, err, tt.want)
		}
	}
}

// hintFeed is a page.Hints the test drives.
type hintFeed struct {
	mu         sync.Mutex
	fn         func(scanner.Hint)
	subscribed chan struct{}
}

func (f *hintFeed) Subscribe(fn func(scanner.Hint)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fn = fn
	fn(scanner.HintNone)
	close(f.subscribed)
	return func() { f.mu.Lock(); f.fn = nil; f.mu.Unlock() }
}

func (f *hintFeed) send(h scanner.Hint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fn != nil {
		f.fn(h)
	}
}

// TestPageFollowsHints: the page kind follows page.Env.Hints while it runs
// and maps each scanner hint onto its plain words.
func TestPageFollowsHints(t *testing.T) {
	feed := &hintFeed{subscribed: make(chan struct{})}
	pg, err := openPage(context.Background(), page.Env{Decode: yamlDecode(""), Hints: feed})
	if err != nil {
		t.Fatal(err)
	}
	r := pg.Handler.(runner)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	<-feed.subscribed
	for _, tt := range []struct {
		h    scanner.Hint
		want string
	}{
		{scanner.HintTooFar, "bring the code closer"},
		{scanner.HintTooDark, "more light needed"},
		{scanner.HintBlurred, "hold still"},
		{scanner.HintNone, ""},
	} {
		feed.send(tt.h) // Screen.Hint publishes before it returns
		if got := r.scr.Current().Hint; got != tt.want {
			t.Errorf("hint %d: the screen shows %q, want %q", tt.h, got, tt.want)
		}
	}
	cancel()
	<-done
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if feed.fn != nil {
		t.Error("the page still follows the hints after Run returned")
	}
}
