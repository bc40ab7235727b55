// Command packaging builds kioskd's .deb packages from release binaries,
// with nfpm as a library (no hand-written ar/tar). `make dist` runs it after
// cross-compiling the binaries into dist/:
//
//	go run ./packaging -root . -dist dist -version "$(git describe --always --dirty)"
//
// It lives in its own module so that nfpm's dependencies never enter the
// daemon's go.mod: nothing here runs on a kiosk.
//
// Each package installs:
//
//	/usr/bin/kioskd                          the static binary
//	/lib/systemd/system/kioskd.service       systemd/kioskd.service
//	/etc/kioskd/kioskd.yaml                  configs/kioskd.yaml (a conffile: kept on upgrade)
//	/usr/share/doc/kioskd/operations.md      docs/operations.md
//
// and its postinst creates the kioskd system user (groups video and gpio)
// and the root-only /etc/kioskd/credentials folder. Packages are
// reproducible: file times come from SOURCE_DATE_EPOCH (the Makefile sets
// it to the commit time).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Target is one release build and the Debian architecture it installs on.
type Target struct {
	Name    string // the binary's suffix in dist/: kioskd_linux_<Name>
	DebArch string // dpkg --print-architecture on the kiosk
	Variant string // distinguishes two packages of one DebArch ("" if alone)
}

// Targets are the release builds, in the Makefile's order.
//
// Both 32-bit ARM builds are armhf to dpkg. Raspberry Pi OS's armhf is
// ARMv6 (Pi 1, Zero, Zero W) and needs the armv6 build; Debian's own armhf
// is ARMv7, where the armv7 build is a little faster.
func Targets() []Target {
	return []Target{
		{Name: "amd64", DebArch: "amd64"},
		{Name: "arm64", DebArch: "arm64"},
		{Name: "armv7", DebArch: "armhf", Variant: "armv7"},
		{Name: "armv6", DebArch: "armhf", Variant: "armv6"},
	}
}

func main() {
	root := flag.String("root", ".", "repository root (where systemd/, configs/ and docs/ are)")
	dist := flag.String("dist", "dist", "folder with the kioskd_linux_<target> binaries; packages are written here")
	version := flag.String("version", "", "version, as from git describe --always --dirty (required)")
	only := flag.String("targets", "", "comma-separated targets to package (amd64,arm64,armv7,armv6); empty = all")
	flag.Parse()
	if *version == "" {
		fmt.Fprintln(os.Stderr, "packaging: -version is required")
		os.Exit(2)
	}
	targets, err := selectTargets(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(2)
	}
	for _, t := range targets {
		out, err := Build(*root, *dist, *version, t)
		if err != nil {
			fmt.Fprintln(os.Stderr, "packaging:", err)
			os.Exit(1)
		}
		fmt.Println(out)
	}
	if err := writeSums(*dist); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(1)
	}
}

