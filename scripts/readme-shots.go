//go:build ignore

// readme-shots takes the README's pictures of the HTML report in headless
// Chromium: each argument is FILE.html#ANCHOR=OUT.png, a 1280-wide view of
// the page scrolled to the anchor (to its top without one). It runs the
// page's script, so a packed report's case named by the anchor is
// unpacked first. scripts/readme-shots.sh makes the reports and calls it.
//
//	go run scripts/readme-shots.go bin/demo.html#case-2-step-7=docs/demo-javascript-login.png
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/enrollsim/enrollsim/sim/chromium"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "readme-shots:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	bin, err := chromium.Find("")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "readme-shots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := append(chromium.QuietFlags(bin), chromedp.UserDataDir(dir), chromedp.WindowSize(1280, 1300))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, a := range args {
		page, out, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q: want FILE.html#ANCHOR=OUT.png", a)
		}
		file, anchor, _ := strings.Cut(page, "#")
		abs, err := filepath.Abs(file)
		if err != nil {
			return err
		}
		steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate("file://" + abs)}
		if anchor != "" {
			steps = append(steps, chromedp.WaitVisible(chromedp.CSS("#"+anchor)))
		}
		if err := chromedp.Do(ctx, steps...); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		if anchor != "" {
			js := fmt.Sprintf("document.getElementById(%q).scrollIntoView(), true", anchor)
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
				return fmt.Errorf("%s: %w", a, err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
			return err
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", out)
	}
	return nil
}
