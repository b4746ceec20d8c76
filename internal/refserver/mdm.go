package refserver

import "net/http"

// mdmRoutes serves check-in (CheckInURL) and connect (ServerURL) (issue 14,
// item 5).
func (s *Server) mdmRoutes(mux *http.ServeMux) {}
