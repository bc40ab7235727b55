package status

import (
	"time"

	"github.com/kioskd/kioskd/verify"
)

// Access is badge-gated entry: the requirements with their holder counts
// and the age of the owners data they are decided from (apart from the
// codes' age: a venue may want them fresher).
type Access struct {
	Match        string    `json:"match"` // all or any
	OwnersSynced time.Time `json:"owners_synced"`
	OwnersAge    Duration  `json:"owners_age"`
	// OwnersStale: missing for a requirement, or older than access.max_owners_age.
	OwnersStale  bool                       `json:"owners_stale"`
	Owners       int                        `json:"owners"`
	Requirements []verify.RequirementStatus `json:"requirements"`
}
