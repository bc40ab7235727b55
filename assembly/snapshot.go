package assembly

import (
	"fmt"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/output"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync"
	"github.com/kioskd/kioskd/verify"
)

// Snapshot is the running daemon's status.
func (d *Daemon) Snapshot() status.Snapshot {
	s := offlineSnapshot(&d.cfg, d.st, d.svc, d.opts.Version)
	s.Offline = false
	ls := d.mon.Stats()
	s.Camera = status.Camera{Up: ls.CameraUp, Source: d.cfg.Camera.Source, Detail: ls.CameraDetail, FPS: ls.FPS, DecodeP50: status.Duration(ls.DecodeP50),
		FramesDropped: ls.FramesDropped, VerdictLatencyP50: status.Duration(ls.VerdictLatencyP50), VerdictLatencyP95: status.Duration(ls.VerdictLatencyP95)}
	if s.Camera.Detail == "" && len(d.lanes) > 0 && d.hasCamera() {
		s.Camera.Detail = d.lanes[0].in.Describe() // the camera's lane
	}
	s.GPIO = status.GPIO{Driver: d.cfg.GPIO.Driver, Detail: d.sig.Status().String()}
	s.Recent = d.hist.List()
	d.fillInputs(&s, ls)
	s.Problems = append(d.mon.Problems(), syncProblems(s.Sync)...)
	if err := d.st.Err(); err != nil {
		// Every verdict is an error from now on: say why first.
		s.Problems = append([]string{"store damaged, no verdicts until it is recovered (kioskd store check): " + err.Error()}, s.Problems...)
	}
	s.Healthy = len(s.Problems) == 0
	if d.display != nil {
		s.Display.State = d.display.Screen().State.String()
	}
	d.fleetStatus(&s)
	eventsStatus(&s, d.up)
	d.fillVisits(&s) // visits.go
	d.outputsStatus(&s) // handoff.go
	for _, o := range d.outputs {
		if r, ok := o.(output.Reporter); ok {
			ps, bad := r.Problems()
			s.Problems = append(s.Problems, ps...)
			if bad {
				s.Healthy = false
			}
		}
	}
	fillAccess(&s, &d.cfg, d.ver)
	return s.Complete()
}

func (d *Daemon) fleetStatus(s *status.Snapshot) {
	if d.fleet == nil {
		if ps := keptFleetProblems(&d.cfg, d.st); len(ps) > 0 {
			s.Problems = append(s.Problems, ps...)
			s.Healthy = false
		}
		return
	}
	// A broker that cannot be reached and the double entries found after
	// a partition are shown; only the first makes the kiosk unhealthy
	// (a double entry is an incident to follow up, not a broken kiosk).
	fs := d.fleet.Status()
	s.Fleet = &status.Fleet{Broker: fs.Broker, Connected: fs.Connected, Pending: fs.Pending,
		Published: fs.Published, Applied: fs.Applied, Ignored: fs.Ignored}
	for _, p := range fs.Peers {
		s.Peers = append(s.Peers, status.Peer{Kiosk: p.Kiosk, LastSeen: p.LastSeen, Online: p.Online})
	}
	s.Problems = append(s.Problems, fs.Lines()...)
	if !fs.Connected && fs.LastError != "" {
		s.Healthy = false
	}
}

// OfflineSnapshot is what the state folder tells without a running daemon
// (kioskd status while it is stopped).
func OfflineSnapshot(cfg *config.Config, st *store.Store, version string) status.Snapshot {
	snap := offlineSnapshot(cfg, st, nil, version)
	fillAccess(&snap, cfg, NewVerifier(st, cfg, nil, nil))
	fillVisits(&snap, cfg, NewVerifier(st, cfg, nil, nil), nil) // visits.go
	return snap.Complete()
}

// offlineSnapshot is what the state folder tells: the cache, the clock, the
// outbox (and the sync's live state when svc is set).
func offlineSnapshot(cfg *config.Config, st *store.Store, svc *sync.Service, version string) status.Snapshot {
	s := status.Snapshot{Kiosk: cfg.KioskID, Version: version, Now: time.Now(), Offline: true, GPIO: status.GPIO{Driver: cfg.GPIO.Driver},
		Camera: status.Camera{Source: cfg.Camera.Source}}
	s.Display.Enabled = cfg.Display.Enabled
	h := verify.New(st, verify.Options{Policy: PolicyOptions(cfg.Policy)}).Health(s.Now)
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
	// Double entries found after a partition are incidents to follow up,
	// shown but not counted against the kiosk's health.
	if des, err := st.DoubleEntries(10); err == nil {
		for _, d := range des {
			s.Problems = append(s.Problems, d.Problem())
		}
	}
	StoredOutputs(&s, cfg, st) // handoff.go
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

// eventsStatus adds the upload's state to a daemon's snapshot. A failing
// upload is listed among the problems but does not make the kiosk
// unhealthy: the door works, the events wait on disk.
func eventsStatus(s *status.Snapshot, up *sync.Uploader) {
	if up == nil {
		return
	}
	us := up.Stats()
	s.Events.Sent, s.Events.UploadError, s.Events.Failures = us.Sent, us.LastError, us.Failures
	s.Events.Stuck, s.Events.StuckID = us.Stuck, us.StuckID
	if us.Failures > 0 {
		s.Events.NextAttempt = us.NextAttempt
		p := fmt.Sprintf("events: upload failing, %d pending kept: %s", s.Events.Pending, us.LastError)
		s.Problems = append(s.Problems, p)
	}
}

// keptFleetProblems is the status line for redemptions kept from a fleet
// the config no longer names. It makes the kiosk unhealthy although
// scanning is unaffected: the other doors do not know of these uses until
// the operator acts (fleet.broker back, or kioskd fleet drop).
func keptFleetProblems(cfg *config.Config, st *store.Store) []string {
	if cfg.Fleet.Enabled() {
		return nil
	}
	fc, err := st.FleetCounts()
	if err != nil || fc.Pending == 0 {
		return nil
	}
	return []string{fmt.Sprintf("fleet: %d local redemptions never published, and fleet.broker is not set: "+
		"set it again to publish them, or discard them with kioskd fleet drop", fc.Pending)}
}
