package sync

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// The measured goal of issue 19: the 100,000 owners of one token (4,000
// pages, one request each) from the local stand-in into the snapshot in
// ≤ 10 s and ≤ 60 MB peak RSS for the syncing process, which runs in a child
// (this test binary re-executed) so that its peak RSS is its own.
//
//	KIOSKD_OWNERS_LARGE=1 go test -run TestOwnersSyncLarge -v ./sync/
//
// KIOSKD_OWNERS_LARGE=N sets the number of owners.
const (
	ownersLargeEnv      = "KIOSKD_OWNERS_LARGE"
	ownersLargeChildEnv = "KIOSKD_OWNERS_LARGE_CHILD"
)

type ownersLargeReport struct {
	Owners, Pages int
	SyncMS        float64
	VmHWMkB       int
}

func TestOwnersSyncLarge(t *testing.T) {
	if os.Getenv(ownersLargeEnv) == "" {
		t.Skip("set " + ownersLargeEnv + "=1 to measure a 100,000-owner sync")
	}
	n := 100000
	if v, err := strconv.Atoi(os.Getenv(ownersLargeEnv)); err == nil && v > 1 {
		n = v
	}
	srv := bbtest.NewServer(bbtest.Options{})
	defer srv.Close()
	srv.AddCodes(100)
	srv.AddOwners("1", 1, n)
	o := srv.Options()
	job := largeJob{URL: srv.URL(), ClientID: o.ClientID, APIKey: o.APIKey, Secret: o.ClientSecret, Refresh: o.RefreshToken,
		DBPath: filepath.Join(t.TempDir(), "kioskd.db")}
	b, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0], "-test.run=^TestOwnersSyncLargeChild$", "-test.v")
	cmd.Env = append(os.Environ(), ownersLargeChildEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rep ownersLargeReport
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), "OWNERS "); ok {
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
	t.Logf("owners=%d pages=%d sync_wall=%.0fms child_VmHWM=%.1fMB",
		rep.Owners, rep.Pages, rep.SyncMS, float64(rep.VmHWMkB)/1024)
	if rep.Owners != n {
		t.Fatalf("synced %d owners, want %d", rep.Owners, n)
	}
	if rep.SyncMS > 10000 {
		t.Errorf("sync took %.0f ms, goal ≤ 10 s", rep.SyncMS)
	}
	if rep.VmHWMkB == 0 || rep.VmHWMkB > 60*1024 {
		t.Errorf("peak RSS (child VmHWM) %.1f MB, goal ≤ 60 MB", float64(rep.VmHWMkB)/1024)
	}
}

// TestOwnersSyncLargeChild is the child half of TestOwnersSyncLarge.
func TestOwnersSyncLargeChild(t *testing.T) {
	js := os.Getenv(ownersLargeChildEnv)
	if js == "" {
		t.Skip("run by TestOwnersSyncLarge")
	}
	var job largeJob
	if err := json.Unmarshal([]byte(js), &job); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(job.DBPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client := &bitbadges.Client{APIURL: job.URL, ClientID: job.ClientID, APIKey: job.APIKey, ClientSecret: job.Secret,
		RequestTimeout: 30 * time.Second, PageRetries: 2}
	s := &Syncer{Client: client, Cache: StoreCache(st),
		InitialRefreshToken: func() (string, error) { return job.Refresh, nil },
		Require:             []store.Requirement{{Name: "Members", CollectionID: "1", TokenIDs: []store.Range{{Start: 1, End: 1}}, MinAmount: 1}}}
	start := time.Now()
	res, err := s.Sync(context.Background())
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Owners()
	rep := ownersLargeReport{Owners: info.Owners, Pages: res.Owners.Pages, SyncMS: float64(wall.Microseconds()) / 1000,
		VmHWMkB: vmHWM()}
	b, _ := json.Marshal(rep)
	os.Stdout.WriteString("OWNERS " + string(b) + "\n")
}
