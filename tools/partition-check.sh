#!/usr/bin/env bash
# The scenario libraries as tests (libtest-mimic, `harness = false`) under cargo-nextest's
# `--partition hash:K/N`, as CI machines split them: for each target, part 1/2 and part 2/2
# must list disjoint sets of tests that together are the whole list, so that between them
# the machines run every scenario exactly once. The app-scenarios target, a user crate's
# kind, is also run in both parts. Reuses the build of `cargo test --locked` (same profile).
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
    echo "partition-check: $*" >&2
    exit 1
}

for target in scenarios app_scenarios; do
    for part in all 1 2; do
        partition=()
        [[ $part == all ]] || partition=(--partition "hash:$part/2")
        cargo nextest list --locked --test "$target" "${partition[@]}" --message-format oneline |
            sort >"$scratch/$part"
    done
    [[ -s $scratch/all ]] || fail "$target lists no tests"
    if comm -12 "$scratch/1" "$scratch/2" | grep .; then
        fail "$target: the tests above are in both hash:1/2 and hash:2/2"
    fi
    if ! sort "$scratch/1" "$scratch/2" | diff "$scratch/all" -; then
        fail "$target: hash:1/2 and hash:2/2 together are not the whole list (diff above)"
    fi
    echo "partition-check: $target: $(wc -l <"$scratch/1") + $(wc -l <"$scratch/2") of $(wc -l <"$scratch/all") tests"
done

for part in 1 2; do
    cargo nextest run --locked --test app_scenarios --partition "hash:$part/2" --no-tests=pass
done
