package scenarios

// Parse reads one file's bytes as LoadFile does, without the file system,
// for the fuzz target.
func Parse(file string, data []byte, opt Options) (*Suite, error) {
	s, probs := parse(file, data, opt)
	checkDuplicates(s.Scenarios, &probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	setSuite(s)
	return s, nil
}
