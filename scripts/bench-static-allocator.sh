#!/usr/bin/env bash
# Which global allocator the static (musl) binaries should use: musl's own malloc, mimalloc or
# jemalloc, measured on the shipping builds of the tools, side by side in one run.
#
#   scripts/bench-static-allocator.sh [--reuse] [CASA_SIM_DIR] [ROUNDS]
#
# CASA_SIM_DIR defaults to ../shared/casa-sim beside the repository; ROUNDS to 5. The committed
# tree (HEAD) is copied to a scratch directory; in the copy every tools/*/src/main.rs gets the
# variant's #[global_allocator] (musl target only) and its Cargo.toml the matching dependency,
# and the tools are built with build-static.sh's settings (CARGO_TARGET_DIR is honoured).
# Workloads (2 threads each): annotate-qa over the casa-sim QL/SE/cube images, casa-judge over a
# ~150 MB log made of the casa-sim logs, component-list on the SE tt0 image. Rounds interleave
# the variants so machine noise hits all alike; the table shows the median wall time and the
# median CPU time (user + system; less disturbed by a busy machine) of the rounds, and the
# maximum resident set size. The binaries are kept in $CARGO_TARGET_DIR/alloc-bench/<variant>
# (built in $CARGO_TARGET_DIR/alloc-bench/target);
# --reuse measures those again without rebuilding.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
reuse=false
if [[ ${1:-} == --reuse ]]; then reuse=true; shift; fi
sim=${1:-$repo/../shared/casa-sim}
rounds=${2:-5}
[[ -d "$sim/se" ]] || { echo "bench-static-allocator: no casa-sim at $sim" >&2; exit 2; }
sim=$(cd "$sim" && pwd)
export CC_x86_64_unknown_linux_musl=musl-gcc CXX_x86_64_unknown_linux_musl=g++
target_dir=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A crate=([mimalloc]='mimalloc = "0.1"' [jemalloc]='tikv-jemallocator = "0.7"')
declare -A global=([mimalloc]='mimalloc::MiMalloc' [jemalloc]='tikv_jemallocator::Jemalloc')
variants=(musl mimalloc jemalloc)

bins="$target_dir/alloc-bench"
$reuse || git -C "$repo" archive HEAD | tar -x -C "$work" --one-top-level=src
for variant in "${variants[@]}"; do
    if $reuse; then
        [[ -x "$bins/$variant/annotate-qa" ]] || { echo "bench-static-allocator: nothing to reuse in $bins" >&2; exit 2; }
        continue
    fi
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
    # A target directory of its own: the scratch copy has no .git, so its build scripts record
    # "commit unknown", which must not leak into build-static.sh's fingerprints.
    (cd "$work/src" && CARGO_TARGET_DIR="$bins/target" cargo build -q --profile shipping \
        --target x86_64-unknown-linux-musl -p annotate-qa -p casa-judge -p component-list)
    echo "bench-static-allocator: $variant built in $((SECONDS - start)) s" >&2
    mkdir -p "$bins/$variant"
    cp "$bins"/target/x86_64-unknown-linux-musl/shipping/{annotate-qa,casa-judge,component-list} "$bins/$variant/"
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
    local bin="$bins/$2"
    case $1 in
        annotate-qa) echo "$bin/annotate-qa --jobs 2 --json /dev/null $sim/ql $sim/se $sim/cube" ;;
        casa-judge) echo "$bin/casa-judge --jobs 2 --quiet $big_log" ;;
        component-list) echo "$bin/component-list --jobs 2 --output-dir $work/out-$2 $se_tt0" ;;
    esac
}

declare -A times cpus rss
for round in $(seq "$rounds"); do
    for name in annotate-qa casa-judge component-list; do
        for variant in "${variants[@]}"; do
            mkdir -p "$work/out-$variant"
            # QA verdicts may give exit code 1; 2 or more means the workload itself is broken.
            status=0
            # shellcheck disable=SC2046
            /usr/bin/time -f '%e %U %S %M' -o "$work/time" $(command_of "$name" "$variant") \
                >/dev/null 2>"$work/stderr" || status=$?
            if ((status > 1)); then
                echo "bench-static-allocator: $name ($variant) failed with $status:" >&2
                head -n 5 "$work/stderr" >&2
                exit 1
            fi
            read -r seconds user system kb < <(tail -n 1 "$work/time")
            times[$name.$variant]+="$seconds "
            cpus[$name.$variant]+="$(awk -v u="$user" -v s="$system" 'BEGIN {print u + s}') "
            rss[$name.$variant]=$kb
        done
    done
    echo "bench-static-allocator: round $round done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| workload | wall: musl malloc / mimalloc / jemalloc | CPU (user+sys): musl / mimalloc / jemalloc | max RSS MB: musl / mimalloc / jemalloc |"
echo "|---|---|---|---|"
for name in annotate-qa casa-judge component-list; do
    wall="" cpu="" mem=""
    for variant in "${variants[@]}"; do
        wall+="$(median <<<"${times[$name.$variant]}") s / "
        cpu+="$(median <<<"${cpus[$name.$variant]}") s / "
        mem+="$((rss[$name.$variant] / 1024)) / "
    done
    echo "| $name | ${wall% / } | ${cpu% / } | ${mem% / } |"
done
echo
echo "binary sizes (bytes):"
for variant in "${variants[@]}"; do
    printf '  %-9s %s\n' "$variant" "$(stat -c '%n=%s' "$bins/$variant"/* | sed 's|.*/||' | tr '\n' ' ')"
done
