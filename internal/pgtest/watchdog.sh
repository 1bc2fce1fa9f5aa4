# The keeper of a test binary's PostgreSQL: it runs initdb, then postgres,
# in a temporary directory, and removes the directory once the server has
# stopped.
#
# It stops the server when its standard input reaches end of file. The test
# binary holds the only writing end of that pipe and never writes to it, so
# end of file comes when the binary closes it (pgtest.Main) or ends in any
# other way, killed included: a postmaster never outlives its test binary,
# and neither does its directory.
#
# Usage: sh ROOT/watchdog.sh ROOT INITDB POSTGRES [ARG...]
# The cluster is ROOT/data; the ARGs are postgres's.
set -u
root=$1 initdb=$2
shift 2

# Output goes to a pipe the test binary reads. Once the binary has gone, a
# write there must fail rather than kill the writer mid-shutdown.
trap '' PIPE

pid='' stop=''
# SIGINT is a fast shutdown for postgres, and makes initdb remove what it
# wrote so far.
trap 'stop=1; [ -z "$pid" ] || kill -INT "$pid" 2>/dev/null' TERM

# An asynchronous list reads /dev/null, not the shell's standard input:
# the pipe is handed to the reader on another descriptor.
exec 3<&0
{
	read -r _ <&3 || :
	kill -TERM $$ 2>/dev/null
} &
reader=$!
exec 3<&-

# run runs a command until it exits, stopping it if the binary goes
# meanwhile. A trapped signal interrupts wait, hence the loop.
run() {
	"$@" </dev/null &
	pid=$!
	[ -z "$stop" ] || kill -INT "$pid" 2>/dev/null
	while :; do
		wait "$pid"
		status=$?
		kill -0 "$pid" 2>/dev/null || break
	done
	pid=''
	return "$status"
}

status=0
[ -n "$stop" ] || run "$initdb" -D "$root/data" -U postgres -A trust -E UTF8 --locale=C --no-sync --no-instructions >&2 || status=$?
[ -n "$stop" ] || [ "$status" -ne 0 ] || run "$@" || status=$?
kill "$reader" 2>/dev/null
rm -rf "$root"
exit "$status"
