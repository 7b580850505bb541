package web

import "github.com/debugz/debugz/internal/view"

// activePage lists the RPCs in flight at "/active".
type activePage struct {
	page
	Active []view.Active
}
