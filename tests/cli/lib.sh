# Shared by the CLI tests (source it; it is not a test itself): a work folder removed on
# exit, children killed on exit, pass/fail counting, bounded waits, JSON field readers; for
# the gateway tests, dsrtpd started, checked and stopped, Python drivers run, ng with SDP
# files; the browser tests' setup.
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

# gw_launch LOG PORT_MIN PORT_MAX [dsrtpd options]: $DSRTPD (default $BUILD/dsrtpd) in the
# background, ng on $NG, HTTP on 127.0.0.1:$HTTP_PORT, media ports PORT_MIN..PORT_MAX, its log
# in LOG and stderr in LOG's name with .err for .log; DAEMON=its pid. 0 once it answers ping,
# 1 when it does not within 5 s or has ended.
gw_launch() {
    local log=$1 min=$2 max=$3
    shift 3
    "${DSRTPD:-$BUILD/dsrtpd}" --listen-ng "$NG" --listen-http "127.0.0.1:$HTTP_PORT" \
        --port-min "$min" --port-max "$max" --log "$log" "$@" 2>"${log%.log}.err" &
    DAEMON=$!
    gw_wait_ready && kill -0 "$DAEMON" 2>/dev/null
}

# gw_start N [dsrtpd options]: the usual gateway: NG_PORT HTTP_PORT MEDIA_BASE from
# gw_free_ports N, NG=127.0.0.1:$NG_PORT, LOG=$WORK/dsrtpd.log, then gw_launch with the N
# media ports, --interface 127.0.0.1 --timeout 30 and the options. 2 (nothing started) when
# there are no N free ports, else as gw_launch.
gw_start() {
    local n=$1
    shift
    read -r NG_PORT HTTP_PORT MEDIA_BASE < <(gw_free_ports "$n")
    NG=127.0.0.1:$NG_PORT
    LOG=$WORK/dsrtpd.log
    [ "${MEDIA_BASE:-0}" != 0 ] || return 2
    gw_launch "$LOG" "$MEDIA_BASE" $((MEDIA_BASE + n - 1)) --interface 127.0.0.1 --timeout 30 "$@"
}

