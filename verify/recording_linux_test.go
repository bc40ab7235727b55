package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

const recordingEnv = "KIOSKD_VERIFY_RECORDING_DB"

// TestHealthRecording: on a full disk (RLIMIT_FSIZE, as TestFullDisk) every
// valid code is an error reject, yet Health said nothing (issue 15 item
// 12a). Health.Recording must say the store cannot record from the first
// failed write until one succeeds again. Run in a re-executed child: the
// limit is per process.
func TestHealthRecording(t *testing.T) {
	if path := os.Getenv(recordingEnv); path != "" {
		recordingChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "k.db")
	seed(t, path)
	runChild(t, "TestHealthRecording", recordingEnv, path)
}

func recordingChild(t *testing.T, path string) {
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := t0
	v := New(st, Options{Policy: DefaultPolicy(), Kiosk: "door-1", Now: func() time.Time { return now }})
	ctx := context.Background()
	if vd := v.Check(ctx, code(1), CheckOpts{}); !vd.Accept {
		t.Fatalf("code 1 before the full disk: %+v", vd)
	}
	if r := v.Health(now).Recording; r.Failing || !r.LastOK.Equal(t0) {
		t.Errorf("after a recorded accept: %+v, want not failing, last ok %v", r, t0)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 8192, Max: old.Max}); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	steps := []struct {
		name     string
		code     string
		reason   Reason
		failures int // 0: not failing
	}{
		// The redemption fails, and so does the error event: two writes.
		{"valid code on a full disk", code(2), Error, 2},
		{"unknown code on a full disk", code(42), Unknown, 3},
		{"valid code again", code(3), Error, 5},
	}
	for _, s := range steps {
		now = now.Add(time.Minute)
		vd := v.Check(ctx, s.code, CheckOpts{})
		r := v.Health(now).Recording
		fmt.Printf("%s: %v %+v\n", s.name, vd.Reason, r)
		if vd.Reason != s.reason {
			t.Errorf("%s: %v, want %v", s.name, vd.Reason, s.reason)
		}
		if !r.Failing || r.Failures != s.failures || !r.Since.Equal(t0.Add(time.Minute)) || !r.LastOK.Equal(t0) ||
			!strings.Contains(r.LastError, "file too large") {
			t.Errorf("%s: recording %+v, want failing since %v with %d failures, last ok %v, the EFBIG error", s.name, r, t0.Add(time.Minute), s.failures, t0)
		}
	}
	// Space comes back: the next write that succeeds clears it.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if vd := v.Check(ctx, code(2), CheckOpts{}); !vd.Accept {
		t.Errorf("after space came back, code 2: %+v, want an accept", vd)
	}
	if r := v.Health(now).Recording; r.Failing || r.Failures != 0 || !r.LastOK.Equal(now) {
		t.Errorf("after space came back: %+v, want not failing, last ok %v", r, now)
	}
	// A write its caller gave up on says nothing about the store.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	v.Check(cctx, code(4), CheckOpts{})
	if r := v.Health(now).Recording; r.Failing {
		t.Errorf("after a cancelled check: %+v, want not failing", r)
	}
	fmt.Println("CHILD DONE")
}
