// Package e2e holds the service's end-to-end tests: real webhook payloads,
// signed and posted over HTTP to the real handler, handled by the bot's
// workers on a real store, built by ci from git repositories served by the
// GitHub emulator, and reported to that emulator.
package e2e
