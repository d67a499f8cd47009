#!/usr/bin/env bash
# Builds every tool as a static x86_64 musl executable and proves it runs anywhere.
#
#   ./build-static.sh [--require-chroot]
#
# 1. Installs what a fresh Debian machine lacks: musl-tools cmake g++ make file (apt, as root)
#    and the x86_64-unknown-linux-musl Rust target (rustup).
# 2. cargo build --profile shipping --target x86_64-unknown-linux-musl for each tools/<name>
#    (honours CARGO_TARGET_DIR).
# 3. Checks each binary is static: `file` says statically/static-pie linked, `ldd` finds no
#    dynamic dependencies.
# 4. Replaces dist/ with the binaries and a SHA256SUMS file.
# 5. Runs each binary's --version inside an empty chroot that holds only that binary. This needs
#    root (or unprivileged user namespaces); without either the check is skipped with a message,
#    or fails the build when --require-chroot is given (CI does).
set -euo pipefail
cd "$(dirname "$0")"

TARGET=x86_64-unknown-linux-musl
PROFILE=shipping
say() { printf 'build-static: %s\n' "$*"; }
die() { printf 'build-static: error: %s\n' "$*" >&2; exit 1; }

require_chroot=false
for arg in "$@"; do
    case "$arg" in
        --require-chroot) require_chroot=true ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done

# --- 1. prerequisites -------------------------------------------------------------------
missing=()
command -v musl-gcc >/dev/null || missing+=(musl-tools)
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v file >/dev/null || missing+=(file)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        die "missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) and re-run"
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    command -v rustup >/dev/null || die "rustup not found; the $TARGET target cannot be added"
    say "adding Rust target $TARGET"
    rustup target add "$TARGET"
fi

# The cc crate looks for x86_64-linux-musl-gcc, which Debian does not ship; CMake (cfitsio's
# src-cmake build) also insists on a C++ compiler although nothing is compiled as C++.
export CC_x86_64_unknown_linux_musl=musl-gcc
export CXX_x86_64_unknown_linux_musl=g++

# --- 2. build ------------------------------------------------------------------------------
tools=()
for manifest in tools/*/Cargo.toml; do
    tools+=("$(basename "$(dirname "$manifest")")")
done
((${#tools[@]})) || die "no tools/*/Cargo.toml found"
packages=()
for tool in "${tools[@]}"; do packages+=(-p "$tool"); done

target_dir=${CARGO_TARGET_DIR:-target}
out_dir="$target_dir/$TARGET/$PROFILE"
say "building ${tools[*]} ($PROFILE, $TARGET)"
started=$SECONDS
cargo build --locked --profile "$PROFILE" --target "$TARGET" "${packages[@]}"
build_seconds=$((SECONDS - started))

# --- 3. static check -----------------------------------------------------------------------
for tool in "${tools[@]}"; do
    binary="$out_dir/$tool"
    [[ -x "$binary" ]] || die "$binary was not built"
    description=$(file -b "$binary")
    [[ "$description" =~ statically\ linked|static-pie\ linked ]] \
        || die "$tool is not static: file says: $description"
    # glibc's ldd prints "statically linked" (static-pie) or "not a dynamic executable".
    ldd_output=$(ldd "$binary" 2>&1 || true)
    [[ "$ldd_output" =~ statically\ linked|not\ a\ dynamic\ executable ]] \
        || die "$tool has dynamic dependencies: ldd says: $ldd_output"
done

# --- 4. dist/ ------------------------------------------------------------------------------
staging=$(mktemp -d "./.dist.XXXXXX")
trap 'rm -rf "$staging"' EXIT
for tool in "${tools[@]}"; do
    cp "$out_dir/$tool" "$staging/$tool"
done
(cd "$staging" && sha256sum "${tools[@]}" > SHA256SUMS)
rm -rf dist
mv "$staging" dist
chmod 755 dist
trap - EXIT

# --- 5. empty-chroot check -----------------------------------------------------------------
chroot_cmd=()
if [[ $(id -u) -eq 0 ]]; then
    chroot_cmd=(chroot)
elif command -v unshare >/dev/null && unshare --user --map-root-user true 2>/dev/null; then
    chroot_cmd=(unshare --user --map-root-user chroot)
fi
if ((${#chroot_cmd[@]})); then
    for tool in "${tools[@]}"; do
        jail=$(mktemp -d)
        cp "dist/$tool" "$jail/$tool"
        if ! version=$("${chroot_cmd[@]}" "$jail" "/$tool" --version 2>&1); then
            rm -rf "$jail"
            die "$tool --version failed inside an empty chroot: $version"
        fi
        rm -rf "$jail"
        [[ -n "$version" ]] || die "$tool --version printed nothing inside the chroot"
        say "chroot ok: $tool --version -> ${version%%$'\n'*}"
    done
elif $require_chroot; then
    die "the empty-chroot check needs root or unprivileged user namespaces"
else
    say "WARNING: empty-chroot check skipped (needs root or user namespaces); portability not proven"
fi

say "built in ${build_seconds}s; dist/:"
for tool in "${tools[@]}"; do
    printf '  %-16s %10s bytes\n' "$tool" "$(stat -c %s "dist/$tool")"
done
