# Shared by the CLI tests (source it; it is not a test itself): a work folder removed on
# exit, children killed on exit, pass/fail counting, bounded waits, JSON field readers.
# Usage: source "$SRC/tests/cli/lib.sh" NAME   (NAME names the work folder)

failures=0
checks=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dsrtp-${1:-test}.XXXXXX")

# Only this shell's own children that are still running: jobs -p lists exactly those.
cleanup() {
    local p
    for p in $(jobs -p); do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { checks=$((checks + 1)); echo "ok   - $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL - $1"; }

# A string or number field of the last JSON line in file $1 (compact or spaced JSON).
json_str() { sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p" "$1" | tail -n 1; }
json_val() { sed -n "s/.*\"$2\": *\([0-9a-z.]*\).*/\1/p" "$1" | tail -n 1; }

# Waits up to $2 seconds for pid $1 to end; its exit status, or 124 after killing it.
wait_pid() {
    local pid=$1 limit=$(($2 * 10)) i
    for ((i = 0; i < limit; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            return $?
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
}

# wait_file FILE [SECONDS [PID]]: 0 once FILE exists; 1 after SECONDS (default 15) or as
# soon as PID (if given) has ended.
wait_file() {
    local i limit=$((${2:-15} * 10))
    for ((i = 0; i < limit; i++)); do
        [ -f "$1" ] && return 0
        if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# For the gateway tests: prints a free UDP port (ng), a free TCP port (HTTP) and the base of
# $1 consecutive free UDP ports (even, for media), all on 127.0.0.1; 0 as base when none.
gw_free_ports() {
    ${PY:-/usr/bin/python3} - "$1" <<'PYEOF'
import random, socket, sys
n = int(sys.argv[1])
def free(kind):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]; s.close(); return p
def block():
    for _ in range(200):
        base = random.randrange(20000, 59000, 2)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", p)); socks.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in socks: s.close()
    return 0
print(free(socket.SOCK_DGRAM), free(socket.SOCK_STREAM), block())
PYEOF
}

# ng JSON [ng_client.py options]: one ng request to the gateway on $NG (set by the test).
ng() { ${PY:-/usr/bin/python3} "$SRC/tests/peers/ng_client.py" "$NG" "$@"; }

# Waits up to 5 s for the gateway on $NG to answer ping; 1 when it never does.
gw_wait_ready() {
    local i
    for ((i = 0; i < 50; i++)); do
        ng '{"command":"ping"}' --timeout 0.2 2>/dev/null | grep -q pong && return 0
        sleep 0.1
    done
    return 1
}
