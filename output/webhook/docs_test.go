package webhook

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// snippet is the first fenced block after marker in docs/integrations.md.
func snippet(t *testing.T, marker string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- signature:"+marker+" -->")
	if !ok {
		t.Fatalf("no %s snippet in docs/integrations.md", marker)
	}
	_, rest, _ = strings.Cut(rest, "```")
	_, rest, _ = strings.Cut(rest, "\n") // the fence's language
	code, _, _ := strings.Cut(rest, "```")
	return code
}

// The signature checks that docs/integrations.md gives in other languages
// agree with Sign: they take kioskd's signatures and refuse a tampered
// body, another key and (those that check the time) a replay.
func TestDocumentedSignatureChecks(t *testing.T) {
	key := "till key from the file"
	body := []byte(`{"v":1,"id":"0123456789abcdef0123456789abcdef","holder":{"name":"Café ☕"}}`)
	now := time.Now()
	good := Sign([]byte(key), now, body)
	_, otherV1, _ := strings.Cut(Sign([]byte("another key"), now, body), ",")
	cases := []struct {
		name   string
		header string
		body   []byte
		want   string
		timed  bool // only for snippets that check the time
	}{
		{"kioskd's signature", good, body, "True", false},
		{"tampered body", good, bytes.Replace(body, []byte("Café"), []byte("Cafe"), 1), "False", false},
		{"another key", Sign([]byte("another key"), now, body), body, "False", false},
		{"replayed 10 minutes later", Sign([]byte(key), now.Add(-10*time.Minute), body), body, "False", true},
		{"rotation: a second v1 matching", Sign([]byte("another key"), now, body) + "," + strings.SplitN(good, ",", 2)[1], body, "True", true},
		{"rotation order", good + "," + otherV1, body, "True", true},
	}
	langs := []struct {
		name, bin string
		timed     bool
		run       func(code, dir string) *exec.Cmd
	}{
		{"python", "python3", true, func(code, _ string) *exec.Cmd {
			return exec.Command("python3", "-c", code+"\nimport os, sys\n"+
				"print(kioskd_signature_ok(os.environ['KEY'].encode(), os.environ['SIG'], sys.stdin.buffer.read()))\n")
		}},
		{"node", "node", true, func(code, _ string) *exec.Cmd {
			return exec.Command("node", "-e", code+"\nconst body = require('fs').readFileSync(0);\n"+
				"console.log(kioskdSignatureOk(process.env.KEY, process.env.SIG, body) ? 'True' : 'False');\n")
		}},
		{"sh", "openssl", false, func(code, dir string) *exec.Cmd {
			c := exec.Command("sh", "-c", "set -e\n"+code)
			c.Dir = dir
			return c
		}},
	}
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			if _, err := exec.LookPath(l.bin); err != nil {
				t.Skipf("%s not installed", l.bin)
			}
			code := snippet(t, l.name)
			for _, c := range cases {
				if c.timed && !l.timed {
					continue
				}
				dir := t.TempDir()
				os.WriteFile(filepath.Join(dir, "body.json"), c.body, 0o600)
				os.WriteFile(filepath.Join(dir, "till.key"), []byte(key+"\n"), 0o600)
				cmd := l.run(code, dir)
				cmd.Env = append(os.Environ(), "KEY="+key, "SIG="+c.header)
				cmd.Stdin = bytes.NewReader(c.body)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", c.name, err, out)
				}
				got := strings.TrimSpace(string(out))
				if l.name == "sh" { // two lines that must be equal
					lines := strings.Split(got, "\n")
					got = "False"
					if len(lines) == 2 && lines[0] == lines[1] && len(lines[0]) == 64 {
						got = "True"
					}
				}
				if got != c.want {
					t.Errorf("%s: %q, want %s", c.name, out, c.want)
				}
			}
		})
	}
}
