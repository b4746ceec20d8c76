// Command gendocs writes enrollsim's man pages (cobra's doc generator) and
// shell completion files into a directory, for release archives:
//
//	go run ./scripts/gendocs dist/docs
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra/doc"

	"github.com/enrollsim/enrollsim/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/gendocs DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	root := cli.NewRoot(cli.NewFactory("dev"))
	root.DisableAutoGenTag = true // the pages stay the same from one build to the next
	man := filepath.Join(dir, "man")
	comp := filepath.Join(dir, "completion")
	for _, d := range []string{man, comp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenManTree(root, &doc.GenManHeader{Title: "ENROLLSIM", Section: "1"}, man); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	for name, gen := range map[string]func(string) error{
		"enrollsim.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
		"_enrollsim":     root.GenZshCompletionFile,
		"enrollsim.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
		"enrollsim.ps1":  root.GenPowerShellCompletionFileWithDesc,
	} {
		if err := gen(filepath.Join(comp, name)); err != nil {
			return fmt.Errorf("completion %s: %w", name, err)
		}
	}
	return nil
}
