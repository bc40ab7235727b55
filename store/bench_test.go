package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchCode is the i-th synthetic code of the benchmarks.
func benchCode(i int) string { return fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15) }

// benchRecord is a realistic record: a bech32-length address, a short name.
func benchBody(i int) []byte {
	r := Record{
		Address:   fmt.Sprintf("bb1%039d", i),
		Chain:     "Cosmos",
		Name:      "Event check-in",
		CreatedAt: time.UnixMilli(1719878400000 + int64(i)),
	}
	return appendRecordBody(nil, r)
}

// writeBenchFile writes a snapshot file of n codes to path.
func writeBenchFile(tb testing.TB, path string, n int) {
	tb.Helper()
	keys := make([][32]byte, n)
	for i := range n {
		keys[i] = sha256.Sum256([]byte(benchCode(i)))
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return bytes.Compare(keys[a][:], keys[b][:]) })
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sw := newSnapWriter(f, uint64(n), SyncInfo{At: time.Now()})
	for _, i := range order {
		sw.raw(keys[i][:], benchBody(int(i)))
	}
	if err := sw.close(); err != nil {
		tb.Fatal(err)
	}
}

// benchFiles caches generated snapshot files per size for one test binary run.
var benchFiles sync.Map

func benchFile(tb testing.TB, n int) string {
	if p, ok := benchFiles.Load(n); ok {
		return p.(string)
	}
	dir, err := os.MkdirTemp("", "kioskd-bench")
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(dir, fmt.Sprintf("codes-%d.snap", n))
	writeBenchFile(tb, p, n)
	benchFiles.Store(n, p)
	return p
}

func importFile(tb testing.TB, st *Store, path string) int {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	n, err := st.Import(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkImport measures an import (real fsyncs) and reports the file size.
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			file := benchFile(b, n)
			b.ReportAllocs()
			var dbSize int64
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "k.db")
				var batch int
				fmt.Sscan(os.Getenv("KIOSKD_BENCH_BATCH"), &batch)
				st, err := Open(path, Options{SnapshotBatch: batch})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := cpuTime()
				importFile(b, st, file)
				cpu += cpuTime() - c0
				b.StopTimer()
				st.Close()
				fi, _ := os.Stat(path)
				dbSize = fi.Size()
				b.StartTimer()
			}
			fi, _ := os.Stat(file)
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(dbSize)/1e6, "db-MB")
			b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
		})
	}
}

// BenchmarkSnapshotRandomOrder measures a sync-like snapshot of codes that
// arrive in random hash order (as pages from the API do).
func BenchmarkSnapshotRandomOrder(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var dbSize int64
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "k.db")
				st, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := cpuTime()
				sn, _ := st.NewSnapshot()
				for i := range n {
					r := Record{Hash: HashCode(benchCode(i)), Address: fmt.Sprintf("bb1%039d", i), Chain: "Cosmos", Name: "Event check-in"}
					if err := sn.Put(r); err != nil {
						b.Fatal(err)
					}
				}
				if err := sn.Commit(SyncInfo{At: time.Now(), Source: "sync"}); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c0
				b.StopTimer()
				st.Close()
				fi, _ := os.Stat(path)
				dbSize = fi.Size()
				b.StartTimer()
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(dbSize)/1e6, "db-MB")
		})
	}
}

// cpuTime is this process's user+system CPU time: a number that does not
// depend on how busy the shared machine is.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLookup measures Lookup of cached codes (hit) and unknown ones, and
// reports the median and 99th percentile of single calls.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		st, _ := openTest(b, Options{})
		importFile(b, st, benchFile(b, n))
		for _, hit := range []bool{true, false} {
			b.Run(fmt.Sprintf("%d/hit=%v", n, hit), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				hashes := make([]string, 4096)
				for i := range hashes {
					j := r.IntN(n)
					if !hit {
						j += n
					}
					hashes[i] = HashCode(benchCode(j))
				}
				var durs []time.Duration
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					t := time.Now()
					_, ok, err := st.Lookup(hashes[i%len(hashes)])
					durs = append(durs, time.Since(t))
					if err != nil || ok != hit {
						b.Fatalf("lookup: %v %v", ok, err)
					}
					i++
				}
				reportPercentiles(b, durs)
			})
		}
	}
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkRedeem measures one durable (fsync'd) redemption with its event,
// alone and with concurrent callers coalesced by DB.Batch.
func BenchmarkRedeem(b *testing.B) {
	for _, par := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("writers=%d", par), func(b *testing.B) {
			st, err := Open(filepath.Join(b.TempDir(), "k.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var mu sync.Mutex
			var durs []time.Duration
			var seq uint64
			work := make(chan struct{})
			var wg sync.WaitGroup
			b.ResetTimer()
			for range par {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range work {
						mu.Lock()
						seq++
						i := seq
						mu.Unlock()
						var c [8]byte
						binary.BigEndian.PutUint64(c[:], i)
						h := HashCode(fmt.Sprintf("%064x", c))
						t := time.Now()
						err := st.Redeem(context.Background(), Redemption{Hash: h, At: time.Now(), Kiosk: "b"},
							Event{Kind: KindVerdict, Accept: true, Reason: "ok", Hash: h})
						d := time.Since(t)
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						durs = append(durs, d)
						mu.Unlock()
					}
				}()
			}
			for b.Loop() {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			reportPercentiles(b, durs)
		})
	}
}

// TestMeasureRSS reports the resident memory of a process serving lookups
// from a 100k and a 1M cache. Run with KIOSKD_MEASURE=1 (see BENCHMARKS.md).
func TestMeasureRSS(t *testing.T) {
	if os.Getenv("KIOSKD_MEASURE") == "" {
		t.Skip("set KIOSKD_MEASURE=1 to measure")
	}
	exe, _ := os.Executable()
	for _, n := range []int{100_000, 1_000_000} {
		path := filepath.Join(t.TempDir(), "k.db")
		st, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		importFile(t, st, benchFile(t, n))
		st.Close()
		fi, _ := os.Stat(path)
		for _, lookups := range []int{1000, 100_000} {
			cmd := execCommand(exe, "KIOSKD_RSS_CHILD=1", "RSS_DB="+path, fmt.Sprintf("RSS_N=%d", n), fmt.Sprintf("RSS_LOOKUPS=%d", lookups))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v %s", err, out)
			}
			t.Logf("codes=%d db=%.1fMB lookups=%d: %s", n, float64(fi.Size())/1e6, lookups, strings.TrimSpace(string(out)))
		}
		for _, batch := range []int{0, 10000} {
			path := filepath.Join(t.TempDir(), "s.db")
			cmd := execCommand(exe, "KIOSKD_RSS_CHILD=1", "RSS_SNAPSHOT=1", "RSS_DB="+path, fmt.Sprintf("RSS_N=%d", n), fmt.Sprintf("RSS_BATCH=%d", batch))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v %s", err, out)
			}
			fi, _ := os.Stat(path)
			t.Logf("random-order snapshot of %d codes, SnapshotBatch %d (0 = default), db=%.1fMB: %s", n, batch, float64(fi.Size())/1e6, strings.TrimSpace(string(out)))
		}
	}
}

