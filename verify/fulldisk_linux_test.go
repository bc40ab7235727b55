package verify

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

// fullDiskEnv makes this test binary, re-executed, the child of
// TestFullDisk: the file size limit is per process, so the child runs with
// it and the parent checks what the child left on disk.
const fullDiskEnv = "KIOSKD_VERIFY_FULLDISK_DB"

// TestFullDisk simulates a full disk with RLIMIT_FSIZE: every write past the
// limit fails with EFBIG (Go ignores SIGXFSZ, so the write returns an error
// rather than killing the process). A redemption that cannot be made durable
// must be a reject with reason error, a failed snapshot must leave the old
// cache serving, and the store must open cleanly afterwards.
func TestFullDisk(t *testing.T) {
	if path := os.Getenv(fullDiskEnv); path != "" {
		fullDiskChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "k.db")
	seed(t, path)
	t.Logf("child:\n%s", runChild(t, "TestFullDisk", fullDiskEnv, path))

	// Afterwards the store opens, keeps the old cache and recorded nothing.
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("reopening after the full disk: %v", err)
	}
	defer st.Close()
	m, _ := st.Meta()
	if m.Count != 10 || m.Source != "sync" {
		t.Errorf("after the full disk the cache is %d codes from %q, want the old 10 from sync", m.Count, m.Source)
	}
	v := New(st, Options{Policy: DefaultPolicy(), Kiosk: "door-1", Now: func() time.Time { return t0 }})
	if vd := v.Check(context.Background(), code(1), CheckOpts{}); !vd.Accept {
		t.Errorf("after the full disk, code 1: %+v, want an accept (the failed redemption must not count)", vd)
	}
	if vd := v.Check(context.Background(), code(1), CheckOpts{}); vd.Reason != AlreadyUsed {
		t.Errorf("second use after the full disk: %v, want already-used", vd.Reason)
	}
}

func seed(t *testing.T, path string) {
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		sn.Put(store.Record{Hash: store.HashCode(code(i)), Address: fmt.Sprintf("bb1addr%d", i), Chain: "Cosmos", Name: "guest"})
	}
	if err := sn.Commit(store.SyncInfo{At: t0.Add(-time.Hour), Source: "sync"}); err != nil {
		t.Fatal(err)
	}
}

func fullDiskChild(t *testing.T, path string) {
	st, err := store.Open(path, store.Options{SnapshotBatch: 500})
	if err != nil {
		t.Fatal(err)
	}
	v := New(st, Options{Policy: DefaultPolicy(), Kiosk: "door-1", Now: func() time.Time { return t0 }})
	// A sync or an import is under way when the disk fills.
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	// Two pages: bbolt's meta pages can still be written, nothing else.
	lim := syscall.Rlimit{Cur: 8192, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	ctx := context.Background()
	vd := v.Check(ctx, code(1), CheckOpts{})
	fmt.Printf("redeem on a full disk: accept=%v reason=%v\n", vd.Accept, vd.Reason)
	if vd.Accept || vd.Reason != Error {
		t.Errorf("a redemption that could not be recorded: %+v, want a reject with reason error", vd)
	}
	if vd := v.Check(ctx, code(42), CheckOpts{}); vd.Accept || vd.Reason != Unknown {
		t.Errorf("an unknown code on a full disk: %+v, want unknown (losing its event is not fatal)", vd)
	}

	for i := range 3000 {
		if err = sn.Put(store.Record{Hash: store.HashCode(code(1000 + i)), Name: "new"}); err != nil {
			break
		}
	}
	if err == nil {
		err = sn.Commit(store.SyncInfo{At: t0, Source: "import"})
	} else {
		fmt.Printf("abort on a full disk: %v\n", sn.Abort())
	}
	fmt.Printf("snapshot on a full disk: %v\n", err)
	if err == nil {
		t.Errorf("a snapshot committed on a full disk")
	}
	// The old cache keeps serving, in this process too.
	if vd := v.Check(ctx, code(2), CheckOpts{DryRun: true}); vd.Reason != OK {
		t.Errorf("the old cache after a failed snapshot: code 2 is %v, want ok", vd.Reason)
	}
	if m, _ := st.Meta(); m.Count != 10 || m.Source != "sync" {
		t.Errorf("meta after a failed snapshot: %d from %q", m.Count, m.Source)
	}

	// Space comes back: the same process records and syncs again.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if vd := v.Check(ctx, code(3), CheckOpts{}); !vd.Accept {
		t.Errorf("after space came back, code 3: %+v, want an accept", vd)
	}
	sn, err = st.NewSnapshot()
	if err != nil {
		t.Fatalf("snapshot after space came back: %v", err)
	}
	sn.Abort()
	if err := st.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	fmt.Println("CHILD DONE")
}

// runChild re-executes this test binary to run only test, with env set to
// the store's path: a file size limit is per process, so the child takes it
// and the parent checks what the child left on disk. The child prints
// "CHILD DONE" when it got to its end.
func runChild(t *testing.T, test, env, path string) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CHILD DONE") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return out
}
