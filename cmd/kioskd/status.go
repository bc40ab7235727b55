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

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
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
		st, serr := assembly.OpenStore(&cfg, nil)
		if serr != nil {
			if errors.Is(serr, store.ErrLocked) {
				return exitError, fmt.Errorf("the daemon holds the store but its status page did not answer (%v)", err)
			}
			return exitError, serr
		}
		defer st.Close()
		snap = assembly.OfflineSnapshot(&cfg, st, version)
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
