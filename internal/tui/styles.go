package tui

import (
	"io"
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles are the model's lipgloss styles. Colours are the terminal's own
// 16-colour palette, so they follow its theme; with colour off (NO_COLOR, not
// a terminal, tests) every style renders plain text.
type styles struct {
	r *lipgloss.Renderer

	plain, title, titleRight, dim, bold, heading, accent lipgloss.Style
	pass, warn, fail, info, running, pending             lipgloss.Style
	border, borderFocus                                  lipgloss.Style
	selected, marker, status, key, desc                  lipgloss.Style
}

func newStyles(out io.Writer, color bool) styles {
	if out == nil {
		out = os.Stdout
	}
	r := lipgloss.NewRenderer(out)
	if !color {
		r.SetColorProfile(termenv.Ascii)
	}
	// The 16 ANSI colours never need the background query, which would
	// race with the program for the terminal's input.
	r.SetHasDarkBackground(true)
	c := func(n string) lipgloss.TerminalColor { return lipgloss.Color(n) }
	s := styles{r: r}
	s.plain = r.NewStyle()
	s.title = r.NewStyle().Bold(true).Reverse(true)
	s.titleRight = r.NewStyle().Reverse(true)
	s.dim = r.NewStyle().Faint(true)
	s.bold = r.NewStyle().Bold(true)
	s.heading = r.NewStyle().Bold(true).Foreground(c("4"))
	s.accent = r.NewStyle().Foreground(c("6"))
	s.pass = r.NewStyle().Foreground(c("2"))
	s.warn = r.NewStyle().Foreground(c("3"))
	s.fail = r.NewStyle().Foreground(c("1")).Bold(true)
	s.info = r.NewStyle().Foreground(c("4"))
	s.running = r.NewStyle().Foreground(c("6")).Bold(true)
	s.pending = r.NewStyle().Faint(true)
	s.border = r.NewStyle().Faint(true)
	s.borderFocus = r.NewStyle().Foreground(c("6"))
	s.selected = r.NewStyle().Reverse(true)
	s.marker = r.NewStyle().Foreground(c("6")).Bold(true)
	s.status = r.NewStyle().Bold(true)
	s.key = r.NewStyle().Bold(true)
	s.desc = r.NewStyle().Faint(true)
	return s
}
