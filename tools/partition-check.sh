#!/usr/bin/env bash
# The scenario libraries as tests (libtest-mimic, `harness = false`) under cargo-nextest's
# `--partition hash:K/N`, as CI machines split them: part 1/2 and part 2/2 must list
# disjoint sets of tests that together are the whole list, so that between them the
# machines run every scenario exactly once; then both parts run. The targets are the
# bundled library, the registered-app scenarios, and the example app's own `scenarios/`
# (a user crate's kind). Same packages and profile as `cargo test --locked`, so nothing is
# built again.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
    echo "partition-check: $*" >&2
    exit 1
}

targets=(--test scenarios --test app_scenarios)

for part in all 1 2; do
    partition=()
    [[ $part == all ]] || partition=(--partition "hash:$part/2")
    cargo nextest list --locked "${targets[@]}" "${partition[@]}" --message-format oneline |
        sort >"$scratch/$part"
done
[[ -s $scratch/all ]] || fail "the scenario targets list no tests"
grep -q '^reconnecting-app::scenarios ' "$scratch/all" || fail "the example app's scenarios are not listed"
if comm -12 "$scratch/1" "$scratch/2" | grep .; then
    fail "the tests above are in both hash:1/2 and hash:2/2"
fi
if ! sort "$scratch/1" "$scratch/2" | diff "$scratch/all" -; then
    fail "hash:1/2 and hash:2/2 together are not the whole list (diff above)"
fi
echo "partition-check: $(wc -l <"$scratch/1") + $(wc -l <"$scratch/2") of $(wc -l <"$scratch/all") tests"

for part in 1 2; do
    cargo nextest run --locked "${targets[@]}" --partition "hash:$part/2" --no-tests=pass
done
