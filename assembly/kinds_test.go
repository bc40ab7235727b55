package assembly

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/gpio/gpiosim"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/output"
	"github.com/kioskd/kioskd/page"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// A probe output and a probe page, registered by this test as an output or
// page package registers itself: the assembler finds them by the names in
// the config, with no switch to edit.

type probeOptions struct {
	Label string `yaml:"label"`
}

type probeOutput struct {
	label string
	mu    stdsync.Mutex
	seen  []verify.Verdict
}

func (o *probeOutput) Verdict(v verify.Verdict) {
	o.mu.Lock()
	o.seen = append(o.seen, v)
	o.mu.Unlock()
}
func (o *probeOutput) Describe() string { return "probe " + o.label }
func (o *probeOutput) Problems() ([]string, bool) {
	return []string{"probe: " + o.label + " is a probe"}, false
}

func (o *probeOutput) verdicts() []verify.Verdict {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]verify.Verdict(nil), o.seen...)
}

var probeOutputs stdsync.Map // name -> *probeOutput

type probePage struct {
	label string
	env   page.Env
	mu    stdsync.Mutex
	n     int
}

func (p *probePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		v := p.env.Lane.Submit(r.Context(), r.FormValue("code"))
		fmt.Fprintf(w, "%s %v", v.Reason, v.Accept)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(w, "%s saw %d verdicts; kiosk %s", p.label, p.n, p.env.Status.Snapshot().Kiosk)
}

func checkProbe(decode func(any) error) error {
	var o probeOptions
	if err := decode(&o); err != nil {
		return err
	}
	if o.Label == "" {
		return fmt.Errorf("label: must not be empty")
	}
	return nil
}

func init() {
	output.Register("probe", output.Kind{Check: checkProbe, Open: func(_ context.Context, s output.Spec) (output.Output, error) {
		var o probeOptions
		if err := s.Decode(&o); err != nil {
			return nil, err
		}
		p := &probeOutput{label: o.Label}
		probeOutputs.Store(s.Name, p)
		return p, nil
	}})
	page.Register("probe", page.Kind{Check: checkProbe, Open: func(_ context.Context, e page.Env) (page.Page, error) {
		var o probeOptions
		if err := e.Decode(&o); err != nil {
			return page.Page{}, err
		}
		p := &probePage{label: o.Label, env: e}
		e.Verdicts.Subscribe(func(verify.Verdict) { p.mu.Lock(); p.n++; p.mu.Unlock() })
		return page.Page{Path: "/probe/", Handler: p, Guard: page.Token}, nil
	}})
}

