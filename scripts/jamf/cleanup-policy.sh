#!/bin/sh
# cleanup-policy.sh - the script of a Jamf Pro policy that runs cleanup's device half on this Mac (docs/jamf.md).
#
# Jamf passes $1 the mount point, $2 the computer name, $3 the user name; the admin sets $4-$11:
#   $4  mode      reset (default: the cause6 playbook) | dry-run | repair | a playbook name
#   $5  steps     all (default) | N | N-M (article step numbers: --from N --to M)
#   $6  wait      minutes of the wait after the deletes, 0-10080 (default: the playbook's, 30)
#   $7  notify    auto | none (telling the person at the Mac; default: cleanup's)
#   $8  restart text shown before the restart
#   $9  register text shown when the user must register
#   $10 deferrals times the user may defer the restart, 0-20
#   $11 extra options, only: --serial SN, --skip STEP (repeatable)
# Environment (the lab and tests): CLEANUP_BIN (the command that runs cleanup, split on spaces), CLEANUP_HOST
# (passed as --host), CLEANUP_STATE_DIR (default /Library/Application Support/cleanup), CLEANUP_POLICY_LOG.
# Exit status: 0 done or paused (the restart, the wait, the user's action: the log says which and what comes next),
# 1 failed, refused or bad input (the last line says why). An unfinished run of this Mac is resumed, never started
# again; a run that finished less than RECENT_HOURS ago is not started again either (mode repair: `cleanup repair`
# continues its own ladder; $7-$10 and --skip apply to reset and playbook modes).

set -u
umask 077

PYZ=/Library/Management/cleanup/cleanup.pyz
# the Mac's interpreters, in the order cleanup's --push-agent tries them (docs/deploy.md)
PYTHONS="/Library/ManagedFrameworks/Python/Python3.framework/Versions/Current/bin/python3 /usr/local/bin/managed_python3
/Library/Frameworks/Python.framework/Versions/3.14/bin/python3 /Library/Frameworks/Python.framework/Versions/3.13/bin/python3
/Library/Frameworks/Python.framework/Versions/3.12/bin/python3 /Library/Frameworks/Python.framework/Versions/3.11/bin/python3
/opt/homebrew/bin/python3 /usr/local/bin/python3 /usr/bin/python3"
RECENT_HOURS=24
MAX_TEXT=500
NL='
'

STATE_DIR=${CLEANUP_STATE_DIR:-/Library/Application Support/cleanup}
if [ -n "${CLEANUP_POLICY_LOG:-}" ]; then
    LOG=$CLEANUP_POLICY_LOG
elif [ -n "${CLEANUP_HOST:-}" ]; then
    LOG=$STATE_DIR/cleanup-policy.log # not a Mac's /var/log: the lab keeps it with the runs
else
    LOG=/var/log/cleanup-policy.log # Jamf Pro's policy log goes with the record step 4 deletes: this one stays
fi

# one line to Jamf's policy log (stdout) and, stamped, to $LOG
say() {
    printf '%s\n' "$1"
    [ -d "${LOG%/*}" ] || mkdir -p "${LOG%/*}" 2>/dev/null
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >>"$LOG" 2>/dev/null || :
}

fail() { # one line, whatever a parameter held
    say "cleanup-policy: $(printf '%s' "$1" | tr '\000-\037\177' '?')"
    exit 1
}

# the command that runs cleanup, in CLEANUP: CLEANUP_BIN, else cleanup on PATH, else a Python 3.11+ running $PYZ
find_cleanup() {
    if [ -n "${CLEANUP_BIN:-}" ]; then
        CLEANUP=$CLEANUP_BIN
        return 0
    fi
    if CLEANUP=$(command -v cleanup 2>/dev/null) && [ -n "$CLEANUP" ]; then
        return 0
    fi
    CLEANUP=
    [ -f "$PYZ" ] || return 1
    for py in $PYTHONS; do
        [ -x "$py" ] || continue
        # Apple's python3 is a stub that opens an install dialog unless the Command Line Tools are there
        [ "$py" != /usr/bin/python3 ] || /usr/bin/xcode-select -p >/dev/null 2>&1 || continue
        if "$py" -I -c 'import sys; sys.exit(sys.version_info < (3, 11))' </dev/null >/dev/null 2>&1; then
            CLEANUP="$py -I $PYZ"
            return 0
        fi
    done
    return 2
}

