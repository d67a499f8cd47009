#!/usr/bin/env bash
# Which global allocator the static (musl) binaries should use: musl's own malloc, mimalloc or
# jemalloc, measured on the shipping builds of the tools, side by side in one run.
#
#   scripts/bench-static-allocator.sh [CASA_SIM_DIR] [ROUNDS]
#
# CASA_SIM_DIR defaults to ../shared/casa-sim beside the repository; ROUNDS to 3. The committed
# tree (HEAD) is copied to a scratch directory; in the copy every tools/*/src/main.rs gets the
# variant's #[global_allocator] (musl target only) and its Cargo.toml the matching dependency,
# and the tools are built with build-static.sh's settings (CARGO_TARGET_DIR is honoured).
# Workloads (2 threads each): annotate-qa over the casa-sim QL/SE/cube images, casa-judge over a
# ~150 MB log made of the casa-sim logs, component-list on the SE tt0 image. Rounds interleave
# the variants so machine noise hits all alike; the table shows the median wall time per round
# and the maximum resident set size.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
sim=${1:-$repo/../shared/casa-sim}
rounds=${2:-3}
[[ -d "$sim/se" ]] || { echo "bench-static-allocator: no casa-sim at $sim" >&2; exit 2; }
sim=$(cd "$sim" && pwd)
export CC_x86_64_unknown_linux_musl=musl-gcc CXX_x86_64_unknown_linux_musl=g++
target_dir=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A crate=([mimalloc]='mimalloc = "0.1"' [jemalloc]='tikv-jemallocator = "0.7"')
declare -A global=([mimalloc]='mimalloc::MiMalloc' [jemalloc]='tikv_jemallocator::Jemalloc')
variants=(musl mimalloc jemalloc)

git -C "$repo" archive HEAD | tar -x -C "$work" --one-top-level=src
for variant in "${variants[@]}"; do
    for main in "$work"/src/tools/*/src/main.rs; do
        manifest="$(dirname "$(dirname "$main")")/Cargo.toml"
        # Drop any allocator lines already committed, then add this variant's.
        sed -i '/^#\[cfg(target_env = "musl")\]$/{N;/global_allocator/{N;d}}' "$main"
        sed -i '/^\[target.'"'"'cfg(target_env = "musl")'"'"'.dependencies\]$/,/^$/d' "$manifest"
        if [[ $variant != musl ]]; then
            printf '\n#[cfg(target_env = "musl")]\n#[global_allocator]\nstatic GLOBAL: %s = %s;\n' \
                "${global[$variant]}" "${global[$variant]}" >> "$main"
            printf '\n[target.'"'"'cfg(target_env = "musl")'"'"'.dependencies]\n%s\n' "${crate[$variant]}" >> "$manifest"
        fi
    done
    echo "bench-static-allocator: building variant $variant" >&2
    start=$SECONDS
    (cd "$work/src" && cargo build -q --profile shipping --target x86_64-unknown-linux-musl \
        -p annotate-qa -p casa-judge -p component-list)
    echo "bench-static-allocator: $variant built in $((SECONDS - start)) s" >&2
    mkdir -p "$work/bin/$variant"
    cp "$target_dir"/x86_64-unknown-linux-musl/shipping/{annotate-qa,casa-judge,component-list} "$work/bin/$variant/"
done

# Inputs: one big CASA log (the casa-sim logs repeated), the images as they are.
big_log="$work/casa-big.log"
mapfile -t logs < <(find "$sim/logs" -name 'casa-*.log' | sort)
while [[ ! -f "$big_log" || $(stat -c %s "$big_log") -lt 150000000 ]]; do
    cat "${logs[@]}" >> "$big_log"
done
se_tt0=$(find "$sim/se" -name '*.image.pbcor.tt0.subim.fits' | head -n 1)

# The command of a workload for one variant's binaries.
command_of() {  # command_of NAME VARIANT
    local bin="$work/bin/$2"
    case $1 in
        annotate-qa) echo "$bin/annotate-qa --jobs 2 --json /dev/null $sim/ql $sim/se $sim/cube" ;;
        casa-judge) echo "$bin/casa-judge --jobs 2 --quiet $big_log" ;;
        component-list) echo "$bin/component-list --jobs 2 --output-dir $work/out-$2 $se_tt0" ;;
    esac
}

declare -A times rss
for round in $(seq "$rounds"); do
    for name in annotate-qa casa-judge component-list; do
        for variant in "${variants[@]}"; do
            mkdir -p "$work/out-$variant"
            # Exit codes are not the point here (QA verdicts may be 1); the time is.
            # shellcheck disable=SC2046
            /usr/bin/time -f '%e %M' -o "$work/time" $(command_of "$name" "$variant") \
                >/dev/null 2>"$work/stderr" || true
            read -r seconds kb < <(tail -n 1 "$work/time")
            times[$name.$variant]+="$seconds "
            rss[$name.$variant]=$kb
        done
    done
    echo "bench-static-allocator: round $round done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| workload | musl malloc | mimalloc | jemalloc | max RSS musl / mimalloc / jemalloc (MB) |"
echo "|---|---|---|---|---|"
for name in annotate-qa casa-judge component-list; do
    row="| $name"
    for variant in "${variants[@]}"; do
        row+=" | $(median <<<"${times[$name.$variant]}") s"
    done
    row+=" | $((rss[$name.musl] / 1024)) / $((rss[$name.mimalloc] / 1024)) / $((rss[$name.jemalloc] / 1024)) |"
    echo "$row"
done
echo
echo "binary sizes (bytes):"
for variant in "${variants[@]}"; do
    printf '  %-9s %s\n' "$variant" "$(stat -c '%n=%s' "$work/bin/$variant"/* | sed 's|.*/||' | tr '\n' ' ')"
done
