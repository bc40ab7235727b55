package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

const loyaltyConfig = "policy:\n  reuse: unlimited\n  visits: {period: month, time_zone: UTC, cooldown: 1h}\n"

// TestLoyaltyVisitsCommands: a loyalty kiosk's config, `kioskd check`
// (which records like a scan), `kioskd visits` and `kioskd status` through
// the binary. A customer's two codes are one holder; a second scan within
// the cooldown is accepted as the same visit; a config without a cooldown
// counts the next scan.
func TestLoyaltyVisitsCommands(t *testing.T) {
	e := newEnv(t, loyaltyConfig)
	codeA, codeB := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
	const holder = "bb1loyalcustomer0000000000000000000000"
	e.srv.Add(bbtest.Record{Code: codeA, Name: "Loyalty card", Address: "0x00000000000000000000000000000000000000aa", BitBadgesAddress: holder})
	e.srv.Add(bbtest.Record{Code: codeB, Name: "Loyalty card", Address: holder})
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync: exit %d %q %q", code, out, errOut)
	}
	period := time.Now().UTC().Format("2006-01")
	steps := []struct {
		name string
		args []string
		want string
	}{
		{"first scan is visit 1", []string{"check", codeA}, "accept\tok\tLoyalty card\tvisit 1 of " + period + "\n"},
		{"the other code, same holder, within the cooldown", []string{"check", codeB}, "accept\tok\tLoyalty card\tvisit 1 of " + period + " (same visit)\n"},
		{"a dry run counts nothing", []string{"check", "-dry-run", codeA}, "visit 1 of " + period + " (same visit) if scanned now (dry run: not counted)"},
		{"the holder's visits", []string{"visits", holder}, holder + "\t1 visits in " + period + "\tlast "},
		{"a stranger's", []string{"visits", "bb1nobody"}, "bb1nobody\t0 visits in " + period + "\ta scan now is a new visit\n"},
	}
	for _, s := range steps {
		args := append([]string{s.args[0], "-config", e.cfg}, s.args[1:]...)
		out, errOut, code := e.kioskd(args...)
		if code != exitOK || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d, %q %q; want %q", s.name, code, out, errOut, s.want)
		}
		if strings.Contains(out+errOut, codeA) || strings.Contains(out+errOut, codeB) {
			t.Fatalf("%s: a code in the output", s.name)
		}
	}
	out, _, _ := e.kioskd("visits", "-config", e.cfg, holder)
	if !strings.Contains(out, "a scan before ") || !strings.Contains(out, "is the same visit") {
		t.Errorf("visits within the cooldown: %q", out)
	}

	out, errOut, code := e.kioskd("status", "-config", e.cfg, "-json")
	if code != exitOK {
		t.Fatalf("status: %d %q", code, errOut)
	}
	var s status.Snapshot
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if v := s.Visits; v == nil || v.Visits != 1 || v.Holders != 1 || v.Current != period || v.Period != "month" || v.TimeZone != "UTC" {
		t.Fatalf("status visits %+v", s.Visits)
	}
	if out, _, _ = e.kioskd("status", "-config", e.cfg); !strings.Contains(out, "1 visits by 1 holders in "+period+" (per month, UTC, cooldown 1h") {
		t.Errorf("status text lacks the visits line:\n%s", out)
	}

	// Without a cooldown every scan is a visit.
	cfg, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, []byte(strings.Replace(string(cfg), "cooldown: 1h", "cooldown: 0s", 1)), 0o600)
	if out, errOut, code = e.kioskd("check", "-config", e.cfg, codeB); code != exitOK || !strings.Contains(out, "\tvisit 2 of "+period+"\n") {
		t.Fatalf("no cooldown: exit %d %q %q", code, out, errOut)
	}

	// Configuration mistakes are exit 2 naming the key.
	for _, bad := range []struct{ yaml, key string }{
		{"policy:\n  reuse: single\n  visits: {period: month}\n", "policy.visits.period"},
		{"policy:\n  reuse: unlimited\n  visits: {period: fortnight}\n", "policy.visits.period"},
		{"policy:\n  reuse: unlimited\n  visits: {period: month, time_zone: Atlantis/Central}\n", "policy.visits.time_zone"},
	} {
		e2 := newEnv(t, bad.yaml)
		if _, errOut, code := e2.kioskd("check", "-config", e2.cfg, codeA); code != exitError || !strings.Contains(errOut, bad.key) {
			t.Errorf("%q: exit %d %q; want 2 naming %s", bad.yaml, code, errOut, bad.key)
		}
	}
	e3 := newEnv(t, "")
	if _, errOut, code := e3.kioskd("visits", "-config", e3.cfg, holder); code != exitError || !strings.Contains(errOut, "policy.visits is not set") {
		t.Errorf("visits without a counter: exit %d %q", code, errOut)
	}
}