// rssChild opens the store, does random lookups (or, with RSS_SNAPSHOT,
// writes a random-order snapshot of RSS_N codes, as a sync does), and prints
// its RSS.
func rssChild() {
	var n, lookups, batch int
	fmt.Sscan(os.Getenv("RSS_N"), &n)
	fmt.Sscan(os.Getenv("RSS_LOOKUPS"), &lookups)
	fmt.Sscan(os.Getenv("RSS_BATCH"), &batch)
	st, err := Open(os.Getenv("RSS_DB"), Options{SnapshotBatch: batch})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	if os.Getenv("RSS_SNAPSHOT") != "" {
		t := time.Now()
		sn, _ := st.NewSnapshot()
		for i := range n {
			sn.Put(Record{Hash: HashCode(benchCode(i)), Address: fmt.Sprintf("bb1%039d", i), Chain: "Cosmos", Name: "Event check-in"})
		}
		if err := sn.Commit(SyncInfo{At: time.Now(), Source: "sync"}); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Printf("snapshot %v, ", time.Since(t).Round(time.Millisecond))
	}
	r := rand.New(rand.NewPCG(3, 3))
	for range lookups {
		if _, ok, err := st.Lookup(HashCode(benchCode(r.IntN(n)))); !ok || err != nil {
			fmt.Println("lookup failed", err)
			os.Exit(1)
		}
	}
	status, _ := os.ReadFile("/proc/self/status")
	var parts []string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "RssFile") || strings.HasPrefix(l, "RssAnon") {
			parts = append(parts, strings.Join(strings.Fields(l), " "))
		}
	}
	fmt.Println(strings.Join(parts, ", "))
	st.Close()
}

// BenchmarkLookupDuringSync measures lookups on a 1M cache while a
// random-order snapshot of 200k codes is written, merged and committed
// beside it (a scan at the door during a sync; after the commit the lookups
// miss): bbolt remaps the file as it grows, which briefly holds back new
// read transactions.
func BenchmarkLookupDuringSync(b *testing.B) {
	const n = 1_000_000
	var mmap int
	fmt.Sscan(os.Getenv("KIOSKD_BENCH_MMAP_MB"), &mmap)
	st, err := Open(filepath.Join(b.TempDir(), "k.db"), Options{InitialMmapSize: mmap << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	importFile(b, st, benchFile(b, n))
	r := rand.New(rand.NewPCG(2, 2))
	hashes := make([]string, 4096)
	for i := range hashes {
		hashes[i] = HashCode(benchCode(r.IntN(n)))
	}
	done := make(chan error, 1)
	go func() {
		sn, err := st.NewSnapshot()
		if err != nil {
			done <- err
			return
		}
		for i := range 200_000 {
			if err := sn.Put(Record{Hash: HashCode(benchCode(n + i)), Address: "bb1x", Chain: "Cosmos", Name: "sync"}); err != nil {
				done <- err
				return
			}
		}
		done <- sn.Commit(SyncInfo{At: time.Now(), Source: "sync"})
	}()
	var durs []time.Duration
	b.ResetTimer()
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportPercentiles(b, durs)
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)-1].Microseconds()), "max-µs")
			b.ReportMetric(float64(len(durs)), "lookups")
			return
		default:
		}
		t := time.Now()
		if _, _, err := st.Lookup(hashes[i%len(hashes)]); err != nil {
			b.Fatalf("lookup: %v", err)
		}
		durs = append(durs, time.Since(t))
	}
}
