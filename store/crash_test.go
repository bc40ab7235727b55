package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The crash test re-executes this test binary as a child process that writes
// to a real (fsync'ing) store, and kills it with SIGKILL at random moments.
const crashEnv = "KIOSKD_STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		crashChild()
		os.Exit(0)
	}
	if os.Getenv("KIOSKD_RSS_CHILD") != "" {
		rssChild()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const crashRedeemers = 3

// crashChild opens the store, then concurrently (a) writes a whole new
// snapshot of generation GEN (from records, or by importing FILE) and prints
// COMMITTED, and (b) redeems fresh codes forever, printing "ACK <nonce>" after
// each Redeem returns. It runs until killed.
func crashChild() {
	path := os.Getenv("CRASH_DB")
	gen, _ := strconv.Atoi(os.Getenv("CRASH_GEN"))
	n, _ := strconv.Atoi(os.Getenv("CRASH_N"))
	file := os.Getenv("CRASH_IMPORT")
	st, err := Open(path, Options{SnapshotBatch: 1000})
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	var out sync.Mutex
	say := func(s string) {
		out.Lock()
		os.Stdout.WriteString(s + "\n")
		out.Unlock()
	}
	say("READY")
	for w := range crashRedeemers {
		go func() {
			for i := 0; ; i++ {
				nonce := NewNonce()
				h := HashCode(fmt.Sprintf("%064x", uint64(gen)<<40|uint64(w)<<32|uint64(i)))
				r := Redemption{Hash: h, At: time.Now(), Kiosk: "crash", Nonce: nonce}
				if err := st.Redeem(context.Background(), r, Event{Kind: KindVerdict, Accept: true, Reason: "ok", Hash: h}); err != nil {
					say("ERR " + err.Error())
					return
				}
				say("ACK " + nonce)
			}
		}()
	}
	info := SyncInfo{At: time.Unix(int64(gen), 0), Source: "sync"}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			say("ERR " + err.Error())
			select {}
		}
		if _, err := st.Import(bufio.NewReader(f)); err != nil {
			say("ERR " + err.Error())
			select {}
		}
	} else {
		sn, err := st.NewSnapshot()
		if err != nil {
			say("ERR " + err.Error())
			select {}
		}
		for i := range n {
			sn.Put(testRecord(gen, i))
		}
		if err := sn.Commit(info); err != nil {
			say("ERR " + err.Error())
			select {}
		}
	}
	say("COMMITTED")
	select {}
}

