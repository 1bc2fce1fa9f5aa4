// Package gitauth hands git its credentials the one way this project
// allows: an HTTP Authorization header in git's environment, never in a
// URL, on a command line or in a repository's config.
package gitauth

// Env is the environment that makes git send authorization (an HTTP
// Authorization header value, such as ghclient's GitAuthorization) with
// every request. It is nil for "". The caller's environment must hold no
// other GIT_CONFIG_COUNT entries.
func Env(authorization string) []string {
	if authorization == "" {
		return nil
	}
	return []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: " + authorization}
}
