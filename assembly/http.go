package assembly

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/page"
	"github.com/kioskd/kioskd/status"
)

// httpMaxConns bounds the listener's open connections: each costs a file
// descriptor, and descriptors spent on idle sockets are ones the camera,
// the store and the sync cannot have. The kiosk's own screen and an
// operator's browser need a handful; connections past the bound wait in the
// kernel's backlog.
const httpMaxConns = 64

// httpIdleTimeout closes keep-alive connections nobody uses; without it an
// idle connection stays open for ever.
const httpIdleTimeout = 60 * time.Second

// httpServer builds the local listener's server: the status page, /metrics,
// the display page and the registered pages the config names, every one
// behind the Host check and its token guard. Pages with work of their own
// are started on wg.
func (d *Daemon) httpServer(ctx context.Context, wg *stdsync.WaitGroup, report func(error)) (*http.Server, error) {
	token, warn, err := config.ReadSecret(d.cfg.HTTPToken())
	if warn != "" {
		d.log.Warn(warn)
	}
	if err != nil {
		return nil, err
	}
	if token == "" && !Loopback(d.cfg.HTTP.Listen) {
		return nil, fmt.Errorf("http.listen %q is not on localhost: set http.token_file (the preview shows what the camera sees, codes included)", d.cfg.HTTP.Listen)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", status.RequireToken(token, d.metrics.Handler()))
	if d.display != nil {
		// The kiosk's own screen (Chromium in kiosk mode on localhost) needs
		// no token; anyone else does: the page carries the live challenge,
		// which an enrolled phone anywhere could approve to open the door.
		mux.Handle("/display/", status.RequireTokenOffLoopback(token, d.display.Handler()))
	}
	pages, err := d.openPages(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		mux.Handle(p.Path, guard(p.Guard, token, p.Handler))
		if r, ok := p.Handler.(page.Runner); ok && wg != nil {
			wg.Go(func() {
				if err := r.Run(ctx); err != nil && ctx.Err() == nil {
					report(fmt.Errorf("page %s: %w", p.Path, err))
				}
			})
		}
	}
	var preview status.Preview
	if d.preview != nil {
		preview = previewOf{d.preview}
	}
	mux.Handle("/", status.Handler(status.ProviderFunc(d.Snapshot), preview, status.HandlerOptions{Token: token, Logger: d.log}))
	h := status.CheckHost(d.cfg.HTTP.Listen, d.cfg.HTTP.Hosts, mux)
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: httpIdleTimeout, MaxHeaderBytes: 16 << 10}, nil
}

func guard(g page.Guard, token string, h http.Handler) http.Handler {
	if g == page.TokenOffLoopback {
		return status.RequireTokenOffLoopback(token, h)
	}
	return status.RequireToken(token, h)
}

// openPages opens the pages the config lists (http.pages:), each by its
// registered kind.
func (d *Daemon) openPages(ctx context.Context) ([]page.Page, error) {
	var pages []page.Page
	for i, p := range d.cfg.HTTP.Pages {
		kind, err := page.Lookup(p.Kind)
		if err != nil {
			return nil, fmt.Errorf("http.pages[%d].kind: %w", i, err)
		}
		pg, err := kind.Open(ctx, page.Env{Name: p.Name, Kiosk: d.cfg.KioskID, Decode: p.Decode, Logger: d.log.With("page", p.Name),
			Status: status.ProviderFunc(d.Snapshot), Verdicts: &d.subs, Lane: d})
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", p.Name, err)
		}
		pages = append(pages, pg)
	}
	return pages, nil
}

// Loopback reports whether a listen address is on this machine only.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// previewOf offers the lane's preview to the status page, which knows "no
// frame yet" by its own error.
type previewOf struct{ p *kiosk.Preview }

func (v previewOf) WriteJPEG(w io.Writer) error {
	err := v.p.WriteJPEG(w)
	if errors.Is(err, kiosk.ErrNoFrame) {
		return status.ErrNoFrame
	}
	return err
}
