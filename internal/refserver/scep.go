package refserver

import "net/http"

// scepRoutes serves the SCEP endpoint of the profile's
// com.apple.security.scep payload (issue 14, item 5).
func (s *Server) scepRoutes(mux *http.ServeMux) {}