// selectTargets returns the targets named in a comma-separated list, in
// Targets' order; an empty list is all of them.
func selectTargets(list string) ([]Target, error) {
	all := Targets()
	if list == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		want[strings.TrimSpace(n)] = true
	}
	var out []Target
	for _, t := range all {
		if want[t.Name] {
			out = append(out, t)
			delete(want, t.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("-targets: unknown target %q (known: amd64, arm64, armv7, armv6)", n)
	}
	return out, nil
}

// Build writes the .deb for one target into dist and returns its path.
func Build(root, dist, version string, t Target) (string, error) {
	bin := filepath.Join(dist, "kioskd_linux_"+t.Name)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("building the %s package: %w (run make dist)", t.Name, err)
	}
	v, err := DebVersion(version)
	if err != nil {
		return "", err
	}
	in := func(p string) string { return filepath.Join(root, p) }
	info := &nfpm.Info{
		Name:          "kioskd",
		Arch:          t.DebArch,
		Platform:      "linux",
		Version:       v,
		VersionSchema: "none", // DebVersion already made it a valid Debian version
		Section:       "misc",
		Priority:      "optional",
		Maintainer:    "kioskd developers <kioskd@localhost>",
		Description: "offline-capable QR code verifier for doors and check-in kiosks\n" +
			"kioskd reads BitBadges authentication codes from a V4L2 camera, checks\n" +
			"them against a local cache refreshed from the BitBadges API, and answers\n" +
			"on GPIO (LEDs, buzzer, door relay). It keeps working offline for days.",
		Overridables: nfpm.Overridables{
			Depends: []string{"adduser"},
			Contents: files.Contents{
				{Source: bin, Destination: "/usr/bin/kioskd", FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: in("systemd/kioskd.service"), Destination: "/lib/systemd/system/kioskd.service", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				// The config holds no secrets (they are in credentials/), so it
				// may be world-readable; dpkg keeps local edits on upgrade.
				{Source: in("configs/kioskd.yaml"), Destination: "/etc/kioskd/kioskd.yaml", Type: files.TypeConfigNoReplace, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: in("docs/operations.md"), Destination: "/usr/share/doc/kioskd/operations.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
			},
			Scripts: nfpm.Scripts{
				PostInstall: in("packaging/deb/postinst"),
				PreRemove:   in("packaging/deb/prerm"),
				PostRemove:  in("packaging/deb/postrm"),
			},
			Deb: nfpm.Deb{Compression: "xz"}, // smaller downloads to a Pi on a slow link
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("preparing the %s package: %w", t.Name, err)
	}
	name := fmt.Sprintf("kioskd_%s_%s.deb", v, t.DebArch)
	if t.Variant != "" {
		name = fmt.Sprintf("kioskd_%s_%s_%s.deb", v, t.DebArch, t.Variant)
	}
	out := filepath.Join(dist, name)
	f, err := os.Create(out)
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", out, err)
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(out)
		return "", fmt.Errorf("packaging %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", out, err)
	}
	return out, nil
}

var (
	// v1.2.3, v1.2.3-rc1, then git describe's -N-gHASH and -dirty.
	describeRE = regexp.MustCompile(`^v?([0-9][0-9A-Za-z.+~]*?)(?:-(rc[0-9A-Za-z.]*|alpha[0-9A-Za-z.]*|beta[0-9A-Za-z.]*))?(?:-([0-9]+)-g([0-9a-f]+))?(-dirty)?$`)
	// A bare abbreviated hash (a repository without tags), maybe dirty.
	hashRE = regexp.MustCompile(`^([0-9a-f]{4,40})(-dirty)?$`)
)

// DebVersion turns `git describe --always --dirty` output into a Debian
// version that sorts the way releases happened:
//
//	v1.2.3            -> 1.2.3
//	v1.2.3-rc1        -> 1.2.3~rc1         (before 1.2.3)
//	v1.2.3-4-gabc123  -> 1.2.3+git4.abc123 (after 1.2.3)
//	abc123            -> 0~git.abc123      (no tag yet: before any release)
//	...-dirty         -> ....dirty
func DebVersion(describe string) (string, error) {
	d := strings.TrimSpace(describe)
	if d == "dev" { // the Makefile's fallback outside a git checkout
		return "0~dev", nil
	}
	if m := hashRE.FindStringSubmatch(d); m != nil && !strings.HasPrefix(d, "v") && !isAllDigits(m[1]) {
		return "0~git." + m[1] + dirty(m[2]), nil
	}
	m := describeRE.FindStringSubmatch(d)
	if m == nil {
		return "", fmt.Errorf("version %q: not a git describe output (vX.Y.Z[-N-gHASH][-dirty] or a hash)", describe)
	}
	v := m[1]
	if m[2] != "" {
		v += "~" + m[2]
	}
	if m[3] != "" {
		v += "+git" + m[3] + "." + m[4]
	}
	return v + dirty(m[5]), nil
}

func dirty(s string) string {
	if s != "" {
		return ".dirty"
	}
	return ""
}

func isAllDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// writeSums writes SHA256SUMS for every binary and package in dist, in the
// format `sha256sum -c` reads.
func writeSums(dist string) error {
	entries, err := os.ReadDir(dist)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dist, err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasPrefix(n, "kioskd_")) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return errors.New("nothing to checksum in " + dist)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f, err := os.Open(filepath.Join(dist, n))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("hashing %s: %w", n, err)
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), n)
	}
	return os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(b.String()), 0o644)
}
