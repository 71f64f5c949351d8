package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is Debian's chromium, headless, driven over the DevTools protocol
// (chromedp). One browser serves a whole test package; each Session is a fresh
// browser context with its own cookies, like a private window.
type Browser struct {
	ctx context.Context
}

// chromiumPath finds Debian's chromium.
func chromiumPath() (string, bool) {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if fileExists(p) {
			return p, true
		}
	}
	p, err := exec.LookPath("chromium")
	return p, err == nil
}

// StartBrowser starts chromium headless with a fresh profile and stops it when
// the test ends. Without chromium the test is skipped, or fails under
// STRAIT_E2E=1.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	path, ok := chromiumPath()
	if !ok {
		SkipUnlessE2E(t, "chromium is not installed (apt-get install chromium)")
	}
	profile, err := os.MkdirTemp("", "strait-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // tests run as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		os.RemoveAll(profile)
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		os.RemoveAll(profile)
	})
	return &Browser{ctx: ctx}
}

// Tab is one page of a browser session.
type Tab struct {
	t   testing.TB
	ctx context.Context
}

// Session opens a tab in a new browser context (no cookies shared with other
// sessions), 1280 px wide; it is closed when the test ends.
func (b *Browser) Session(t testing.TB) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first call opens the tab, which lives as long as the context of that
	// call: no timeout on it.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("opening a browser tab: %v", err)
	}
	return &Tab{t: t, ctx: ctx}
}

// Do runs actions, failing the test (with the page's URL) on an error or after
// a minute.
func (p *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browser at %s: %v", p.URL(), err)
	}
}

// URL is the page's address.
func (p *Tab) URL() string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	u, _ := chromedp.Run(ctx, chromedp.Location())
	return u
}

// Eval evaluates a JavaScript expression and decodes its value into out (nil
// to ignore it).
func (p *Tab) Eval(expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err != nil {
		p.t.Fatalf("browser at %s: evaluating %s: %v", p.URL(), expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(v, out); err != nil {
			p.t.Fatalf("evaluating %s: %v (%s)", expr, err, v)
		}
	}
}

// Go opens a URL and waits until the page has loaded.
func (p *Tab) Go(url string) {
	p.t.Helper()
	p.Do(chromedp.Navigate(url))
	p.waitLoaded()
}

func (p *Tab) waitLoaded() {
	p.t.Helper()
	// Evaluations fail while the page navigates; try until the new one is there.
	Eventually(p.t, time.Minute, "the page to load", func() error {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !window.__straitOldPage`))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("still loading %s", p.URL())
		}
		return nil
	})
}

// Fill types text into an input or textarea (replacing what is there).
func (p *Tab) Fill(css, text string) {
	p.t.Helper()
	p.Do(chromedp.WaitVisible(chromedp.CSS(css)))
	p.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = ""; e.focus(); return true })()`, jsString(css)), nil)
	p.Do(chromedp.SendKeys(chromedp.CSS(css), text))
}

// Select chooses an option of a select by value, as a user would (the change
// event fires).
func (p *Tab) Select(css, value string) {
	p.t.Helper()
	p.Do(chromedp.WaitVisible(chromedp.CSS(css)))
	p.Eval(fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s; if (s.value !== %[2]s) throw new Error("no option " + %[2]s); s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`,
		jsString(css), jsString(value)), nil)
}

// SelectSubmit chooses an option of a select that submits its form when
// changed, and waits for the page that loads.
func (p *Tab) SelectSubmit(css, value string) {
	p.t.Helper()
	p.Eval(`window.__straitOldPage = true`, nil)
	p.Select(css, value)
	p.waitLoaded()
}

// Attr is the value of an attribute of the first element that matches css ("" if none).
func (p *Tab) Attr(css, name string) string {
	p.t.Helper()
	var s string
	p.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? (e.getAttribute(%s) || "") : "" })()`, jsString(css), jsString(name)), &s)
	return s
}

// Check ticks (or unticks) a checkbox by clicking it.
func (p *Tab) Check(css string, on bool) {
	p.t.Helper()
	var checked bool
	p.Eval(fmt.Sprintf(`document.querySelector(%s).checked`, jsString(css)), &checked)
	if checked != on {
		p.Do(chromedp.Click(chromedp.CSS(css)))
	}
}

// Click clicks an element without waiting for anything after.
func (p *Tab) Click(css string) {
	p.t.Helper()
	p.Do(chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css)))
}

// Submit clicks a button or link that loads a page and waits for the new page.
func (p *Tab) Submit(css string) {
	p.t.Helper()
	p.Do(chromedp.WaitVisible(chromedp.CSS(css)))
	p.Eval(`window.__straitOldPage = true`, nil)
	p.Do(chromedp.Click(chromedp.CSS(css)))
	p.waitLoaded()
}

// Text is the visible text of the first element that matches css.
func (p *Tab) Text(css string) string {
	p.t.Helper()
	var s string
	p.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : "" })()`, jsString(css)), &s)
	return s
}

// WaitText waits until the text of css contains want (the page's own refresh
// updates it; nothing here reloads), and returns the text.
func (p *Tab) WaitText(css, want string, timeout time.Duration) string {
	p.t.Helper()
	var got string
	Eventually(p.t, timeout, fmt.Sprintf("%q in %s at %s", want, css, p.URL()), func() error {
		got = p.Text(css)
		if !strings.Contains(got, want) {
			return fmt.Errorf("the text is %q", got)
		}
		return nil
	})
	return got
}

// Screenshot saves a PNG of the whole page, width wide (the viewport is set
// back to 1280 after).
func (p *Tab) Screenshot(path string, width int64) {
	p.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		p.t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot of %s: %v", p.URL(), err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.Do(chromedp.EmulateViewport(1280, 900))
}

// Cookies are the page's cookies as the browser sends them, with their flags.
func (p *Tab) Cookies() string {
	p.t.Helper()
	var s string
	p.Eval(`document.cookie`, &s)
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Screenshot saves a PNG of the page, width pixels wide, named name: into the
// directory $STRAIT_SCREENSHOTS when it is set (docs/console, to update the
// README's pictures), else into a temporary directory.
func Screenshot(t testing.TB, p *Tab, name string, width int64) {
	t.Helper()
	dir := os.Getenv("STRAIT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	p.Screenshot(filepath.Join(dir, name), width)
}