// TestRegisteredKinds: outputs: and http.pages: entries are checked at
// load by their kinds, opened by name, hear every verdict (the output
// after the signal, the page through its live feed), report problems into
// the status, and the page is served behind the token guard, deciding a
// code through the lane.
func TestRegisteredKinds(t *testing.T) {
	dir := t.TempDir()
	frames := filepath.Join(dir, "frames")
	if err := os.MkdirAll(frames, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(demoframes.FS(), "01-code-a.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(frames, "a.png"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	const base = `state_dir: %s
kiosk_id: door-9
camera: {source: "dir:%s", fps: 20}
gpio: {driver: sim, accept_led: {line: GPIO27}, relay: {line: GPIO17, pulse: 100ms}}
http:
  listen: 10.200.0.1:9750
  pages: [{kind: probe, label: desk-page}]
outputs:
  - {kind: probe, name: hook-a, label: first}
`
	cfg, err := config.Parse([]byte(fmt.Sprintf(base, dir, frames)))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(&cfg); err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, tc := range []struct{ name, extra, want string }{
		{"unknown output kind", "  - {kind: telex}\n", `outputs[1].kind: unknown output kind "telex"`},
		{"unknown key of the kind", "  - {kind: probe, name: hook-b, label: x, lable: y}\n", "outputs[1] (hook-b, line 10): field lable not found"},
		{"kind's own validation", "  - {kind: probe, name: hook-b}\n", "label: must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad, err := config.Parse([]byte(fmt.Sprintf(base, dir, frames) + tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(&bad); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want %q", err, tc.want)
			}
		})
	}

	t.Setenv("KIOSKD_HTTP_TOKEN", "probe-token")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Open(ctx, cfg, Options{Sim: gpiosim.NewRecorder(nil), Script: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv, err := d.httpServer(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := probeOutputs.Load("hook-a")
	out := v.(*probeOutput)
	// No sync: the code is not in the cache.
	if vs := out.verdicts(); len(vs) != 1 || vs[0].Reason != verify.Unknown || len(vs[0].Hash) != 64 {
		t.Fatalf("the output heard %+v, want one unknown-code verdict", vs)
	}
	snap := d.Snapshot()
	if !strings.Contains(strings.Join(snap.Problems, "\n"), "probe: first is a probe") {
		t.Errorf("problems %q lack the output's", snap.Problems)
	}

	get := func(method, auth, body string) (int, string) {
		r := httptest.NewRequest(method, "/probe/", strings.NewReader(body))
		r.Host, r.RemoteAddr = "10.200.0.1:9750", "10.200.0.2:40000"
		if method == http.MethodPost {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if auth != "" {
			r.Header.Set("Authorization", "Bearer "+auth)
		}
		w := httptest.NewRecorder()
		srv.Handler.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	if code, _ := get(http.MethodGet, "", ""); code != http.StatusUnauthorized {
		t.Errorf("page without the token: %d, want 401", code)
	}
	if code, body := get(http.MethodGet, "probe-token", ""); code != 200 || body != "desk-page saw 1 verdicts; kiosk door-9" {
		t.Errorf("page: %d %q", code, body)
	}
	if code, body := get(http.MethodPost, "probe-token", "code=not+a+code"); code != 200 || body != "not-a-code false" {
		t.Errorf("page submit: %d %q", code, body)
	}
	if vs := out.verdicts(); len(vs) != 2 || vs[1].Reason != verify.NotACode {
		t.Errorf("after the page's submit the output heard %+v", vs)
	}
}

// TestRunningSnapshotHasAccess: the running daemon's status carries the
// badge requirements as `kioskd status` without a daemon does (the page,
// /status.json and `kioskd status` against a running kiosk showed none:
// Snapshot never filled them).
func TestRunningSnapshotHasAccess(t *testing.T) {
	dir := t.TempDir()
	data, err := fs.ReadFile(demoframes.FS(), "03-no-qr.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.png"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KIOSKD_BITBADGES_API_KEY", "k-1234")
	t.Setenv("KIOSKD_BITBADGES_CLIENT_SECRET", "s-1234")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`state_dir: %s
bitbadges: {client_id: venue-app, api_url: "http://127.0.0.1:9/api/v0"}
camera: {source: "dir:%s"}
gpio: {driver: none}
http: {listen: ""}
access:
  require: [{name: Members, collection_id: "17", token_ids: [1-3]}]
`, dir, dir)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(t.Context(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := d.Snapshot()
	if s.Access == nil || len(s.Access.Requirements) != 1 || s.Access.Requirements[0].Name != "Members" {
		t.Fatalf("running snapshot access = %+v", s.Access)
	}
	if !s.Access.OwnersStale || s.Healthy || !strings.Contains(strings.Join(s.Problems, "\n"), "badge owners stale or not synced") {
		t.Errorf("never-synced owners: stale %v, healthy %v, problems %q", s.Access.OwnersStale, s.Healthy, s.Problems)
	}
}

// TestDoubleEntryListedOnce: a double entry is one problem line on a
// running fleet kiosk's status (the offline part of the snapshot and the
// fleet's own lines both listed it).
func TestDoubleEntryListedOnce(t *testing.T) {
	dir := t.TempDir()
	data, err := fs.ReadFile(demoframes.FS(), "03-no-qr.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.png"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`state_dir: %s
kiosk_id: door-1
camera: {source: "dir:%s"}
gpio: {driver: none}
http: {listen: ""}
fleet: {broker: "mqtt://127.0.0.1:1", topic_prefix: test/venue}
`, dir, dir)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(t.Context(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	code := strings.Repeat("ab", 32)
	sn, err := d.st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	sn.Put(store.Record{Hash: store.HashCode(code), Name: "guest"})
	if err := sn.Commit(store.SyncInfo{At: time.Now(), Source: "test"}); err != nil {
		t.Fatal(err)
	}
	if v := d.ver.Check(t.Context(), code, verify.CheckOpts{}); !v.Accept {
		t.Fatalf("local use: %+v", v)
	}
	peer := store.Redemption{Hash: store.HashCode(code), At: time.Now(), Kiosk: "door-2", Nonce: store.NewNonce()}
	res, err := d.st.ApplyPeerRedemption(t.Context(), peer, "door-1", time.Now(), fleet.ConflictRule(fleet.Policy{Reuse: "single"}))
	if err != nil || len(res.DoubleEntries) != 1 {
		t.Fatalf("peer use: %+v %v", res, err)
	}
	n := 0
	for _, p := range d.Snapshot().Problems {
		if strings.Contains(p, "double entry of code") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d double-entry lines, want 1: %q", n, d.Snapshot().Problems)
	}
}

// probeText is a text input (a barcode scanner) yielding its reads once.
type probeText struct{ reads []string }

func (p probeText) Describe() string { return fmt.Sprintf("probe scanner (%d reads)", len(p.reads)) }

func (p probeText) Read(ctx context.Context, fn func(input.Read)) error {
	for _, r := range p.reads {
		fn(input.Read{Text: r})
	}
	return nil
}

func init() {
	input.Register("probe-text", input.Kind{
		Check: func(decode func(any) error) error {
			var o struct {
				Reads []string `yaml:"reads"`
			}
			return decode(&o)
		},
		Open: func(_ context.Context, s input.Spec) (input.Input, error) {
			var o struct {
				Reads []string `yaml:"reads"`
			}
			if err := s.Decode(&o); err != nil {
				return nil, err
			}
			return probeText{reads: o.Reads}, nil
		}})
}

// TestTextInputLane: an inputs: entry of a registered text kind is a lane
// of its own beside the camera, deciding through the same verifier onto
// the same outputs.
func TestTextInputLane(t *testing.T) {
	dir := t.TempDir()
	data, err := fs.ReadFile(demoframes.FS(), "03-no-qr.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.png"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	code := strings.Repeat("cd", 32)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`state_dir: %s
camera: {source: "dir:%s"}
gpio: {driver: none}
http: {listen: ""}
inputs:
  - {kind: probe-text, name: desk-scanner, reads: ["WIFI:S:x;;", %q]}
outputs:
  - {kind: probe, name: hook-text, label: text}
`, dir, dir, code)))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(&cfg); err != nil {
		t.Fatal(err)
	}
	if badCfg, err := config.Parse([]byte("inputs:\n  - {kind: probe-text, reads: [a], speed: 9600}\n")); err != nil {
		t.Fatal(err)
	} else if err := Check(&badCfg); err == nil || !strings.Contains(err.Error(), "inputs[0] (probe-text, line 2): field speed not found") {
		t.Errorf("Check of an unknown key: %v", err)
	}
	d, err := Open(t.Context(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := d.Describe(); !strings.Contains(got, "probe scanner (2 reads)") {
		t.Errorf("inputs described as %q", got)
	}
	if err := d.Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	v, _ := probeOutputs.Load("hook-text")
	vs := v.(*probeOutput).verdicts()
	if len(vs) != 2 || vs[0].Reason != verify.NotACode || vs[1].Reason != verify.Unknown || vs[1].Hash != store.HashCode(code) {
		t.Errorf("the output heard %+v, want not-a-code then unknown for the scanner's code", vs)
	}
}
