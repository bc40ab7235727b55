package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync"
	"github.com/kioskd/kioskd/verify"
)

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("status", "-config FILE [-json]", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return exitError, err
	}
	// A running daemon holds the store: ask it. Without one, read the
	// state folder directly.
	snap, err := daemonSnapshot(ctx, &cfg)
	if err != nil {
		st, serr := openStore(&cfg, nil)
		if serr != nil {
			if errors.Is(serr, store.ErrLocked) {
				return exitError, fmt.Errorf("the daemon holds the store but its status page did not answer (%v)", err)
			}
			return exitError, serr
		}
		defer st.Close()
		snap = offlineSnapshot(&cfg, st, nil)
		fillAccess(&snap, &cfg, verify.New(st, verify.Options{Policy: cfg.Policy, Access: cfg.Access}))
		snap = snap.Complete()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return exitOK, enc.Encode(snap)
	}
	return exitOK, status.WriteText(stdout, snap)
}

// daemonSnapshot asks the running daemon's status listener.
func daemonSnapshot(ctx context.Context, cfg *config.Config) (status.Snapshot, error) {
	var s status.Snapshot
	if cfg.HTTP.Listen == "" {
		return s, errors.New("no http.listen")
	}
	token, _, _ := config.ReadSecret(cfg.HTTPToken())
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+dialAddr(cfg.HTTP.Listen)+"/status.json", nil)
	if err != nil {
		return s, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("status page answered %s", resp.Status)
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s)
	return s, err
}

// dialAddr is where a client on this machine reaches a listener on listen:
// a wildcard address (0.0.0.0, ::, or none) is asked on loopback, since the
// listener does not answer to a wildcard as a Host name.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch a, err := netip.ParseAddr(host); {
	case host == "":
		return net.JoinHostPort("127.0.0.1", port)
	case err == nil && a.IsUnspecified() && a.Is4():
		return net.JoinHostPort("127.0.0.1", port)
	case err == nil && a.IsUnspecified():
		return net.JoinHostPort("::1", port)
	}
	return listen
}

// offlineSnapshot is what the state folder tells without a running daemon:
// the cache, the clock, the outbox (and the sync's live state when svc is set).
func offlineSnapshot(cfg *config.Config, st *store.Store, svc *sync.Service) status.Snapshot {
	s := status.Snapshot{Kiosk: cfg.KioskID, Version: version, Now: time.Now(), Offline: true, GPIO: status.GPIO{Driver: cfg.GPIO.Driver},
		Camera: status.Camera{Source: cfg.Camera.Source}}
	s.Display.Enabled = cfg.Display.Enabled
	h := verify.New(st, verify.Options{Policy: cfg.Policy}).Health(s.Now)
	m, err := st.Meta()
	if err != nil {
		s.Problems = append(s.Problems, "reading the store: "+err.Error())
	}
	s.Cache = status.Cache{Count: m.Count, LastSync: m.LastSync, Stale: h.Stale, Source: m.Source}
	s.Clock = status.Clock{Trusted: h.ClockTrusted, TrustedTime: m.TrustedTime}
	if n, err := st.PendingCount(); err == nil {
		s.Events.Pending = n
	}
	if n, err := st.DroppedEvents(); err == nil {
		s.Events.Dropped = n
	}
	if svc != nil {
		s.Sync = syncStatus(svc)
	}
	if h.Stale {
		s.Problems = append(s.Problems, "code cache stale or never synced")
	}
	if !h.ClockTrusted {
		s.Problems = append(s.Problems, "clock untrusted")
	}
	s.Problems = append(s.Problems, keptFleetProblems(cfg, st)...)
	s.Problems = append(s.Problems, syncProblems(s.Sync)...)
	s.Healthy = len(s.Problems) == 0
	storedOutputs(&s, cfg, st) // issue 21: outputs.go
	// Double entries found after a partition are incidents to follow up,
	// shown but not counted against the kiosk's health.
	if des, err := st.DoubleEntries(10); err == nil {
		for _, d := range des {
			s.Problems = append(s.Problems, fmt.Sprintf("fleet: double entry of code %.8s: %s at %s and %s at %s",
				d.Hash, d.Local.Kiosk, d.Local.At.Format(time.RFC3339), d.Peer.Kiosk, d.Peer.At.Format(time.RFC3339)))
		}
	}
	return s
}

// syncStatus is the sync side of the status: the last attempt, the pre-fetch
// under way and a held-back snapshot.
func syncStatus(svc *sync.Service) status.Sync {
	ss := svc.Status()
	out := status.Sync{LastError: ss.LastError, LastAttempt: ss.LastAttempt, NextSync: ss.NextSync,
		LastDuration: status.Duration(svc.Scheduler.State().LastResult.Duration),
		Syncing:      ss.Syncing, SyncingSince: ss.SyncingSince, Page: ss.SyncPages, Duplicates: ss.LastDuplicates}
	if hb := ss.HeldBack; hb != nil {
		out.HeldBack = &status.HeldBack{Codes: hb.Codes, Cached: hb.Cached, At: hb.At}
	}
	return out
}

// syncProblems are the sync's states that need the operator: a held-back
// snapshot leaves the kiosk on a cache the server no longer agrees with.
func syncProblems(s status.Sync) []string {
	if s.HeldBack != nil {
		return []string{s.HeldBack.Problem()}
	}
	return nil
}
