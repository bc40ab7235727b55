package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
	"github.com/kioskd/kioskd/verify"
)

// gatedSequence: the demo guest, who holds the membership badge, then the
// dark-mode guest, who does not.
var gatedSequence = []string{"01-code-a.png", "03-no-qr.png", "06-dark-mode-code-c.png"}

// gatedScene turns the venue members-only: the stand-in issues a
// membership badge (collection 1, token 1) to the demo guest and to filler
// members, the sync fetches its owners into the same snapshot as the codes,
// and the door admits the holder and refuses the other guest, offline.
func gatedScene(ctx context.Context, p *printer, cfg *config.Config, srv *bbtest.Server, d *assembly.Daemon, dir string) ([]verify.Verdict, error) {
	svc := d.Sync()
	valid, _, _ := demoframes.Codes()
	cfg.Access = config.Access{Match: "all", StaleOwners: "reject", Require: []config.Requirement{
		{Name: "Member", CollectionID: "1", TokenIDs: []config.TokenRange{{Start: 1, End: 1}}, MinAmount: 1}}}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("the gated scene's config: %w", err)
	}
	srv.SetBalances("1", srv.AddressOf(valid), bbtest.Hold(1, 1))
	srv.AddOwners("1", 1, 40)
	p.say("gated scene: members only (access.require: badge 1 of collection 1, \"Member\"); the demo guest holds it, the dark-mode guest does not")
	svc.Syncer.Require = assembly.Requirements(cfg.Access.Require)
	r, err := svc.Syncer.Sync(ctx)
	if err != nil {
		return nil, fmt.Errorf("syncing the gated scene: %w", err)
	}
	p.say("synced %d codes and %d badge owners (%d pages) into one snapshot in %v",
		r.Codes, r.Owners.Owners, r.Owners.Pages, r.Duration.Round(time.Millisecond))
	// Re-entry allowed here, so the verdicts are about the badge alone.
	gated := *cfg
	gated.Policy.Reuse = config.ReuseUnlimited
	frames := filepath.Join(dir, "frames-gated")
	if err := writeFrames(frames, gatedSequence); err != nil {
		return nil, err
	}
	gated.Camera.Source = "dir:" + frames
	obs := &observer{p: p, names: gatedSequence}
	if err := d.ScanWith(ctx, &gated, obs); err != nil {
		return nil, fmt.Errorf("running the gated scene: %w", err)
	}
	return obs.verdicts(), nil
}
