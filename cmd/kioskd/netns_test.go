package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// netPeer is a network namespace of the test's own, joined to the host by a
// veth pair: the host side has hostIP (kioskd listens there), the namespace
// side peerIP (the client). Traffic never leaves the pair.
type netPeer struct {
	ns, hostIP, peerIP string
}

// newNetPeer makes the namespace and the pair, removed when the test ends
// (also on failure). It skips the test without root or without iproute2.
func newNetPeer(t *testing.T) *netPeer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace (ip netns add); CI runs this as root")
	}
	ipBin, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs ip (iproute2) to make a network namespace")
	}
	ip := func(args ...string) error {
		if out, err := exec.Command(ipBin, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return nil
	}
	// A random /30 in 10.200.0.0/16 that no interface uses: tests of other
	// packages (or other checkouts) may run beside this one.
	used, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var sub net.IP
	for range 100 {
		cand := net.IPv4(10, 200, byte(rand.N(256)), byte(rand.N(64)*4)).To4()
		free := true
		for _, a := range used {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.To4().Mask(net.CIDRMask(30, 32)).Equal(cand) {
				free = false
			}
		}
		if free {
			sub = cand
			break
		}
	}
	if sub == nil {
		t.Fatal("no free /30 in 10.200.0.0/16")
	}
	id := fmt.Sprintf("%06x", rand.N(1<<24))
	p := &netPeer{ns: "kdt-" + id,
		hostIP: net.IPv4(sub[0], sub[1], sub[2], sub[3]+1).String(),
		peerIP: net.IPv4(sub[0], sub[1], sub[2], sub[3]+2).String()}
	vh, vn := "kdh"+id, "kdn"+id
	t.Cleanup(func() {
		// Deleting the namespace deletes its end of the pair and so the pair.
		_ = ip("link", "del", vh)
		_ = ip("netns", "del", p.ns)
	})
	for _, args := range [][]string{
		{"netns", "add", p.ns},
		{"link", "add", vh, "type", "veth", "peer", "name", vn, "netns", p.ns},
		{"addr", "add", p.hostIP + "/30", "dev", vh},
		{"link", "set", vh, "up"},
		{"-n", p.ns, "addr", "add", p.peerIP + "/30", "dev", vn},
		{"-n", p.ns, "link", "set", vn, "up"},
		{"-n", p.ns, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// The namespace's client is this test binary run again inside it (no curl
// needed): TestMain hands over to netnsGet when these are set.
const (
	netnsURLEnv   = "KIOSKD_TEST_NETNS_URL"
	netnsHostEnv  = "KIOSKD_TEST_NETNS_HOST"
	netnsTokenEnv = "KIOSKD_TEST_NETNS_TOKEN"
)

// get sends one GET from inside the namespace, with the Host header and
// bearer token given ("" for none), and returns the status and body.
func (p *netPeer) get(t *testing.T, url, host, token string) (int, string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", p.ns, os.Args[0])
	cmd.Env = append(os.Environ(), netnsURLEnv+"="+url, netnsHostEnv+"="+host, netnsTokenEnv+"="+token)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("client in %s: %v: %s", p.ns, err, stderr)
	}
	first, body, _ := strings.Cut(string(out), "\n")
	code, err := strconv.Atoi(first)
	if err != nil {
		t.Fatalf("client in %s: %q", p.ns, out)
	}
	return code, body
}

// netnsGet is the client's side: it prints the status line's code, a
// newline and the body. It returns the exit code.
func netnsGet() int {
	req, err := http.NewRequest("GET", os.Getenv(netnsURLEnv), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if h := os.Getenv(netnsHostEnv); h != "" {
		req.Host = h
	}
	if tok := os.Getenv(netnsTokenEnv); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Printf("%d\n%s", resp.StatusCode, body)
	return 0
}
