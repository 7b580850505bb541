package web

// activePage lists the RPCs in flight at "/active".
type activePage struct {
	page
	Active []Active
}
