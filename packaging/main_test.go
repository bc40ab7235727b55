package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestDebVersion(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"v1.2.3", "1.2.3", true},
		{"1.2.3", "1.2.3", true},
		{"v1.2.3-dirty", "1.2.3.dirty", true},
		{"v1.2.3-rc1", "1.2.3~rc1", true},
		{"v1.2.3-4-gabc1234", "1.2.3+git4.abc1234", true},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+git4.abc1234.dirty", true},
		{"v1.2.3-rc1-2-gabc1234", "1.2.3~rc1+git2.abc1234", true},
		{"abc1234", "0~git.abc1234", true},
		{"1a2b3c4-dirty", "0~git.1a2b3c4.dirty", true},
		{"dev", "0~dev", true},
		{"", "", false},
		{"release candidate", "", false},
		{"v1.2.3; rm -rf /", "", false},
	}
	for _, tc := range tests {
		got, err := DebVersion(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("DebVersion(%q) = %q, %v; want %q (ok=%v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestDebVersionOrder checks with dpkg itself that the versions sort the way
// the releases happened, so apt upgrades and never downgrades.
func TestDebVersionOrder(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not installed")
	}
	order := []string{"abc1234", "v1.2.3-rc1", "v1.2.3-rc1-2-gabc1234", "v1.2.3", "v1.2.3-4-gabc1234", "v1.10.0"}
	for i := 1; i < len(order); i++ {
		a, _ := DebVersion(order[i-1])
		b, _ := DebVersion(order[i])
		if err := exec.Command(dpkg, "--compare-versions", a, "lt", b).Run(); err != nil {
			t.Errorf("dpkg does not sort %s (%s) before %s (%s)", a, order[i-1], b, order[i])
		}
	}
}

// TestBuild packages a stand-in binary for every target and reads the
// result back with dpkg-deb: the files, their modes, the conffile, the
// maintainer scripts and the control fields.
func TestBuild(t *testing.T) {
	dpkgDeb, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Skip("dpkg-deb not installed")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dist := t.TempDir()
	for _, tg := range Targets() {
		if err := os.WriteFile(filepath.Join(dist, "kioskd_linux_"+tg.Name), []byte("#!/bin/sh\necho "+tg.Name+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, tg := range Targets() {
		t.Run(tg.Name, func(t *testing.T) {
			out, err := Build("..", dist, "v1.2.3-4-gabc1234", tg)
			if err != nil {
				t.Fatal(err)
			}
			if seen[out] {
				t.Fatalf("two targets wrote %s", out)
			}
			seen[out] = true
			want := "kioskd_1.2.3+git4.abc1234_" + tg.DebArch
			if tg.Variant != "" {
				want += "_" + tg.Variant
			}
			if filepath.Base(out) != want+".deb" {
				t.Errorf("file name %s, want %s.deb", filepath.Base(out), want)
			}

			field := func(name string) string {
				b, err := exec.Command(dpkgDeb, "--field", out, name).Output()
				if err != nil {
					t.Fatalf("dpkg-deb --field %s: %v", name, err)
				}
				return strings.TrimSpace(string(b))
			}
			for name, want := range map[string]string{
				"Package": "kioskd", "Version": "1.2.3+git4.abc1234", "Architecture": tg.DebArch, "Depends": "adduser",
			} {
				if got := field(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}

			list, err := exec.Command(dpkgDeb, "--contents", out).Output()
			if err != nil {
				t.Fatalf("dpkg-deb --contents: %v", err)
			}
			for _, want := range []string{
				"-rwxr-xr-x root/root .* ./usr/bin/kioskd",
				"-rw-r--r-- root/root .* ./lib/systemd/system/kioskd.service",
				"-rw-r--r-- root/root .* ./etc/kioskd/kioskd.yaml",
				"-rw-r--r-- root/root .* ./usr/share/doc/kioskd/operations.md",
			} {
				if !matchLine(string(list), want) {
					t.Errorf("contents lack %q:\n%s", want, list)
				}
			}

			ctl := t.TempDir()
			if b, err := exec.Command(dpkgDeb, "--control", out, ctl).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb --control: %v\n%s", err, b)
			}
			conffiles, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
			if err != nil || strings.TrimSpace(string(conffiles)) != "/etc/kioskd/kioskd.yaml" {
				t.Errorf("conffiles = %q, %v", conffiles, err)
			}
			for _, s := range []string{"postinst", "prerm", "postrm"} {
				st, err := os.Stat(filepath.Join(ctl, s))
				if err != nil || st.Mode()&0o111 == 0 {
					t.Errorf("maintainer script %s missing or not executable: %v", s, err)
				}
			}
			postinst, _ := os.ReadFile(filepath.Join(ctl, "postinst"))
			for _, want := range []string{"adduser --system --group", "for g in video gpio", "adduser kioskd \"$g\"", "/etc/kioskd/credentials"} {
				if !bytes.Contains(postinst, []byte(want)) {
					t.Errorf("postinst lacks %q", want)
				}
			}

			data := t.TempDir()
			if b, err := exec.Command(dpkgDeb, "--extract", out, data).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb --extract: %v\n%s", err, b)
			}
			bin, _ := os.ReadFile(filepath.Join(data, "usr/bin/kioskd"))
			if !bytes.Contains(bin, []byte("echo "+tg.Name)) {
				t.Errorf("/usr/bin/kioskd is not the %s build", tg.Name)
			}
			unit, _ := os.ReadFile(filepath.Join(data, "lib/systemd/system/kioskd.service"))
			repoUnit, _ := os.ReadFile("../systemd/kioskd.service")
			if len(unit) == 0 || !bytes.Equal(unit, repoUnit) {
				t.Error("packaged unit differs from systemd/kioskd.service")
			}
		})
	}
	if err := writeSums(dist); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "-c", "SHA256SUMS")
		cmd.Dir = dist
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
}

// TestReproducible: the same inputs and SOURCE_DATE_EPOCH give the same bytes.
func TestReproducible(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var sums [2][]byte
	for i := range sums {
		dist := t.TempDir()
		if err := os.WriteFile(filepath.Join(dist, "kioskd_linux_arm64"), []byte("binary"), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := Build("..", dist, "v1.0.0", Target{Name: "arm64", DebArch: "arm64"})
		if err != nil {
			t.Fatal(err)
		}
		if sums[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Fatal("two builds of the same inputs differ")
	}
}

func TestBuildMissingBinary(t *testing.T) {
	_, err := Build("..", t.TempDir(), "v1.0.0", Target{Name: "arm64", DebArch: "arm64"})
	if err == nil || !strings.Contains(err.Error(), "make dist") {
		t.Fatalf("got %v", err)
	}
}

func TestMaintainerScriptsParse(t *testing.T) {
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if b, err := exec.Command("sh", "-n", filepath.Join("deb", s)).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, b)
		}
	}
}

func matchLine(text, pattern string) bool {
	re := mustRE(pattern)
	for _, l := range strings.Split(text, "\n") {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

func mustRE(p string) *regexp.Regexp { return regexp.MustCompile(p) }

// FuzzDebVersion: whatever git describe prints, the result is either an
// error or a version dpkg accepts (starts with a digit, allowed characters).
func FuzzDebVersion(f *testing.F) {
	for _, s := range []string{"v1.2.3", "v1.2.3-4-gabc1234-dirty", "abc1234", "dev", "v1.2.3-rc1", "", "v", "1..2"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := DebVersion(s)
		if err != nil {
			return
		}
		if !valid.MatchString(v) {
			t.Fatalf("DebVersion(%q) = %q: not a Debian upstream version", s, v)
		}
	})
}

func TestSelectTargets(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", []string{"amd64", "arm64", "armv7", "armv6"}, true},
		{"amd64", []string{"amd64"}, true},
		{"armv6, amd64", []string{"amd64", "armv6"}, true},
		{"amd64,mips", nil, false},
	}
	for _, tt := range tests {
		got, err := selectTargets(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		var names []string
		for _, tg := range got {
			names = append(names, tg.Name)
		}
		if strings.Join(names, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q: %v, want %v", tt.in, names, tt.want)
		}
	}
}