run_cleanup() {
    set -f
    # shellcheck disable=SC2086 # CLEANUP is a command line: split on purpose, never globbed
    PYTHONUNBUFFERED=1 $CLEANUP "$@"
}

is_digits() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
}

num() { # digits without leading zeros (sh arithmetic reads 08 as octal)
    printf '%s' "$1" | sed 's/^0*\(.\)/\1/'
}

plain_text() { # $1 name, $2 value: one line of at most MAX_TEXT characters
    case $2 in *[[:cntrl:]]*) fail "$1 holds a control character (a line break?); give one line of text" ;; esac
    case $2 in -*) fail "$1 begins with -: the dialog tools would take it for an option" ;; esac
    [ "${#2}" -le "$MAX_TEXT" ] || fail "$1 is longer than $MAX_TEXT characters"
}

# -- the parameters, every one checked before anything runs -------------------------------------------------

[ -z "${1:-}" ] || [ "$1" = / ] || fail "the target volume is $1, not /: cleanup acts on the running Mac only"
COMPUTER=$(printf '%s' "${2:-}" | tr -d '\000-\037\177')
CONSOLE=$(printf '%s' "${3:-}" | tr -d '\000-\037\177')
MODE=${4:-reset}
STEPS=${5:-all}
WAIT=${6:-}
NOTIFY=${7:-}
RESTART_TEXT=${8:-}
REGISTER_TEXT=${9:-}
DEFERRALS=${10:-}
EXTRA=${11:-}

case $MODE in
    reset) PLAYBOOK=cause6 ;;
    dry-run) PLAYBOOK=cause6 ;;
    repair) PLAYBOOK= ;;
    *[!a-z0-9_-]* | [!a-z0-9]*) fail "parameter 4 (mode) is '$MODE': reset, dry-run, repair or a playbook name (a-z, 0-9, - and _)" ;;
    *) PLAYBOOK=$MODE ;;
esac
[ "${#MODE}" -le 64 ] || fail "parameter 4 (mode) is longer than 64 characters"

SELECT=
case $STEPS in
    all) ;;
    *-*)
        FROM=${STEPS%%-*} TO=${STEPS#*-}
        is_digits "$FROM" && is_digits "$TO" && [ "${#FROM}" -le 2 ] && [ "${#TO}" -le 2 ] && [ "$(num "$FROM")" -le "$(num "$TO")" ] ||
            fail "parameter 5 (steps) is '$STEPS': all, a step number N or a range N-M with N <= M"
        SELECT="--from $(num "$FROM") --to $(num "$TO")"
        ;;
    *)
        is_digits "$STEPS" && [ "${#STEPS}" -le 2 ] || fail "parameter 5 (steps) is '$STEPS': all, a step number N or a range N-M"
        SELECT="--from $(num "$STEPS") --to $(num "$STEPS")"
        ;;
esac

WAIT_OPT=
if [ -n "$WAIT" ]; then
    is_digits "$WAIT" && [ "${#WAIT}" -le 5 ] && [ "$(num "$WAIT")" -le 10080 ] || fail "parameter 6 (wait) is '$WAIT': whole minutes, 0 to 10080 (7 days)"
    WAIT_OPT="--wait-seconds $(($(num "$WAIT") * 60))"
fi
case $NOTIFY in '' | auto | none) ;; *) fail "parameter 7 (notify) is '$NOTIFY': auto or none" ;; esac
plain_text "parameter 8 (restart text)" "$RESTART_TEXT"
plain_text "parameter 9 (register text)" "$REGISTER_TEXT"
if [ -n "$DEFERRALS" ]; then
    is_digits "$DEFERRALS" && [ "${#DEFERRALS}" -le 2 ] && [ "$(num "$DEFERRALS")" -le 20 ] ||
        fail "parameter 10 (deferrals) is '$DEFERRALS': a number of times, 0 to 20"
    DEFERRALS=$(num "$DEFERRALS")
fi

SERIAL='' SKIPS=''
set -f
want=
for word in $EXTRA; do
    case $want in
        --serial)
            case $word in *[!A-Z0-9]*) fail "parameter 11: --serial $word is not an Apple serial number (8-14 upper-case letters and digits)" ;; esac
            [ "${#word}" -ge 8 ] && [ "${#word}" -le 14 ] || fail "parameter 11: --serial $word is not an Apple serial number (8-14 letters and digits)"
            SERIAL=$word want= ;;
        --skip)
            case $word in *[!a-z0-9-]* | '' | -*) fail "parameter 11: --skip $word is not a step number or id" ;; esac
            SKIPS="$SKIPS --skip $word" want= ;;
        *)
            case $word in
                --serial | --skip) want=$word ;;
                *) fail "parameter 11 holds '$word': only --serial SN and --skip STEP are allowed" ;;
            esac ;;
    esac
