package assembly

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/store"
)

// OpenFleet builds the fleet from the kiosk id, the fleet: section, the
// policy, the credentials file (or KIOSKD_FLEET_CREDENTIALS) and the CA
// file, over o, which supplies what a config cannot: Store (required),
// Logger, OnDoubleEntry and the other hooks. It returns (nil, nil) when no
// broker is configured, after telling the store to stop queueing
// redemptions for the fleet (fleet.Leave keeps those never published).
func OpenFleet(c *config.Config, o fleet.Options) (*fleet.Fleet, error) {
	fc := c.Fleet
	log := orDiscard(o.Logger)
	st, ok := o.Store.(*store.Store)
	if !ok {
		return nil, fmt.Errorf("fleet: the assembler's fleet needs the kiosk's store, not %T", o.Store)
	}
	if !fc.Enabled() {
		return nil, fleet.Leave(st, log)
	}
	o.Kiosk, o.Broker, o.TopicPrefix, o.QoS = c.KioskID, fc.Broker, fc.TopicPrefix, byte(fc.QoS)
	o.SessionExpiry, o.StatusInterval = fc.SessionExpiry, fc.StatusInterval
	o.Policy = fleet.Policy{Reuse: string(c.Policy.Reuse), Cooldown: c.Policy.Cooldown, Visits: VisitRule(c.Policy.Visits)}
	creds, warn, err := config.ReadSecret(config.Secret{
		Key: "fleet.credentials_file", Name: fc.CredentialsFile, File: c.Resolve(fc.CredentialsFile), Env: "KIOSKD_FLEET_CREDENTIALS",
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if warn != "" {
		log.Warn(warn)
	}
	if creds != "" {
		if o.Username, o.Password, err = fleet.ParseCredentials(creds); err != nil {
			return nil, fmt.Errorf("fleet.credentials_file: %w", err)
		}
	}
	if fc.CAFile != "" {
		pem, err := config.ReadFile(c.Resolve(fc.CAFile), config.MaxPEMBytes)
		if err != nil {
			return nil, fmt.Errorf("fleet.ca_file %s: %w", fc.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet.ca_file: %s holds no PEM certificate", fc.CAFile)
		}
		o.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	f, err := fleet.New(o)
	if err != nil {
		return nil, err
	}
	// Queue from now on, even for redemptions made before Run connects.
	if err := st.EnableFleetOutbox(); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return f, nil
}
