package sync

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// The measured goal: 100,000 codes (4,000 pages) from the local stand-in,
// ≤ 10 s wall and ≤ 60 MB peak RSS for the syncing process. The stand-in
// runs in this (parent) process; the sync runs in a child process (this
// test binary re-executed) so that its peak RSS is the sync's alone.
//
//	KIOSKD_SYNC_LARGE=1 go test -run TestSyncLarge -v ./sync/
//
// Knobs, for the measurements in BENCHMARKS.md: KIOSKD_SYNC_LARGE=N (codes),
// KIOSKD_SYNC_LARGE_BATCH (store.Options.SnapshotBatch),
// KIOSKD_SYNC_LARGE_CACHE=discard (client alone), KIOSKD_SYNC_LARGE_GOGC and
// KIOSKD_SYNC_LARGE_GOMEMLIMIT (the child's GOGC / GOMEMLIMIT),
// KIOSKD_SYNC_LARGE_PROFILE=file (the child's heap profile).
const (
	largeEnv      = "KIOSKD_SYNC_LARGE"
	largeChildEnv = "KIOSKD_SYNC_LARGE_CHILD"
)

type largeJob struct {
	URL, ClientID, APIKey, Secret, Refresh, DBPath string
	NoSync                                         bool
	Batch                                          int
	Cache                                          string // "discard": count records, store nothing
}

type largeReport struct {
	Codes   int
	Pages   int
	WallMS  float64
	VmHWMkB int
}

func TestSyncLarge(t *testing.T) {
	if os.Getenv(largeEnv) == "" {
		t.Skip("set " + largeEnv + "=1 to measure a 100,000-code sync")
	}
	n := 100000
	if v, err := strconv.Atoi(os.Getenv(largeEnv)); err == nil && v > 1 {
		n = v
	}
	srv := bbtest.NewServer(bbtest.Options{})
	defer srv.Close()
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte("large-" + strconv.Itoa(i)))
		srv.Add(bbtest.Record{Code: hex.EncodeToString(sum[:]), OmitCode: i%7 == 6, NumericTimes: i%3 == 2})
	}
	o := srv.Options()
	job := largeJob{URL: srv.URL(), ClientID: o.ClientID, APIKey: o.APIKey, Secret: o.ClientSecret, Refresh: o.RefreshToken,
		DBPath: filepath.Join(t.TempDir(), "kioskd.db")}
	job.Batch, _ = strconv.Atoi(os.Getenv("KIOSKD_SYNC_LARGE_BATCH"))
	job.Cache = os.Getenv("KIOSKD_SYNC_LARGE_CACHE")
	b, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncLargeChild$", "-test.v")
	if p := os.Getenv("KIOSKD_SYNC_LARGE_PROFILE"); p != "" {
		cmd.Args = append(cmd.Args, "-test.memprofile="+p, "-test.memprofilerate=65536")
	}
	cmd.Env = append(os.Environ(), largeChildEnv+"="+string(b))
	// GC settings for the sync process alone (the stand-in holds 100,000
	// records and must not be squeezed by them).
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		if x := os.Getenv("KIOSKD_SYNC_LARGE_" + v); x != "" {
			cmd.Env = append(cmd.Env, v+"="+x)
		}
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rep largeReport
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), "LARGE "); ok {
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Log("child: " + sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	procWall := time.Since(start)
	maxrssKB := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	t.Logf("codes=%d pages=%d sync_wall=%.0fms child_process_wall=%v child_VmHWM=%.1fMB child_maxrss=%.1fMB",
		rep.Codes, rep.Pages, rep.WallMS, procWall.Round(time.Millisecond),
		float64(rep.VmHWMkB)/1024, float64(maxrssKB)/1024)
	if rep.Codes != n {
		t.Fatalf("synced %d codes, want %d", rep.Codes, n)
	}
	if rep.WallMS > 10000 {
		t.Errorf("sync took %.0f ms, goal ≤ 10 s", rep.WallMS)
	}
	// The child's own VmHWM: wait4's maxrss of a child that was exec'd
	// keeps the parent's high-water mark from before the exec (this test
	// process, which holds the stand-in's 100,000 codes).
	if rep.VmHWMkB == 0 {
		t.Fatal("the child reported no VmHWM")
	}
	if rep.VmHWMkB > 60*1024 {
		t.Errorf("peak RSS (child VmHWM) %.1f MB, goal ≤ 60 MB", float64(rep.VmHWMkB)/1024)
	}
}

// TestSyncLargeChild is the child half of TestSyncLarge.
func TestSyncLargeChild(t *testing.T) {
	js := os.Getenv(largeChildEnv)
	if js == "" {
		t.Skip("run by TestSyncLarge")
	}
	var job largeJob
	if err := json.Unmarshal([]byte(js), &job); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(job.DBPath, store.Options{NoSync: job.NoSync, SnapshotBatch: job.Batch})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client := &bitbadges.Client{APIURL: job.URL, ClientID: job.ClientID, APIKey: job.APIKey, ClientSecret: job.Secret,
		RequestTimeout: 30 * time.Second, PageRetries: 2}
	var cache Cache = StoreCache(st)
	if job.Cache == "discard" {
		cache = discardCache{cache}
	}
	s := &Syncer{Client: client, Cache: cache,
		InitialRefreshToken: func() (string, error) { return job.Refresh, nil }}
	start := time.Now()
	res, err := s.Sync(context.Background())
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	rep := largeReport{Codes: res.Codes, Pages: res.Pages, WallMS: float64(wall.Microseconds()) / 1000, VmHWMkB: vmHWM()}
	b, _ := json.Marshal(rep)
	os.Stdout.WriteString("LARGE " + string(b) + "\n")
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(st), "\n") {
			if strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "VmHWM") {
				t.Log(l)
			}
		}
	}
	if fi, err := os.Stat(job.DBPath); err == nil {
		t.Logf("db file %.1f MB", float64(fi.Size())/(1<<20))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap sys %d MB, total alloc %d MB, gc %d", ms.HeapSys>>20, ms.TotalAlloc>>20, ms.NumGC)
}

// vmHWM is this process's peak resident set in kB (Linux), 0 if unknown.
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// discardCache isolates the client's share of the cost: records are
// counted, not stored.
type discardCache struct{ Cache }

func (d discardCache) NewSnapshot() (Snapshot, error) { return &discardSnap{}, nil }

type discardSnap struct{ n int }

func (d *discardSnap) Put(store.Record) error      { d.n++; return nil }
func (d *discardSnap) Distinct() (int, error)      { return d.n, nil }
func (d *discardSnap) Commit(store.SyncInfo) error { return nil }
func (d *discardSnap) Abort() error                { return nil }