done
set +f
[ -z "$want" ] || fail "parameter 11: $want needs a value"
if [ "$MODE" = repair ] || [ "$MODE" = dry-run ]; then
    [ -z "$SKIPS" ] || fail "parameter 11: --skip does not apply to mode $MODE"
fi
[ "$MODE" != repair ] || [ -z "$SELECT" ] || fail "parameter 5 (steps) does not apply to mode repair: leave it empty or all"
if [ "$MODE" = repair ] && [ -n "$NOTIFY$RESTART_TEXT$REGISTER_TEXT$DEFERRALS" ]; then
    fail "parameters 7-10 (notify, texts, deferrals) do not apply to mode repair: leave them empty"
fi

find_cleanup
case $? in
    1) fail "cleanup is not installed: no CLEANUP_BIN, no cleanup on PATH, no $PYZ" ;;
    2) fail "no Python 3.11 or later to run $PYZ (looked for: $(printf '%s' "$PYTHONS" | tr '\n' ' '))" ;;
esac
export CLEANUP_STATE_DIR="$STATE_DIR"
VERSION=$(run_cleanup --version 2>&1) || fail "cleanup ($CLEANUP) does not run: $(printf '%s' "$VERSION" | tail -n 1)"

# -- resume, do nothing, or start -----------------------------------------------------------------------------

HOST=${CLEANUP_HOST:-local}
HOST_OPT=${CLEANUP_HOST:+--host}
TOKEN=cleanup-policy-exit-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# the latest run of the state folder: a top-level key of `cleanup status --latest --json` (indent 4)
latest_field() {
    printf '%s\n' "$LATEST" | sed -n "s/^    \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n 1
}

# the run folders of the state folder (run ids: letters, digits and -)
run_ids() {
    [ -d "$STATE_DIR/runs" ] || return 0
    for dir in "$STATE_DIR"/runs/*; do
        id=${dir##*/}
        case $id in *[!A-Za-z0-9-]* | '') continue ;; esac
        printf '%s\n' "$id"
    done
}

RESUME=''
if [ "$MODE" != dry-run ] && [ "$MODE" != repair ]; then # `cleanup repair` continues its own ladder
    LATEST=$(run_cleanup status --latest --json 2>/dev/null) || LATEST=
    LAST_ID=$(latest_field run_id)
    case $LAST_ID in *[!A-Za-z0-9-]* | '') LAST_ID= ;; esac
    if [ -n "$LAST_ID" ] && [ "$(latest_field host)" = "$HOST" ]; then
        case $(latest_field status) in
            running | paused | failed) RESUME=$LAST_ID ;;
            done)
                UPDATED=$(latest_field updated)
                UPDATED=${UPDATED%%.*}
                if is_digits "$UPDATED" && [ $(($(date +%s) - UPDATED)) -lt $((RECENT_HOURS * 3600)) ]; then
                    say "cleanup-policy: $COMPUTER: run $LAST_ID finished at $(date -u -r "$UPDATED" +%H:%MZ 2>/dev/null || date -u -d "@$UPDATED" +%H:%MZ) less than $RECENT_HOURS h ago; nothing to do (no new run)"
                    exit 0
                fi ;;
        esac
    fi
fi

set -f
set --
[ -z "$NOTIFY" ] || set -- --notify "$NOTIFY"
[ -z "$RESTART_TEXT" ] || set -- "$@" --notify-text "restart=$RESTART_TEXT"
[ -z "$REGISTER_TEXT" ] || set -- "$@" --notify-text "register=$REGISTER_TEXT"
[ -z "$DEFERRALS" ] || set -- "$@" --deferrals "$DEFERRALS"
# shellcheck disable=SC2086 # the checked options above are words without spaces
if [ -n "$RESUME" ]; then
    set -- resume "$RESUME" --yes $HOST_OPT ${CLEANUP_HOST:+"$CLEANUP_HOST"} $WAIT_OPT $SKIPS "$@"
elif [ "$MODE" = dry-run ]; then
    set -- plan --playbook "$PLAYBOOK" --only device $SELECT $HOST_OPT ${CLEANUP_HOST:+"$CLEANUP_HOST"} ${SERIAL:+--serial} ${SERIAL:+"$SERIAL"}