// TestLoyaltyVisitsTwoDaemons: two real kioskd daemons on a real Mosquitto
// count one customer's visits together: the visit at till A is the
// customer's first, and the same customer at till B within the cooldown is
// the same visit, shown in B's status, its recent verdicts and /metrics.
func TestLoyaltyVisitsTwoDaemons(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	var ks []*daemonProc
	for _, id := range []string{"till-a", "till-b"} {
		e := newEnv(t, fleetConfig(id, br.URL())+loyaltyConfig)
		withLoop(t, e)
		ks = append(ks, startDaemon(t, e))
	}
	a, b := ks[0], ks[1]
	for _, k := range ks {
		k.waitFor("start-up sync and fleet connection", 30*time.Second, func(s status.Snapshot) bool {
			return s.Cache.Count > 0 && len(s.Peers) == 1 && s.Visits != nil
		})
	}
	period := time.Now().UTC().Format("2006-01")
	a.show("01-code-a.png")
	sa := a.waitFor("A counts visit 1", 10*time.Second, func(s status.Snapshot) bool { return lastReason(s) == "ok" })
	if v := sa.Recent[0]; v.Visit != 1 || !v.VisitCounted || v.VisitPeriod != period {
		t.Fatalf("A's verdict %+v", v)
	}
	a.show("03-no-qr.png")
	b.waitFor("B learns A's visit", 10*time.Second, func(s status.Snapshot) bool {
		return s.Visits.Visits == 1 && s.Visits.Holders == 1 && s.Visits.Applied == 1
	})
	b.show("01-code-a.png")
	sb := b.waitFor("B accepts the same visit", 10*time.Second, func(s status.Snapshot) bool { return lastReason(s) == "ok" })
	if v := sb.Recent[0]; v.Visit != 1 || v.VisitCounted || v.VisitPeriod != period {
		t.Fatalf("B's verdict %+v: want the same visit 1", v)
	}
	b.show("03-no-qr.png")
	if s, _ := a.status(); s.Visits == nil || s.Visits.Visits != 1 || s.Visits.Published != 1 {
		t.Fatalf("A's visits %+v", s.Visits)
	}
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", b.e.port))
	for _, want := range []string{"kioskd_visits_current_period 1\n", "kioskd_visit_holders_current_period 1\n",
		`kioskd_visit_scans_total{result="same"} 1` + "\n", `kioskd_visit_scans_total{result="counted"} 0` + "\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("B's /metrics lacks %q", want)
		}
	}
	valid, _, _ := demoframes.Codes()
	for _, k := range ks {
		if strings.Contains(k.log.String(), valid) {
			t.Errorf("%s logged the code", k.e.cfg)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLoyaltyVisitsPartitionTwoDaemons: two daemons count one customer
// through a broker outage (no cooldown: every scan is a visit, so the
// outcome does not hang on the wall clock). Each till counts alone while
// cut off; reconnected, both agree on three visits, each counted once.
func TestLoyaltyVisitsPartitionTwoDaemons(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	var ks []*daemonProc
	for _, id := range []string{"till-a", "till-b"} {
		e := newEnv(t, fleetConfig(id, br.URL())+strings.Replace(loyaltyConfig, "cooldown: 1h", "cooldown: 0s", 1))
		withLoop(t, e)
		ks = append(ks, startDaemon(t, e))
	}
	a, b := ks[0], ks[1]
	for _, k := range ks {
		k.waitFor("start-up sync and fleet connection", 30*time.Second, func(s status.Snapshot) bool {
			return s.Cache.Count > 0 && len(s.Peers) == 1 && s.Visits != nil
		})
	}
	scan := func(k *daemonProc, what string, oks, visit int) {
		t.Helper()
		k.show("01-code-a.png")
		s := k.waitFor(what, 10*time.Second, func(s status.Snapshot) bool { return countReason(s, "ok") == oks })
		if v := s.Recent[0]; v.Visit != visit || !v.VisitCounted {
			t.Fatalf("%s: %+v, want visit %d counted", what, v, visit)
		}
		k.showBlank()
	}
	scan(a, "A online: visit 1", 1, 1)
	b.waitFor("B learns visit 1", 10*time.Second, func(s status.Snapshot) bool { return s.Visits.Visits == 1 })

	br.Stop()
	for _, k := range ks {
		k.waitFor("fleet disconnected", 20*time.Second, func(s status.Snapshot) bool { return s.Fleet != nil && !s.Fleet.Connected })
	}
	scan(a, "A alone: visit 2", 2, 2)
	scan(b, "B alone: visit 2 as far as it knows", 1, 2)

	br.StartAgain()
	for _, k := range ks {
		k.waitFor("the tills agree on 3 visits", 30*time.Second, func(s status.Snapshot) bool {
			return s.Visits.Visits == 3 && s.Visits.Holders == 1
		})
	}
	scan(b, "B after the merge: visit 4", 2, 4)
	a.waitFor("A learns visit 4", 10*time.Second, func(s status.Snapshot) bool { return s.Visits.Visits == 4 })
}
