// Package registry is the one shape of kioskd's plug-in tables: input kinds,
// outputs, HTTP pages and GPIO drivers each keep a Set filled by the init()
// of the packages that implement them (periph's model: a new kind is a new
// package and a blank import, with no switch to edit). A Set is written only
// during package initialisation and read afterwards, so it is the one kind
// of package-level state kioskd accepts.
package registry

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Set maps names to entries of one kind of part.
type Set[T any] struct {
	what string // "input kind", for messages
	mu   sync.RWMutex
	m    map[string]T
}

// New returns an empty Set; what names its entries in errors ("input kind").
func New[T any](what string) *Set[T] { return &Set[T]{what: what, m: map[string]T{}} }

// Register adds an entry. A duplicate or empty name is a programming error
// found at start-up, so it panics (it runs in init()).
func (s *Set[T]) Register(name string, v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" || strings.TrimSpace(name) != name {
		panic(fmt.Sprintf("registry: %s with a bad name %q", s.what, name))
	}
	if _, dup := s.m[name]; dup {
		panic(fmt.Sprintf("registry: %s %q registered twice", s.what, name))
	}
	s.m[name] = v
}

// Lookup returns the entry registered as name. The error lists what is
// registered, so a config naming a kind whose package was not linked in says
// which kinds this binary has.
func (s *Set[T]) Lookup(name string) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[name]
	if !ok {
		return v, fmt.Errorf("unknown %s %q (this kioskd has: %s)", s.what, name, strings.Join(s.namesLocked(), ", "))
	}
	return v, nil
}

// Names lists the registered names in order.
func (s *Set[T]) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.namesLocked()
}

func (s *Set[T]) namesLocked() []string {
	names := make([]string, 0, len(s.m))
	for n := range s.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