elif [ "$MODE" = repair ]; then
    set -- repair --only device --yes $HOST_OPT ${CLEANUP_HOST:+"$CLEANUP_HOST"} $WAIT_OPT ${SERIAL:+--serial} ${SERIAL:+"$SERIAL"}
else
    set -- run --playbook "$PLAYBOOK" --only device --yes $SELECT $HOST_OPT ${CLEANUP_HOST:+"$CLEANUP_HOST"} \
        $WAIT_OPT ${SERIAL:+--serial} ${SERIAL:+"$SERIAL"} $SKIPS "$@"
fi
set +f
BEFORE=$(run_ids | tr '\n' ' ')

SHOWN_WAIT=${WAIT:+$WAIT min} SHOWN_NOTIFY=${NOTIFY:-default}
say "cleanup-policy: $COMPUTER (console user ${CONSOLE:-none}): mode $MODE, steps $STEPS, wait ${SHOWN_WAIT:-as the playbook}, notify $SHOWN_NOTIFY; $VERSION"
if [ -n "$RESUME" ]; then
    say "cleanup-policy: resuming run $RESUME of this Mac (it is not started again; the steps it began with stay)"
else
    say "cleanup-policy: cleanup $*"
fi

# the run this invocation created, once its folder is there
new_run_id() {
    for id in $(run_ids); do
        case " $BEFORE " in *" $id "*) continue ;; esac
        printf '%s\n' "$id"
        return 0
    done
}

# a run or resume names one run; a repair may run several (its rungs) and a dry-run none: those lines stay untagged
case $MODE in dry-run | repair) TAG='' ;; *) TAG=yes ;; esac

# cleanup's lines, each tagged with the run id once known (lines before the run exists wait for it), then the
# last line: what happened and what comes next; exits 0 (done, paused) or 1
relay() {
    rid=$RESUME pending='' pause='' error='' rc=''
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in *"$TOKEN "*)
            rc=${line##*"$TOKEN "}
            line=${line%%"$TOKEN "*}
            [ -n "$line" ] || continue ;;
        esac
        case $line in
            "paused: "*) pause=${line#paused: } ;;
            "error: "*) [ -n "$error" ] || error=${line#error: } ;;
        esac
        [ -n "$rid" ] || [ -z "$TAG" ] || rid=$(new_run_id)
        if [ -z "$rid" ] && [ -n "$TAG" ]; then
            pending="$pending$line$NL"
            continue
        fi
        if [ -n "$pending" ]; then
            printf '%s' "$pending" | while IFS= read -r held; do say "[$rid] $held"; done
            pending=''
        fi
        say "${rid:+[$rid] }$line"
    done
    [ -n "$rid" ] || [ -z "$TAG" ] || rid=$(new_run_id)
    [ -z "$pending" ] || printf '%s' "$pending" | while IFS= read -r held; do say "${rid:+[$rid] }$held"; done
    if [ -n "$TAG" ]; then what="run $rid" again="it resumes run $rid"; else what="the $MODE" again="cleanup repair goes on"; fi
    case $rc in
        0)
            if [ "$MODE" = dry-run ]; then say "cleanup-policy: dry-run done: nothing was changed"; else say "cleanup-policy: $what: done"; fi
            return 0 ;;
        3)
            case $pause in
                "the Mac is restarting"*)
                    if [ -n "${CLEANUP_HOST:-}" ]; then
                        next="the Mac restarts; run this policy again once it is back: $again"
                    else
                        next="the Mac restarts; the run resumes at boot through the LaunchDaemon (its log: /var/log/cleanup-resume.log)"
                    fi ;;
                "waiting until"*) next="this policy run again after that time: $again" ;;
                *) next="once that is done, this policy run again: $again" ;;
            esac
            say "cleanup-policy: paused, not failed: $what: $pause; next: $next"
            return 0 ;;
        4)
            case $error in *"another cleanup run is acting on "*)
                say "cleanup-policy: $what is in progress in another process ($error); nothing to do"
                return 0 ;;
            esac ;;
    esac
    say "cleanup-policy: failed (cleanup exit ${rc:-unknown}): ${error:-see the lines above}"
    return 1
}

{
    run_cleanup "$@" 2>&1
    printf '%s %s\n' "$TOKEN" "$?"
} | relay
