#!/usr/bin/env bash
# Install the external tools that the tests call:
#   .venv/badgecheck            Open Badges 2.0 validator (badgecheck 1.2.0)
#   .venv/tools                 moto server, jsonschema, PyJWT, cfn-lint
#   .venv/sam                   AWS SAM CLI, for `sam validate --lint` (its pins clash with .venv/tools)
#   .venv/lambda                cargo-lambda and Zig, for the arm64 Lambda build
#   Rust target                 aarch64-unknown-linux-gnu, for the same build
#   tests/validators/node_modules   jose, ajv, playwright-core, axe-core
#   .cargo-tools/bin/cargo-fuzz     cargo-fuzz, for the fuzz targets in fuzz/
#   Debian packages             chromium for the browser tests
#
# Running it again is cheap: each venv and node_modules keeps a stamp of the
# pinned list it was installed from, and is rebuilt only when that list or
# the interpreter version changes. Debian packages are installed only when
# missing. Set ACCOLADE_PYTHON to choose the interpreter (default python3).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
validators="$root/tests/validators"
venvs="$root/.venv"
python=${ACCOLADE_PYTHON:-python3}
# cargo-fuzz, pinned and built from its locked dependencies.
cargo_fuzz_version=0.13.2
# Debian packages the tests need. fonts-dejavu-core gives the headless
# browser a font, so screenshots and contrast checks see real text.
apt_packages=(chromium fonts-dejavu-core)

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive

installed=()
started=${EPOCHREALTIME/[.,]/}

die() {
    echo "setup-test-tools: $*" >&2
    exit 1
}

# Install the Debian packages from "$@" that are not installed yet.
install_debian_packages() {
    local package missing=()
    for package in "$@"; do
        if [[ $(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null) != installed ]]; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        echo "setup: Debian packages present: $*"
        return
    fi

    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null ||
            die "Debian packages missing (${missing[*]}) and not running as root; install them with apt-get"
        sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install failed for: ${missing[*]}"
    installed+=("Debian: ${missing[*]}")
}

# Create venv $1 from requirements file $2 unless its stamp is current, then
# run the Python statement $3 in it to prove the packages import. Further
# arguments go to pip install.
ensure_venv() {
    local name=$1 requirements=$2 import_check=$3
    shift 3
    local venv="$venvs/$name" stamp
    stamp="$(sha256sum "$requirements" | cut -d' ' -f1) python-$python_version"

    if [[ -x $venv/bin/python && -f $venv/.accolade-stamp && $(<"$venv/.accolade-stamp") == "$stamp" ]]; then
        echo "setup: .venv/$name is up to date"
        return
    fi

    echo "setup: installing .venv/$name from ${requirements#"$root"/}"
    rm -rf "$venv"
    "$python" -m venv "$venv" || die "creating .venv/$name with $python failed"
    "$venv/bin/pip" install --quiet "$@" -r "$requirements" ||
        die "pip install into .venv/$name failed; see the pip output above"
    "$venv/bin/python" -c "$import_check" ||
        die ".venv/$name was installed but its packages do not import"
    echo "$stamp" >"$venv/.accolade-stamp"
    installed+=("pip: .venv/$name")
}

# Add the Rust target $1 with rustup unless it is installed. rustup downloads it from the
# Rust project's own servers, not a package registry, so this step can fail where only
# registries are reachable. The error then names the target to add.
ensure_rust_target() {
    local target=$1
    command -v rustup >/dev/null || die "rustup not found; install the Rust toolchain with rustup"
    if rustup target list --installed | grep -qx "$target"; then
        echo "setup: Rust target $target is installed"
        return
    fi
    echo "setup: adding the Rust target $target"
    rustup target add "$target" ||
        die "rustup target add $target failed; the Lambda build needs it (see the rustup output above)"
    installed+=("rustup: $target")
}

# Run `npm ci` in tests/validators unless node_modules matches the lock file.
ensure_node_modules() {
    command -v npm >/dev/null || die "npm not found; install Node.js 20 with npm"
    local stamp_file="$validators/node_modules/.accolade-stamp" stamp
    stamp="$(sha256sum "$validators/package-lock.json" | cut -d' ' -f1) node-$(node --version)"

    if [[ -f $stamp_file && $(<"$stamp_file") == "$stamp" ]]; then
        echo "setup: tests/validators/node_modules is up to date"
        return
    fi

    echo "setup: running npm ci in tests/validators"
    (cd "$validators" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/validators failed"
    echo "$stamp" >"$stamp_file"
    installed+=("npm: tests/validators/node_modules")
}

# Install cargo-fuzz cargo_fuzz_version into .cargo-tools/ unless that version is there. It
# goes into the repository rather than ~/.cargo, so the pin never changes a developer's own
# cargo-fuzz. crates.io is a package registry, so this works where only registries are
# reachable.
ensure_cargo_fuzz() {
    local tools="$root/.cargo-tools"
    local binary="$tools/bin/cargo-fuzz"
    if [[ -x $binary && $("$binary" --version 2>/dev/null) == "cargo-fuzz $cargo_fuzz_version" ]]; then
        echo "setup: cargo-fuzz $cargo_fuzz_version is installed in .cargo-tools"
        return
    fi
    echo "setup: installing cargo-fuzz $cargo_fuzz_version into .cargo-tools"
    cargo install cargo-fuzz --version "=$cargo_fuzz_version" --locked --root "$tools" ||
        die "cargo install cargo-fuzz $cargo_fuzz_version failed; see the cargo output above"
    installed+=("cargo: cargo-fuzz $cargo_fuzz_version")
}

command -v "$python" >/dev/null || die "$python not found; install Python 3.11 or set ACCOLADE_PYTHON"
python_version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
if [[ $python_version != 3.11.* ]]; then
    echo "setup: NOTE: the badgecheck pins were tested on Python 3.11, this is $python_version" >&2
fi
# Debian's own python3 needs python3-venv before `python -m venv` works.
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_packages+=(python3-venv)
fi

mkdir -p "$venvs"
# Two runs at once (two terminals, an editor hook) would rebuild the same
# venv twice, so the second run waits for the first.
exec 9>"$venvs/.setup.lock"
flock 9

install_debian_packages "${apt_packages[@]}"
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is missing after installing the chromium package"

ensure_venv badgecheck "$validators/requirements-badgecheck.txt" \
    'import openbadges, openbadges.verifier.openbadges_context' --no-deps
ensure_venv tools "$validators/requirements-tools.txt" \
    'import moto.server, jsonschema, jwt, cfnlint, cfn_lint_serverless'
ensure_venv sam "$validators/requirements-sam.txt" 'import samcli'
ensure_venv lambda "$validators/requirements-lambda.txt" 'import ziglang'
ensure_rust_target aarch64-unknown-linux-gnu
ensure_node_modules
ensure_cargo_fuzz

if ((${#installed[@]})); then
    printf 'setup: installed %s\n' "${installed[@]}"
else
    echo "setup: nothing to install"
fi
elapsed_ms=$(((${EPOCHREALTIME/[.,]/} - started) / 1000))
printf "setup: done in %d.%01d s\n" $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))
