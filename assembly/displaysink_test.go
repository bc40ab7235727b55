package assembly

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/kioskd/kioskd/display"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/store"
)

// doorProbe is a gpio.Signal that notes each pattern shown and, for an
// accept, whether the store already held the approval's event at that
// moment: what a power cut right as the relay energises would leave.
type doorProbe struct {
	st *store.Store

	mu       sync.Mutex
	shown    []gpio.Pattern
	recorded []bool // per Accept: the display accept event was committed before it
}

func (p *doorProbe) Show(pat gpio.Pattern) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown = append(p.shown, pat)
	if pat != gpio.Accept {
		return
	}
	evs, err := p.st.PendingEvents(100)
	found := false
	for _, ev := range evs {
		if err == nil && ev.Kind == store.KindDisplay && ev.Accept && strings.Contains(ev.Detail, "usr_alice") {
			found = true
		}
	}
	p.recorded = append(p.recorded, found)
}

func (p *doorProbe) SetFault(bool) {}
func (p *doorProbe) Close() error  { return nil }

func (p *doorProbe) get() ([]gpio.Pattern, []bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.shown), slices.Clone(p.recorded)
}

// TestDisplaySinkRecordsBeforeOpening: an approval's event is committed
// (fsync'd) before the relay is driven, and a refusal is recorded too, each
// with the display kind.
func TestDisplaySinkRecordsBeforeOpening(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	probe := &doorProbe{st: st}
	kicks := 0
	sink := displaySink{sig: probe, st: st, kiosk: "door-1", kick: func() { kicks++ }}
	ctx := context.Background()
	if err := sink.Approved(ctx, "usr_alice"); err != nil {
		t.Fatalf("Approved: %v", err)
	}
	if err := sink.Rejected(ctx, display.ReasonDeclined); err != nil {
		t.Fatalf("Rejected: %v", err)
	}
	shown, recorded := probe.get()
	if !slices.Equal(shown, []gpio.Pattern{gpio.Accept, gpio.Reject}) {
		t.Fatalf("outputs %v, want accept then reject", shown)
	}
	if !slices.Equal(recorded, []bool{true}) {
		t.Errorf("the approval's event was not in the store when the relay was driven")
	}
	evs, err := st.PendingEvents(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || kicks != 2 {
		t.Fatalf("%d events, %d uploader kicks; want 2 and 2: %+v", len(evs), kicks, evs)
	}
	for i, want := range []struct {
		accept bool
		reason string
	}{{true, "ok"}, {false, "declined"}} {
		if ev := evs[i]; ev.Kind != store.KindDisplay || ev.Accept != want.accept || ev.Reason != want.reason || ev.Kiosk != "door-1" {
			t.Errorf("event %d: %+v, want kind %s accept %v reason %s", i, ev, store.KindDisplay, want.accept, want.reason)
		}
	}
}

// displayFullDiskEnv makes this test binary, re-executed, the child of
// TestDisplaySinkFullDisk: the file size limit is per process.
const displayFullDiskEnv = "KIOSKD_DISPLAY_FULLDISK_DB"

// TestDisplaySinkFullDisk: an approval that cannot be recorded (the disk is
// full: RLIMIT_FSIZE leaves bbolt's meta pages writable, nothing else) must
// not drive the relay; the sink shows a reject and says why.
func TestDisplaySinkFullDisk(t *testing.T) {
	if path := os.Getenv(displayFullDiskEnv); path != "" {
		displayFullDiskChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "k.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDisplaySinkFullDisk$", "-test.v")
	cmd.Env = append(os.Environ(), displayFullDiskEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CHILD DONE") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
	st, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("reopening after the full disk: %v", err)
	}
	defer st.Close()
	if evs, _ := st.PendingEvents(10); len(evs) != 1 || !evs[0].Accept {
		t.Errorf("after space came back: events %+v, want the one approval made then", evs)
	}
}

func displayFullDiskChild(t *testing.T, path string) {
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	probe := &doorProbe{st: st}
	var notes []error
	sink := displaySink{sig: probe, st: st, kiosk: "door-1", wrote: func(err error) { notes = append(notes, err) }}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := syscall.Rlimit{Cur: 8192, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	err = sink.Approved(context.Background(), "usr_alice")
	fmt.Printf("approval on a full disk: %v\n", err)
	if err == nil || !strings.Contains(err.Error(), "file too large") {
		t.Errorf("Approved on a full disk: %v, want an error saying the disk is full", err)
	}
	if shown, _ := probe.get(); !slices.Equal(shown, []gpio.Pattern{gpio.Reject}) {
		t.Errorf("outputs on a full disk %v, want only a reject (the relay must not be driven)", shown)
	}
	// Space comes back: the next approval is recorded, then opens the door.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := sink.Approved(context.Background(), "usr_alice"); err != nil {
		t.Errorf("Approved after space came back: %v", err)
	}
	if shown, recorded := probe.get(); !slices.Equal(shown, []gpio.Pattern{gpio.Reject, gpio.Accept}) || !slices.Equal(recorded, []bool{true}) {
		t.Errorf("after space came back: outputs %v, recorded before opening %v", shown, recorded)
	}
	// The health check hears both writes: the failure, then the success.
	if len(notes) != 2 || notes[0] == nil || notes[1] != nil {
		t.Errorf("writes noted for health: %v, want [full disk, nil]", notes)
	}
	if err := st.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	fmt.Println("CHILD DONE")
}
