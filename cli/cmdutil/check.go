package cmdutil

// IfGiven checks value with check (validate.Slug, validate.ServerName, ...) unless it is
// "": an optional flag or argument that was not given.
func IfGiven(check func(string) error, value string) error {
	if value == "" {
		return nil
	}
	return check(value)
}
