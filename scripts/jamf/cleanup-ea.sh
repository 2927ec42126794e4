#!/bin/sh
# cleanup-ea.sh - a Jamf Pro extension attribute: this Mac's Entra registration as cleanup sees it, one
# <result>...</result> line (docs/jamf.md lists the values and the smart groups to build on them).
# Read-only, the Mac only (never the cloud). Environment (the lab and tests): CLEANUP_BIN (the command that runs
# cleanup, split on spaces), CLEANUP_HOST (passed as --host).

set -u

PYZ=/Library/Management/cleanup/cleanup.pyz
# the Mac's interpreters, in the order cleanup's --push-agent tries them (docs/deploy.md)
PYTHONS="/Library/ManagedFrameworks/Python/Python3.framework/Versions/Current/bin/python3 /usr/local/bin/managed_python3
/Library/Frameworks/Python.framework/Versions/3.14/bin/python3 /Library/Frameworks/Python.framework/Versions/3.13/bin/python3
/Library/Frameworks/Python.framework/Versions/3.12/bin/python3 /Library/Frameworks/Python.framework/Versions/3.11/bin/python3
/opt/homebrew/bin/python3 /usr/local/bin/python3 /usr/bin/python3"

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

find_cleanup
case $? in
    1)
        echo "<result>cleanup not installed</result>"
        exit 0 ;;
    2)
        echo "<result>Unknown: no Python 3.11 or later for cleanup.pyz</result>"
        exit 0 ;;
esac

set -f
# shellcheck disable=SC2086 # CLEANUP is a command line: split on purpose, never globbed
OUT=$($CLEANUP diagnose --format jamf-ea ${CLEANUP_HOST:+--host} ${CLEANUP_HOST:+"$CLEANUP_HOST"} 2>/dev/null)
RC=$?
LINE=$(printf '%s\n' "$OUT" | grep -x '<result>[^<>&]*</result>' | tail -n 1)
if [ -n "$LINE" ]; then
    printf '%s\n' "$LINE"
else
    echo "<result>Unknown: cleanup diagnose failed (exit $RC)</result>"
fi
exit 0
