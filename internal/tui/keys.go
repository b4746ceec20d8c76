package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key the step-through answers.
type keyMap struct {
	Next, All, Restart, Tab, Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	NextX, PrevX, Expand, Help, Quit, Scroll                         key.Binding
	Skip, Pick, Summary                                              key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Next:     key.NewBinding(key.WithKeys("enter", "n"), key.WithHelp("n/enter", "next step")),
		All:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all")),
		Restart:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart")),
		Tab:      key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "pane")),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", " ", "f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end", "bottom")),
		NextX:    key.NewBinding(key.WithKeys("]"), key.WithHelp("[/]", "prev/next exchange")),
		PrevX:    key.NewBinding(key.WithKeys("["), key.WithHelp("[", "previous exchange")),
		Expand:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "expand ▸")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Skip:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "skip case")),
		Pick:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cases")),
		Summary:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "summary")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		// Scroll only labels up and down in the short help.
		Scroll: key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "scroll")),
	}
}

// ShortHelp is the footer line.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.All, k.Skip, k.Pick, k.Restart, k.Quit, k.Help, k.Tab, k.Scroll, k.Expand}
}

// FullHelp is shown with ?.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Next, k.All, k.Restart, k.Quit},
		{k.Skip, k.Pick, k.Summary},
		{k.Tab, k.Up, k.Down, k.Help},
		{k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.NextX, k.Expand},
	}
}
