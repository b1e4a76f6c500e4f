package chromium

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Page is one tab of a Browser, attached with its own session. It is
// used from the test's goroutine only.
type Page struct {
	b       *Browser
	Session string
	first   int // index in b.Events of the page's first event
}

// Open opens url in a new 1200×900 tab and waits for it to load.
func (b *Browser) Open(t testing.TB, url string) *Page {
	t.Helper()
	res, err := b.Call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = b.Call("", "Target.attachToTarget", map[string]any{"targetId": res["targetId"], "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	p := &Page{b: b, Session: res["sessionId"].(string), first: len(b.Events)}
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		if _, err := b.Call(p.Session, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Call(p.Session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		t.Fatal(err)
	}
	mark := len(b.Events) // about:blank's own load may come before
	if _, err := b.Call(p.Session, "Page.navigate", map[string]any{"url": url}); err != nil {
		t.Fatal(err)
	}
	if err := b.waitEventAfter(mark, p.Session, "Page.loadEventFired"); err != nil {
		t.Fatalf("%s: %v\nbrowser log:\n%s", url, err, b.Log())
	}
	// The load event may still be about:blank's: wait for the page's.
	want, _ := json.Marshal(url)
	if err := p.WaitFor("location.href === " + string(want) + ` && document.readyState === "complete"`); err != nil {
		t.Fatalf("%s: %v\nbrowser log:\n%s", url, err, b.Log())
	}
	return p
}

// waitEventAfter waits for an event of a session among those after the
// first mark events.
func (b *Browser) waitEventAfter(mark int, session, method string) error {
	for _, e := range b.Events[mark:] {
		if e["method"] == method && e["sessionId"] == session {
			return nil
		}
	}
	timeout := time.After(Timeout)
	for {
		select {
		case m, ok := <-b.msgs:
			if !ok {
				return fmt.Errorf("the browser closed the pipe")
			}
			if m["id"] == nil {
				b.Events = append(b.Events, m)
				if m["method"] == method && m["sessionId"] == session {
					return nil
				}
			}
		case <-timeout:
			return fmt.Errorf("no %s in %v", method, Timeout)
		}
	}
}

// ConsoleErrors lists the console errors, uncaught exceptions and error
// log entries of the page so far.
func (p *Page) ConsoleErrors() []string {
	var out []string
	for _, e := range p.b.Events[p.first:] {
		if e["sessionId"] != p.Session {
			continue
		}
		m, _ := e["params"].(map[string]any)
		switch e["method"] {
		case "Runtime.consoleAPICalled":
			if m["type"] == "error" || m["type"] == "assert" {
				out = append(out, fmt.Sprint(m["args"]))
			}
		case "Runtime.exceptionThrown":
			out = append(out, fmt.Sprint(m["exceptionDetails"]))
		case "Log.entryAdded":
			if entry, _ := m["entry"].(map[string]any); entry["level"] == "error" {
				out = append(out, fmt.Sprintf("%v: %v", entry["source"], entry["text"]))
			}
		}
	}
	return out
}

// Eval runs a script in the page and decodes the JSON of its value into
// v. The script's value must be JSON-encodable; promises are awaited.
func (p *Page) Eval(expr string, v any) error {
	res, err := p.b.Call(p.Session, "Runtime.evaluate", map[string]any{
		"expression": "JSON.stringify((" + expr + "))", "returnByValue": true, "awaitPromise": true})
	if err != nil {
		return err
	}
	if ex, ok := res["exceptionDetails"]; ok {
		return fmt.Errorf("script %q failed: %v", expr, ex)
	}
	r, _ := res["result"].(map[string]any)
	s, _ := r["value"].(string)
	if v == nil {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// WaitFor evaluates cond (a script giving true or false) until it is
// true, at most Timeout. The browser is asked again after each answer,
// so the wait follows the page rather than a fixed sleep.
func (p *Page) WaitFor(cond string) error {
	deadline := time.Now().Add(Timeout)
	for {
		var ok bool
		if err := p.Eval("!!("+cond+")", &ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still false after %v", cond, Timeout)
		}
		// Let the page run: a round trip through the browser's own timer.
		if err := p.Eval("new Promise(r => setTimeout(() => r(1), 100))", nil); err != nil {
			return err
		}
	}
}

// Key presses and releases a key ("Tab", "Enter", "ArrowRight", " ") in
// the page, as the keyboard would.
func (p *Page) Key(key string) error {
	code, vk := key, 0
	text := ""
	switch key {
	case "Tab":
		vk = 9
	case "Enter":
		vk, text = 13, "\r"
	case " ":
		code, vk, text = "Space", 32, " "
	case "ArrowLeft":
		vk = 37
	case "ArrowRight":
		vk = 39
	}
	down := map[string]any{"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
	if text != "" {
		down["text"] = text
	}
	if _, err := p.b.Call(p.Session, "Input.dispatchKeyEvent", down); err != nil {
		return err
	}
	_, err := p.b.Call(p.Session, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": code,
		"windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk})
	return err
}

// Screenshot saves a PNG of the page as a test artifact, in
// $STAMPEDE_ARTIFACTS when set, else in a directory under the system's
// temporary one that outlives the test; it logs where.
func (p *Page) Screenshot(t testing.TB, name string) string {
	t.Helper()
	res, err := p.b.Call(p.Session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := base64.StdEncoding.DecodeString(fmt.Sprint(res["data"]))
	if err != nil {
		t.Fatal(err)
	}
	dir := ArtifactDir(t)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

var (
	unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

	artifactsOnce sync.Once
	artifactsRoot string
	artifactsErr  error
)

// ArtifactDir is where a test keeps what a person may want to look at
// after it ran: $STAMPEDE_ARTIFACTS/<test name>, or a new directory
// under the system's temporary one (kept, not removed with the test).
func ArtifactDir(t testing.TB) string {
	t.Helper()
	name := unsafeName.ReplaceAllString(strings.ReplaceAll(t.Name(), "/", "-"), "_")
	artifactsOnce.Do(func() {
		if artifactsRoot = os.Getenv("STAMPEDE_ARTIFACTS"); artifactsRoot == "" {
			artifactsRoot, artifactsErr = os.MkdirTemp("", "stampede-artifacts-")
		}
	})
	if artifactsErr != nil {
		t.Fatal(artifactsErr)
	}
	dir := filepath.Join(artifactsRoot, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
