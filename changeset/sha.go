package changeset

// ShortSHA is a commit SHA as people read it: its first 12 characters.
func ShortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
