package scenarios

// Suggest is the candidate s is most likely a typo of, or "" when none is
// close enough: the scenario loader's "did you mean", for the command line.
func Suggest(s string, candidates []string) string { return suggest(s, candidates) }

// BuiltInNames are the names of the built-in suites, sorted.
func BuiltInNames() []string { return builtinNames() }
