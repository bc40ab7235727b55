// Package cdp drives a headless Chromium over the DevTools protocol on a
// pipe (--remote-debugging-pipe: NUL-terminated JSON on the child's fds 3
// and 4), for tests of the pages kioskd serves: no WebSocket library, no
// debugging port. It is test support, like internal/mosquitto: a test that
// cannot find Chromium skips.
package cdp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// Browser is one headless Chromium of a test.
type Browser struct {
	in      *os.File // we write, Chromium reads (its fd 3)
	out     *os.File // Chromium writes (its fd 4), we read
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan reply
	done    chan struct{}
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Start starts a headless Chromium with a window of width x height, kept off
// the network but for the URLs the test opens; the test's cleanup closes it.
// It skips the test when Chromium is not installed.
func Start(t testing.TB, width, height int) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skip("headless Chromium test skipped: " + ChromiumPath + " is absent (apt-get install chromium)")
	}
	chromeIn, weWrite, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	weRead, chromeOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ChromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height),
		"--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{chromeIn, chromeOut}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	chromeIn.Close()
	chromeOut.Close()
	b := &Browser{in: weWrite, out: weRead, waiting: map[int]chan reply{}, done: make(chan struct{})}
	go b.readLoop() // ends when Chromium closes its end of the pipe
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.call(ctx, "", "Browser.close", nil, nil)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		weWrite.Close()
		weRead.Close()
		<-b.done
		if t.Failed() {
			s := stderr.String()
			if len(s) > 2000 {
				s = s[len(s)-2000:]
			}
			t.Logf("Chromium stderr (tail): %s", s)
		}
	})
	return b
}

func (b *Browser) readLoop() {
	defer close(b.done)
	r := bufio.NewReader(b.out)
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID int `json:"id"`
			reply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue // an event: not used
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		delete(b.waiting, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.reply
		}
	}
}

// call sends one DevTools command (to a page when session is set) and
// decodes its result into out.
func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.in.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			return fmt.Errorf("%s: %s", method, rep.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(rep.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: Chromium went away", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
}

// Open loads url in a new tab.
func (b *Browser) Open(ctx context.Context, url string) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	return &Page{b: b, session: att.SessionID}, nil
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// into out (promises are awaited).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if err != nil {
		return err
	}
	if e := res.ExceptionDetails; e != nil {
		return fmt.Errorf("evaluating %q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// WaitTrue evaluates expr every 20 ms until it is true or ctx ends.
func (p *Page) WaitTrue(ctx context.Context, expr string) error {
	var last error
	for {
		var ok bool
		last = p.Eval(ctx, "!!("+expr+")", &ok)
		if last == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", expr, ctx.Err(), last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Type types text into the focused element one key at a time, as a
// keyboard-wedge scanner does, then presses Enter when enter is set.
func (p *Page) Type(ctx context.Context, text string, enter bool) error {
	for _, r := range text {
		s := string(r)
		if err := p.b.call(ctx, p.session, "Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "text": s, "key": s, "unmodifiedText": s}, nil); err != nil {
			return err
		}
		if err := p.b.call(ctx, p.session, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": s}, nil); err != nil {
			return err
		}
	}
	if !enter {
		return nil
	}
	enterKey := map[string]any{"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
	down := map[string]any{"type": "keyDown", "text": "\r", "unmodifiedText": "\r"}
	for k, v := range enterKey {
		down[k] = v
	}
	if err := p.b.call(ctx, p.session, "Input.dispatchKeyEvent", down, nil); err != nil {
		return err
	}
	up := map[string]any{"type": "keyUp"}
	for k, v := range enterKey {
		up[k] = v
	}
	return p.b.call(ctx, p.session, "Input.dispatchKeyEvent", up, nil)
}

// Screenshot returns a PNG of the page's viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := p.b.call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Data)
}
