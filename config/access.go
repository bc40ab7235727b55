package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxRequiredTokens bounds the token ids all requirements name together: the
// sync pages each token's owners separately, at least one request (one API
// credit) per token per sync.
const MaxRequiredTokens = 1000

// Access gates entry on holding BitBadges badges (tokens of a collection),
// decided offline from the owners the sync pages into the cache. No
// requirement: any valid code is enough, as before.
type Access struct {
	Require []Requirement `yaml:"require"`
	// Match is "all" (every requirement must be met) or "any" (one is enough).
	Match string `yaml:"match"`
	// MaxOwnersAge: owners data older than this is stale; 0 = never. The
	// owners are fetched by the same sync as the codes, so this is usually
	// policy.max_cache_age or tighter for a pass that can be revoked.
	MaxOwnersAge time.Duration `yaml:"max_owners_age"`
	// StaleOwners says what a gated scan does when the owners data is
	// missing (never synced for this requirement) or older than
	// MaxOwnersAge: "reject", or "warn" (decide from what is there, accept
	// what it cannot decide, and flag the verdict).
	StaleOwners string `yaml:"stale_owners"`
}

// Requirement is one badge a visitor must hold.
type Requirement struct {
	// Name is shown on the screen, in status and in events.
	Name         string `yaml:"name"`
	CollectionID string `yaml:"collection_id"`
	// TokenIDs are inclusive ranges; holding any mix of them counts.
	TokenIDs []TokenRange `yaml:"token_ids"`
	// MinAmount is how many of those tokens together are needed; default 1.
	MinAmount uint64 `yaml:"min_amount"`
}

// TokenRange is an inclusive range of token ids. In YAML: 5, "5", "1-10" or
// {start: 1, end: 10}.
type TokenRange struct {
	Start uint64 `yaml:"start"`
	End   uint64 `yaml:"end"`
}

// UnmarshalYAML accepts a number, "a-b", or a {start, end} mapping.
func (r *TokenRange) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		type plain TokenRange
		var p plain
		if err := n.Decode(&p); err != nil {
			return err
		}
		*r = TokenRange(p)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a token id range is a number, \"a-b\" or {start, end}", n.Line)
	}
	lo, hi, isRange := strings.Cut(strings.TrimSpace(n.Value), "-")
	a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
	if err != nil {
		return fmt.Errorf("line %d: token id %q is not a whole number", n.Line, n.Value)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 64); err != nil {
			return fmt.Errorf("line %d: token id range %q is not \"a-b\"", n.Line, n.Value)
		}
	}
	*r = TokenRange{Start: a, End: b}
	return nil
}

// String is the range as written in the config ("5" or "1-10").
func (r TokenRange) String() string {
	if r.Start == r.End {
		return strconv.FormatUint(r.Start, 10)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End)
}

// Key identifies what the sync fetched for a requirement: its collection
// and token ids. The name is not part of it (renaming changes nothing).
func (q Requirement) Key() string {
	ids := make([]string, len(q.TokenIDs))
	for i, r := range q.TokenIDs {
		ids[i] = r.String()
	}
	return q.CollectionID + ":" + strings.Join(ids, ",")
}

func defaultAccess() Access {
	return Access{Match: "all", StaleOwners: "reject"}
}

// Gated reports whether any requirement is configured.
func (a *Access) Gated() bool { return len(a.Require) > 0 }

func (a *Access) validate() error {
	switch a.Match {
	case "all", "any":
	default:
		return keyErr("access.match", "must be all or any, not %q", a.Match)
	}
	switch a.StaleOwners {
	case "reject", "warn":
	default:
		return keyErr("access.stale_owners", "must be reject or warn, not %q", a.StaleOwners)
	}
	if a.MaxOwnersAge < 0 {
		return keyErr("access.max_owners_age", "must not be negative")
	}
	names := map[string]bool{}
	var total uint64
	for i := range a.Require {
		q := &a.Require[i]
		key := fmt.Sprintf("access.require[%d]", i)
		if strings.TrimSpace(q.Name) == "" {
			return keyErr(key+".name", "must not be empty")
		}
		if len(q.Name) > 64 {
			return keyErr(key+".name", "must be at most 64 characters (it is shown on the screen)")
		}
		if names[q.Name] {
			return keyErr(key+".name", "%q is used twice", q.Name)
		}
		names[q.Name] = true
		if _, err := strconv.ParseUint(q.CollectionID, 10, 64); err != nil || q.CollectionID == "0" {
			return keyErr(key+".collection_id", "must be a positive whole number (BitBadges collection ids are numbers), not %q", q.CollectionID)
		}
		if len(q.TokenIDs) == 0 {
			return keyErr(key+".token_ids", "must list at least one token id or range")
		}
		rs := slices.Clone(q.TokenIDs)
		slices.SortFunc(rs, func(x, y TokenRange) int { return cmpU(x.Start, y.Start) })
		for j, r := range rs {
			if r.Start == 0 {
				return keyErr(key+".token_ids", "token ids start at 1")
			}
			if r.End < r.Start {
				return keyErr(key+".token_ids", "range %d-%d ends before it starts", r.Start, r.End)
			}
			if j > 0 && r.Start <= rs[j-1].End {
				return keyErr(key+".token_ids", "ranges %s and %s overlap", rs[j-1], r)
			}
			total += r.End - r.Start + 1
			if total > MaxRequiredTokens || r.End-r.Start >= MaxRequiredTokens {
				return keyErr(key+".token_ids", "all requirements together may name at most %d token ids "+
					"(each costs at least one request per sync)", MaxRequiredTokens)
			}
		}
		q.TokenIDs = rs
		if q.MinAmount == 0 {
			q.MinAmount = 1
		}
	}
	return nil
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
