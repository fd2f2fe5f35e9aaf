# Finds a JDK 25 for ./mvnw, ./auraio and .ci/run, so that the README's commands work whatever the
# default java is and whether JAVA_HOME is set or not. POSIX sh: sourced by ./mvnw (#!/bin/sh).
#
#   . .mvn/jdk25.sh && auraio_use_jdk25 <name for messages> || exit 1
#
# exports JAVA_HOME as the first JDK of version 25 or later (java and javac) among: $JAVA_HOME,
# the `java` on PATH, /usr/lib/jvm/* (in that order). None: one message saying what to install,
# and status 1.

# auraio_jdk_major DIR: prints the feature version of DIR/bin/java (17, 25...), nothing if none.
# From the JDK's `release` file where it has one: starting `java -version` costs a JVM start
# (~50 ms) on every ./auraio run.
auraio_jdk_major() {
    [ -n "${1-}" ] && [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
    if [ -r "$1/release" ]; then
        # Read with the shell's own builtins: a sed per candidate JDK was most of the search's time.
        while IFS= read -r _auraio_line || [ -n "$_auraio_line" ]; do
            case $_auraio_line in
                JAVA_VERSION=\"[0-9]*)
                    _auraio_major=${_auraio_line#JAVA_VERSION=\"}
                    printf '%s\n' "${_auraio_major%%[!0-9]*}"
                    return 0
                    ;;
            esac
        done < "$1/release"
    fi
    "$1/bin/java" -version 2>&1 | sed -n '1s/^[^"]*"\([0-9][0-9]*\).*$/\1/p'
}

auraio_is_jdk25() {
    _auraio_v=$(auraio_jdk_major "${1-}")
    [ -n "$_auraio_v" ] && [ "$_auraio_v" -ge 25 ]
}

auraio_use_jdk25() {
    _auraio_who=${1:-auraio}
    if auraio_is_jdk25 "${JAVA_HOME-}"; then
        export JAVA_HOME
        return 0
    fi
    _auraio_found=
    # The java on PATH, through its symlinks (/usr/bin/java -> /etc/alternatives/... -> the JDK).
    _auraio_java=$(command -v java 2>/dev/null || :)
    if [ -n "$_auraio_java" ]; then
        _auraio_java=$(readlink -f "$_auraio_java" 2>/dev/null || printf %s "$_auraio_java")
        _auraio_home=${_auraio_java%/*}
        _auraio_home=${_auraio_home%/*}
        if auraio_is_jdk25 "$_auraio_home"; then
            _auraio_found=$_auraio_home
        fi
    fi
    if [ -z "$_auraio_found" ]; then
        # ./mvnw runs with globbing off (set -f).
        case $- in *f*) _auraio_noglob=1; set +f ;; *) _auraio_noglob= ;; esac
        for _auraio_home in /usr/lib/jvm/*; do
            if auraio_is_jdk25 "$_auraio_home"; then
                _auraio_found=$_auraio_home
                break
            fi
        done
        [ -z "$_auraio_noglob" ] || set -f
    fi
    if [ -z "$_auraio_found" ]; then
        {
            echo "$_auraio_who: AuraIO needs a JDK 25 (java and javac), and none was found:"
            echo "  JAVA_HOME=${JAVA_HOME-} (version: $(auraio_jdk_major "${JAVA_HOME-}" | grep . || echo none)),"
            echo "  java on PATH: ${_auraio_java:-none}, nothing of version 25 or later in /usr/lib/jvm."
            echo "  Install a JDK 25, e.g. Eclipse Temurin 25 (apt package temurin-25-jdk from"
            echo "  https://packages.adoptium.net, or https://adoptium.net/temurin/releases/?version=25),"
            echo "  into /usr/lib/jvm or anywhere JAVA_HOME names."
        } >&2
        return 1
    fi
    if [ -n "${JAVA_HOME-}" ]; then
        echo "$_auraio_who: JAVA_HOME=$JAVA_HOME is not a JDK 25; using $_auraio_found" >&2
    fi
    JAVA_HOME=$_auraio_found
    export JAVA_HOME
}
