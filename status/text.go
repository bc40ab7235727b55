package status

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// WriteText writes the snapshot for a person at a terminal, as
// `kioskd status` prints it. Times are shown in s.Now's location.
func WriteText(w io.Writer, s Snapshot) error {
	s = s.Complete()
	loc := s.Now.Location()
	tw := tabwriter.NewWriter(w, 9, 0, 2, ' ', 0)
	line := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", k, OneLine(fmt.Sprintf(format, args...)))
	}

	name := s.Kiosk
	if s.Version != "" {
		name += " (kioskd " + s.Version + ")"
	}
	line("kiosk", "%s", name)
	switch {
	case s.Healthy:
		line("health", "OK")
	case len(s.Problems) == 0:
		line("health", "NOT HEALTHY")
	default:
		line("health", "NOT HEALTHY: %s", strings.Join(s.Problems, "; "))
	}
	if s.Offline {
		line("daemon", "not running (state read from the state directory)")
	}

	if !s.Offline {
		cam := "down"
		if s.Camera.Up {
			cam = fmt.Sprintf("up, %.1f fps, decode p50 %s", s.Camera.FPS, s.Camera.DecodeP50)
			if s.Camera.FramesDropped > 0 {
				cam += fmt.Sprintf(", %d frames dropped", s.Camera.FramesDropped)
			}
			if s.Camera.VerdictLatencyP50 > 0 {
				cam += fmt.Sprintf(", verdict latency p50 %s p95 %s", s.Camera.VerdictLatencyP50, s.Camera.VerdictLatencyP95)
			}
		}
		line("camera", "%s", join(s.Camera.Source, cam, s.Camera.Detail))
		line("outputs", "%s", join(s.GPIO.Driver, s.GPIO.Detail))
		writeInputs(line, s.Inputs, loc)
	}

	cache := fmt.Sprintf("%d codes", s.Cache.Count)
	if s.Cache.LastSync.IsZero() {
		cache += ", never synced"
	} else {
		cache += fmt.Sprintf(", last sync %s (%s ago)", stamp(s.Cache.LastSync, loc), s.Cache.Age)
	}
	if s.Cache.Stale {
		cache += ", STALE"
	}
	if s.Cache.Source != "" {
		cache += ", from " + s.Cache.Source
	}
	line("cache", "%s", cache)
	if a := s.Access; a != nil {
		owners := "badge owners never synced"
		if !a.OwnersSynced.IsZero() {
			owners = fmt.Sprintf("badge owners synced %s (%s ago), %d owners", stamp(a.OwnersSynced, loc), a.OwnersAge, a.Owners)
		}
		if a.OwnersStale {
			owners += ", STALE"
		}
		line("access", "match %s; %s", a.Match, owners)
		for _, q := range a.Requirements {
			held := fmt.Sprintf("%d holders", q.Holders)
			if !q.Synced {
				held = "owners NOT synced"
			}
			line("  require", "%s: collection %s tokens %s, at least %d; %s", q.Name, q.CollectionID, q.TokenIDs, q.MinAmount, held)
		}
	}

	if v := s.Visits; v != nil {
		line("visits", "%s", v.line())
	}

	var sync []string
	if s.Sync.Syncing {
		sync = append(sync, fmt.Sprintf("SYNCING since %s, page %d", stamp(s.Sync.SyncingSince, loc), s.Sync.Page))
	}
	if !s.Sync.LastAttempt.IsZero() {
		r := "ok"
		if s.Sync.LastError != "" {
			r = "FAILED: " + s.Sync.LastError
		}
		sync = append(sync, fmt.Sprintf("last attempt %s %s in %s", stamp(s.Sync.LastAttempt, loc), r, s.Sync.LastDuration))
	} else if s.Sync.LastError != "" {
		sync = append(sync, "last error: "+s.Sync.LastError)
	}
	if !s.Sync.NextSync.IsZero() {
		sync = append(sync, "next "+stamp(s.Sync.NextSync, loc))
	}
	if s.Sync.Duplicates > 0 {
		sync = append(sync, fmt.Sprintf("%d duplicate records in the last sync", s.Sync.Duplicates))
	}
	if len(sync) == 0 {
		sync = append(sync, "no attempt yet")
	}
	line("sync", "%s", strings.Join(sync, "; "))
	if h := s.Sync.HeldBack; h != nil {
		line("held back", "%d codes listed at %s, %d cached: the old cache serves; "+
			"to apply: stop the daemon, kioskd sync -apply-held-back", h.Codes, stamp(h.At, loc), h.Cached)
	}

	if s.Clock.Trusted {
		line("clock", "trusted")
	} else if s.Clock.TrustedTime.IsZero() {
		line("clock", "NOT trusted (never synced with a trusted time)")
	} else {
		line("clock", "NOT trusted (last trusted time %s)", stamp(s.Clock.TrustedTime, loc))
	}
	line("events", "%d pending upload, %d dropped", s.Events.Pending, s.Events.Dropped)
	if ev := s.Events; ev.UploadError != "" {
		up := fmt.Sprintf("FAILING (%d in a row): %s", ev.Failures, ev.UploadError)
		if ev.Stuck > 0 {
			up += fmt.Sprintf("; %d refused, oldest id %d", ev.Stuck, ev.StuckID)
		}
		if !ev.NextAttempt.IsZero() {
			up += "; next attempt " + stamp(ev.NextAttempt, loc)
		}
		line("upload", "%s", up)
	}
	if s.Display.Enabled {
		line("display", "%s", join("enabled", s.Display.State))
	}
	if f := s.Fleet; f != nil {
		link := "DISCONNECTED"
		if f.Connected {
			link = "connected"
		}
		line("fleet", "%s %s; %d published, %d pending, %d applied from peers, %d ignored",
			f.Broker, link, f.Published, f.Pending, f.Applied, f.Ignored)
	}
	for _, p := range s.Peers {
		state := "offline"
		if p.Online {
			state = "online"
		}
		line("peer", "%s %s, last seen %s", p.Kiosk, state, stamp(p.LastSeen, loc))
	}
	outputLines(line, s.Outputs, loc) // outputs.go
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}

	if len(s.Recent) == 0 {
		_, err := fmt.Fprintln(w, "\nrecent verdicts: none")
		return err
	}
	var table bytes.Buffer
	tw = tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	for _, v := range s.Recent {
		result := "REJECT"
		if v.Accept {
			result = "ACCEPT"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", stamp(v.Time, loc), result, v.Reason,
			orDash(v.HashPrefix), OneLine(join(v.Name, v.Requirement, VisitLabel(v.Visit, v.VisitPeriod, v.VisitCounted), v.Warning, inputNote(v.Input, len(s.Inputs)))))
	}
	tw.Flush()
	var out strings.Builder
	out.WriteString("\nrecent verdicts (newest first):\n")
	for _, l := range strings.Split(strings.TrimRight(table.String(), "\n"), "\n") {
		out.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	if _, err := io.WriteString(w, out.String()); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// stamp shows a time in the kiosk's zone, to the second.
func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// join joins the non-empty parts with ", ".
func join(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// OneLine makes untrusted text (a record name from the BitBadges server, an
// error message, decoded QR text) safe to print as one line, or one TSV
// field, on an operator's terminal: every control character (C0 with tab
// and newline, DEL, and C1, whose CSI starts an escape sequence as ESC [
// does) and the line and paragraph separators become a space, so no
// escape sequence reaches the terminal and the layout holds; the
// bidirectional marks, embeddings, overrides and isolates, which reorder
// what is shown, are dropped; invalid UTF-8 becomes U+FFFD. kioskd status
// and kioskd check both print through it.
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return -1
		}
		return r
	}, s)
}
