#!/usr/bin/env bash
# Summarises a conformance run's `cargo test` log: passed / failed, the failures grouped by
# their cause in tools/conformance/causes.txt (a test missing there is "unclassified", with
# the first line of its panic), and the causes' tests that passed after all.
#   bash tools/conformance/summary.sh target/conformance/test.log
set -euo pipefail
LOG=$1
CAUSES="$(dirname "$0")/causes.txt"

awk -v causes="$CAUSES" '
BEGIN {
    while ((getline line < causes) > 0) {
        if (line ~ /^#/ || line !~ /\t/) continue
        split(line, f, "\t")
        cause[f[1]] = f[2]
    }
}
/^ *Running tests\// {
    target = $2; sub(/^tests\//, "", target); sub(/\.rs$/, "", target)
    targets[target] = 1; order[++ntargets] = target
    next
}
/^test .* \.\.\. (ok|FAILED|ignored)/ {
    name = target "::" $2
    verdict = $NF
    if (verdict == "ok") { passed++; pass[name] = 1 }
    else if (verdict == "FAILED") { failed++; fail[name] = 1; failorder[++nfail] = name }
    else ignored++
    next
}
/^test result: / { finished[target] = 1; next }
/^---- .* stdout ----$/ { current = target "::" $2; want = 1; next }
want && /panicked at/ { getline msg; why[current] = msg; want = 0; next }
/^error: could not compile/ { compile_errors = compile_errors "\n  " $0 }
END {
    total = passed + failed
    printf "webrtc-rs integration tests on SimRuntime: %d of %d passed, %d failed", passed, total, failed
    if (ignored) printf " (%d ignored)", ignored
    printf "\n"
    for (i = 1; i <= ntargets; i++)
        if (!(order[i] in finished)) printf "  target %s ended without a result (crashed or killed)\n", order[i]
    if (compile_errors != "") printf "compile errors:%s\n", compile_errors
    for (i = 1; i <= nfail; i++) {
        name = failorder[i]
        c = (name in cause) ? cause[name] : "unclassified"
        count[c]++
        list[c] = list[c] "\n    " name ((c == "unclassified" && name in why) ? ": " why[name] : "")
        if (!(c in seen)) { seen[c] = 1; corder[++ncauses] = c }
    }
    for (i = 1; i <= ncauses; i++) printf "\n%d failed: %s%s\n", count[corder[i]], corder[i], list[corder[i]]
    n = 0
    for (name in cause) if (name in pass) { if (!n++) printf "\nlisted in causes.txt but passed now:\n"; printf "    %s\n", name }
}
' "$LOG"
