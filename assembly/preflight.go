package assembly

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/scanner"
)

// Preflight checks, before a SIGHUP stops the running generation, what a new
// configuration needs from the world outside its own file: a config that is
// valid YAML but names a secret file that is missing, listens beyond
// localhost without a token, or replays a folder that is not there would
// otherwise fail at start-up, after the old generation was stopped. It reads
// the same things the start-up reads and opens nothing exclusive (the store,
// the GPIO lines and the listener are held by the running generation; a
// failure there is met by going back to the previous configuration).
// Secrets are read and dropped; errors name keys and paths, never values.
func Preflight(cfg *config.Config) error {
	secret := func(s config.Secret, required bool) error {
		v, _, err := config.ReadSecret(s)
		if err != nil {
			return err
		}
		if v == "" && required {
			return fmt.Errorf("%s (or $%s) is required", s.Key, s.Env)
		}
		return nil
	}
	errs := []error{Check(cfg)}
	if cfg.BitBadges.ClientID != "" {
		errs = append(errs, secret(cfg.APIKey(), true), secret(cfg.ClientSecret(), true))
		if cfg.Events.URL != "" {
			errs = append(errs, secret(cfg.EventsToken(), false))
		}
	}
	if cfg.HTTP.Listen != "" {
		token, _, err := config.ReadSecret(cfg.HTTPToken())
		switch {
		case err != nil:
			errs = append(errs, err)
		case token == "" && !Loopback(cfg.HTTP.Listen):
			errs = append(errs, fmt.Errorf("http.listen %q is not on localhost: set http.token_file", cfg.HTTP.Listen))
		}
	}
	if cfg.Display.Enabled {
		errs = append(errs, secret(cfg.AuthsignalSecret(), true))
	}
	if fc := cfg.Fleet; fc.Enabled() {
		errs = append(errs, secret(config.Secret{Key: "fleet.credentials_file", Name: fc.CredentialsFile,
			File: cfg.Resolve(fc.CredentialsFile), Env: "KIOSKD_FLEET_CREDENTIALS"}, false))
		if fc.CAFile != "" {
			if pem, err := os.ReadFile(cfg.Resolve(fc.CAFile)); err != nil {
				errs = append(errs, fmt.Errorf("fleet.ca_file: %w", err))
			} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("fleet.ca_file: %s holds no PEM certificate", fc.CAFile))
			}
		}
	}
	// A replay source lists its folder when opened; a V4L2 one touches
	// nothing until it runs (a missing camera is a fault it rides out).
	if strings.HasPrefix(cfg.Camera.Source, "dir:") || strings.HasPrefix(cfg.Camera.Source, "file:") {
		if _, err := scanner.Open(CameraOptions(cfg.Camera), scanner.SourceOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("camera.source: %w", err))
		}
	}
	errs = append(errs, preflightOutputs(cfg)) // handoff.go
	errs = append(errs, preflightPages(cfg))   // pages.go
	if st, err := os.Stat(cfg.StateDir); err == nil && !st.IsDir() {
		errs = append(errs, fmt.Errorf("state_dir: %s is not a folder", cfg.StateDir))
	}
	return errors.Join(errs...)
}
