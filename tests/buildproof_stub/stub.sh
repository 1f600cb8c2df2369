#!/bin/sh
# A build-proof stub (tests/buildproof.py) standing in for a program a RUN calls. It records the call
# under /proof-record (a host directory mounted into every RUN, so nothing lands in a layer): the
# program name, argv, working directory, environment, the first 64 KiB of stdin and the credential
# files present; then it emulates the credential files the real tool would write (emulate.awk,
# EMULATIONS in tests/buildproof.py) and exits 0. It prints nothing.
__prog=${0##*/}
__lib=/usr/local/lib/buildproof
__stdin=
__emulated=
if [ -d /proof-record ] && [ -w /proof-record ]; then
    __n=1
    while ! mkdir "/proof-record/$__n" 2>/dev/null; do
        __n=$((__n + 1))
        [ "$__n" -gt 100000 ] && break
    done
    __d=/proof-record/$__n
    printf '%s' "$__prog" > "$__d/prog"
    printf '%s\0' "$@" > "$__d/argv"
    pwd > "$__d/cwd"
    cat "/proc/$$/environ" > "$__d/environ" 2>/dev/null
    if [ ! -t 0 ]; then
        head -c 65536 > "$__d/stdin"
        __stdin=$__d/stdin
    fi
    __emulated=$__d/emulated
    __i=0
    for __f in @CREDENTIAL_FILES@; do
        if [ -f "$__f" ]; then
            __i=$((__i + 1))
            cp "$__f" "$__d/file.$__i"
            printf '%s\0' "$__f" >> "$__d/files"
        fi
    done
fi
awk -v prog="$__prog" -v cwd="$(pwd)" -v table="$__lib/emulations.tsv" -v stdin_file="$__stdin" -v record="$__emulated" \
    -f "$__lib/emulate.awk" -- "$@"
exit 0
