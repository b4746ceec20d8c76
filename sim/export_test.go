package sim

// NumForms is how many secret forms r holds itself (not its parent's), for
// the test that a finished case leaves none behind in the run's redactor.
func (r *Redactor) NumForms() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.forms)
}
