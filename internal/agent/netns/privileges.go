package netns

// CheckPrivileges reports, wrapping ErrNeedRoot, what keeps this process from
// running the netns data plane (capabilities, the ip program), without
// changing anything: a server checks it before it touches its data directory.
func CheckPrivileges() error { return checkPrivileges() }