# free_on_127_0_0_2 BASE N: 0 when UDP ports BASE..BASE+N-1 are free on 127.0.0.2 too
# (gw_free_ports checks 127.0.0.1 only; the two-interface tests bind both).
free_on_127_0_0_2() {
    ${PY:-/usr/bin/python3} - "$1" "$2" <<'PYEOF'
import socket, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
try:
    for p in range(base, base + n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", p)); socks.append(s)
except OSError:
    sys.exit(1)
finally:
    for s in socks: s.close()
PYEOF
}

# gw_alive PID [NAME [ERR]]: a check that the gateway PID still runs after the calls (when
# not, the last lines of ERR, default $WORK/dsrtpd.err); NAME (default dsrtpd) names it.
gw_alive() {
    local name=${2:-dsrtpd}
    if kill -0 "$1" 2>/dev/null; then
        pass "$name still running after the calls"
    else
        fail "$name died ($(tail -n 3 "${3:-$WORK/dsrtpd.err}" | tr '\n' ' '))"
    fi
}

# gw_stop PID [NAME]: SIGTERM to the gateway PID and a check that it exits 0 within 10 s;
# NAME (default dsrtpd) names it.
gw_stop() {
    local name=${2:-dsrtpd} rc
    kill -TERM "$1" 2>/dev/null
    wait_pid "$1" 10
    rc=$?
    [ $rc -eq 0 ] && pass "SIGTERM: $name exits 0" || fail "SIGTERM: $name exit $rc"
}

# run_driver SECONDS SCRIPT [ARGS]: the Python driver SCRIPT under $PY, killed after SECONDS;
# its output is shown and kept in $WORK/driver.out (stderr in $WORK/driver.err). Its ok/FAIL
# lines join this test's counts; a non-zero exit without any FAIL line is a failure too.
run_driver() {
    local limit=$1 script=$2 rc n_ok n_fail
    shift 2
    timeout -k 5 "$limit" "${PY:-/usr/bin/python3}" "$script" "$@" 2>"$WORK/driver.err" |
        tee "$WORK/driver.out"
    rc=${PIPESTATUS[0]}
    n_ok=$(grep -c '^ok ' "$WORK/driver.out")
    n_fail=$(grep -c '^FAIL ' "$WORK/driver.out")
    checks=$((checks + n_ok + n_fail))
    failures=$((failures + n_fail))
    if [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
        fail "$(basename "$script") exit $rc ($(tail -n 5 "$WORK/driver.err" | tr '\n' ' ' | cut -c1-400))"
    fi
    if [ "$n_fail" -ne 0 ] && [ -s "$WORK/driver.err" ]; then
        echo "# driver stderr (tail):"
        tail -n 15 "$WORK/driver.err" | sed 's/^/#   /'
    fi
}

# ng_sdp CALL COMMAND FLAGS IN OUT: an ng offer or answer for call-id CALL (from-tag CALL-a,
# an answer's to-tag CALL-b) with FLAGS (a JSON fragment) and the SDP of file IN; the reply's
# SDP goes to OUT, the reply to IN.ng.json. A check "CALL: ng COMMAND"; 1 when it failed.
ng_sdp() {
    local to=""
    [ "$2" = answer ] && to=",\"to-tag\":\"$1-b\""
    ng "{\"command\":\"$2\",\"call-id\":\"$1\",\"from-tag\":\"$1-a\"$to$3}" \
        --sdp-file "$4" --out-sdp "$5" >"$4.ng.json"
    grep -q '"result": "ok"' "$4.ng.json" && pass "$1: ng $2" ||
        { fail "$1: ng $2 ($(cut -c1-300 "$4.ng.json"))"; return 1; }
}

# browser_setup DIR: first thing in a browser test (it may exit or exec). Makes BUILD an
# absolute path, exports DSRTP_SOURCE_DIR=$SRC, sets CHROMIUM ($DSRTP_CHROMIUM, default
# Debian's /usr/bin/chromium: never a downloaded browser) and NODE_DIR=$BUILD/DIR (each
# browser test its own DIR: ctest -j may run them at once, and neither may rewrite files the
# other is loading or installing). A failure (exit 1) when chromium, node or npm is missing.
# Outside the network namespace (it has no route to the registry), npm installs
# playwright-core into NODE_DIR (no browser download) when it is not there, then the script
# runs again in a new network namespace with only lo when `unshare -n` works.
browser_setup() {
    BUILD=$(cd "$BUILD" && pwd)
    export DSRTP_SOURCE_DIR=$SRC
    CHROMIUM=${DSRTP_CHROMIUM:-/usr/bin/chromium}
    NODE_DIR=$BUILD/$1
    local missing=""
    [ -x "$CHROMIUM" ] || missing="$missing chromium($CHROMIUM)"
    command -v node >/dev/null 2>&1 || missing="$missing node"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    if [ -n "$missing" ]; then
        echo "FAIL - missing:$missing (scripts/deps.sh test installs chromium; node/npm come from nodejs)"
        exit 1
    fi
    [ -z "${DSRTP_BROWSER_NETNS:-}" ] || return 0
    mkdir -p "$NODE_DIR"
    cp "$SRC/tests/browser/package.json" "$SRC/tests/browser/call.mjs" "$NODE_DIR/"
    if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
        echo "# npm install playwright-core into $NODE_DIR (no browser download)"
        if ! (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
            timeout 60 npm install --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
            echo "FAIL - npm install playwright-core in $NODE_DIR:"
            tail -n 5 "$NODE_DIR/npm.log"
            exit 1
        fi
    fi
    if unshare -n true 2>/dev/null; then
        echo "# running the call in a network namespace with only lo"
        rm -rf "$WORK" # exec skips the EXIT trap; the run in the namespace makes its own
        exec env DSRTP_BROWSER_NETNS=1 unshare -n bash -c \
            'ip link set lo up && exec bash "$0" "$@"' "$0" "$BUILD"
    fi
    echo "# unshare -n is not available: running in the host network namespace"
}