// execCommand re-executes the test binary as a child with extra environment.
func execCommand(exe string, env ...string) *exec.Cmd {
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// genSize makes each generation's record count distinct.
func genSize(base, gen int) int { return base + gen*7 }

func TestCrashSnapshotsAndRedemptions(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const (
		base   = 8000
		rounds = 16
	)
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.db")
	st, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, st, 1, genSize(base, 1), time.Unix(1, 0))
	st.Close()

	r := rand.New(rand.NewPCG(2026, 11))
	curGen := 1
	var acked []string
	var dur time.Duration // how long a full snapshot took the child
	outcomes := map[string]int{}
	for round := range rounds {
		gen := round + 2
		env := []string{crashEnv + "=1", "CRASH_DB=" + path, "CRASH_GEN=" + strconv.Itoa(gen), "CRASH_N=" + strconv.Itoa(genSize(base, gen))}
		if round%2 == 1 {
			// Import an export file of this generation.
			src, err := Open(filepath.Join(dir, fmt.Sprintf("src%d.db", gen)), Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			fill(t, src, gen, genSize(base, gen), time.Unix(int64(gen), 0))
			file := filepath.Join(dir, fmt.Sprintf("gen%d.snap", gen))
			f, _ := os.Create(file)
			if err := src.Export(f); err != nil {
				t.Fatal(err)
			}
			f.Close()
			src.Close()
			env = append(env, "CRASH_IMPORT="+file)
		}
		var delay time.Duration
		if dur > 0 {
			delay = time.Duration(r.Int64N(int64(dur) * 6 / 5))
		}
		res := runAndKill(t, exe, env, delay, dur == 0)
		if res.err != "" {
			t.Fatalf("round %d: child failed: %s", round, res.err)
		}
		if dur == 0 {
			dur = res.commitAfter
			t.Logf("a full snapshot + commit takes the child %v; killing at random within that", dur)
		}
		acked = append(acked, res.acked...)

		st, err := Open(path, Options{NoSync: true})
		if err != nil {
			t.Fatalf("round %d: store does not open after SIGKILL: %v", round, err)
		}
		got := snapshotGen(t, st)
		switch {
		case got == gen:
			outcomes["new"]++
		case got == curGen && !res.committed:
			outcomes["old"]++
		default:
			st.Close()
			t.Fatalf("round %d: store holds generation %d; want %d (old) or %d (new); child committed: %v", round, got, curGen, gen, res.committed)
		}
		curGen = got
		if n := countSnapBuckets(t, st); n != 1 {
			t.Fatalf("round %d: %d snapshot buckets after reopen", round, n)
		}
		for _, nonce := range acked {
			if ok, err := st.HasRedemption(nonce); !ok || err != nil {
				st.Close()
				t.Fatalf("round %d: acknowledged redemption %s lost (%v)", round, nonce, err)
			}
		}
		if n, _ := st.PendingCount(); n < len(acked) {
			t.Fatalf("round %d: %d pending events for %d acknowledged redemptions", round, n, len(acked))
		}
		st.Close()
		t.Logf("round %d: killed after %v, committed %v, %d redemptions acknowledged, holds gen %d", round, delay, res.committed, len(res.acked), got)
	}
	t.Logf("outcomes: %v; %d acknowledged redemptions all present", outcomes, len(acked))
	if outcomes["old"] == 0 || outcomes["new"] == 0 {
		t.Logf("warning: kills did not land on both sides of the commit")
	}
}

type childResult struct {
	acked       []string
	committed   bool
	commitAfter time.Duration
	err         string
}

// runAndKill starts the child, waits for READY, then kills it with SIGKILL
// after delay (or, if untilCommit, right after it reports COMMITTED).
func runAndKill(t *testing.T, exe string, env []string, delay time.Duration, untilCommit bool) childResult {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReader(stdout)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				// A line without its newline was cut by the kill: not acknowledged.
				return
			}
			lines <- strings.TrimSuffix(l, "\n")
		}
	}()
	var res childResult
	var ready time.Time
	var kill <-chan time.Time
	killed := false
	doKill := func() {
		if !killed {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	guard := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				cmd.Wait()
				return res
			}
			switch {
			case l == "READY":
				ready = time.Now()
				if !untilCommit {
					kill = time.After(delay)
				}
			case l == "COMMITTED":
				res.committed = true
				res.commitAfter = time.Since(ready)
				if untilCommit {
					doKill()
				}
			case strings.HasPrefix(l, "ACK "):
				res.acked = append(res.acked, strings.TrimPrefix(l, "ACK "))
			case strings.HasPrefix(l, "ERR"):
				res.err = l
				doKill()
			}
		case <-kill:
			doKill()
		case <-guard:
			doKill()
			t.Errorf("child did not finish in time")
		}
	}
}

// snapshotGen returns the single generation every serving record belongs to,
// failing if the cache mixes generations or its count is not that generation's.
func snapshotGen(t *testing.T, st *Store) int {
	t.Helper()
	gens := map[string]int{}
	err := st.db.View(func(tx *bolt.Tx) error {
		b := activeBucket(tx)
		if b == nil {
			return fmt.Errorf("no active snapshot")
		}
		return b.ForEach(func(_, v []byte) error {
			rec, err := decodeRecord(v)
			if err != nil {
				return err
			}
			gens[rec.Name]++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 1 {
		t.Fatalf("cache mixes generations: %v", gens)
	}
	for name, n := range gens {
		g, err := strconv.Atoi(strings.TrimPrefix(name, "gen-"))
		if err != nil {
			t.Fatalf("record name %q", name)
		}
		if m, _ := st.Meta(); m.Count != n || n != genSize(8000, g) {
			t.Fatalf("generation %d has %d records, meta count %d, want %d", g, n, m.Count, genSize(8000, g))
		}
		return g
	}
	return 0
}
