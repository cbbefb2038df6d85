#!/usr/bin/env bash
# Copy the repository's real inputs into fuzz/corpus/TARGET/ as seeds, next to whatever the
# corpora already hold. Files are named by the SHA-1 of their content, as libFuzzer names
# its own, so running this twice adds nothing. Minimise afterwards with `cargo fuzz cmin`.
#
# Files above 100 kB (the 1.1 MB poster PNG, the 300 kB SVG) are left out: libFuzzer would
# raise its maximum input length to theirs and run every target more slowly.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus="$root/fuzz/corpus"
max_seed_bytes=100000

# Copy file $2 into corpus $1, after the bytes given as printf escapes in $3 (optional).
add_seed() {
    local target=$1 file=$2 prefix=${3:-}
    local size
    size=$(stat -c %s "$file")
    ((size <= max_seed_bytes)) || return 0
    mkdir -p "$corpus/$target"
    local tmp
    tmp=$(mktemp)
    { printf "$prefix"; cat "$file"; } >"$tmp"
    mv "$tmp" "$corpus/$target/$(sha1sum "$tmp" | cut -d' ' -f1)"
}

# Add the text $2 to corpus $1.
add_text() {
    local tmp
    tmp=$(mktemp)
    printf '%s' "$2" >"$tmp"
    add_seed "$1" "$tmp"
    rm -f "$tmp"
}

mapfile -t pngs < <(find "$root/shared/tests/fixtures" "$root/bench/inputs" -name '*.png' | sort)
mapfile -t svgs < <(find "$root/shared/tests/fixtures" "$root/bench/inputs" -name '*.svg' | sort)

for file in "${pngs[@]}"; do
    add_seed png_unbake "$file"
    add_seed credential_jws "$file"
done
for file in "${svgs[@]}"; do
    add_seed svg_unbake "$file"
    add_seed credential_jws "$file"
done

# The bake targets read two bytes before the image: the payload shape and the filler length
# (see fuzz/src/bake.rs). Each image is seeded with every shape and no filler.
for shape in 0 1 2 3 4; do
    for file in "${pngs[@]}"; do
        add_seed png_bake "$file" "\\x0$shape\\x00"
    done
    for file in "${svgs[@]}"; do
        add_seed svg_bake "$file" "\\x0$shape\\x00"
    done
done

for file in "$root"/infra/local/tests/fixtures/*.csv "$root"/infra/local/tests/fixtures/fuzz/*.csv; do
    add_seed csv_import "$file"
done
add_text csv_import $'Title of the event\n\nFirst name;Last name;Email;Parent email;Status;Checked in\nAmara;Okafor;amara@example.org;;Attending;yes\nLi;Wei;;parent@example.org;Cancelled;no\n'

for file in "$root"/shared/tests/fixtures/verify/*.json "$root"/shared/tests/fixtures/verify/*.jws \
    "$root"/shared/tests/fixtures/verify/*.jwt "$root"/shared/tests/fixtures/1edtech-ob30/simple.json \
    "$root"/shared/tests/fixtures/1edtech-ob30/simple.jwt "$root"/bench/inputs/assertion.json; do
    add_seed credential_jws "$file"
done

# Request bodies of the partner API, shaped like those in functions/issue-awards/tests/api.
add_text api_json '{"achievement_id":"6f1c2a9e-0b7d-4c3e-9a51-2d8e4f6a7b90","recipient":{"email":"  Alice@Example.ORG\n","name":"Alice Example"},"narrative":"Led the brass section.","evidence":[{"url":"https://music.example.org/concerts/summer"},{"narrative":"Rehearsal diary"}],"expires_at":"2026-06-01T00:00:00+01:00","reaward":false}'
add_text api_json '{"achievement_id":"6f1c2a9e-0b7d-4c3e-9a51-2d8e4f6a7b90","recipient":{"name":"Sam Example","delivery_email":"parent@example.org"}}'
add_text api_json '{"items":[{"achievement_id":"6f1c2a9e-0b7d-4c3e-9a51-2d8e4f6a7b90","recipient":{"email":"a@example.org"}},{"achievement_id":"nope","recipient":{}}]}'
add_text api_json '{"name":"County Music Hub","url":"https://music.example.org/hub","email":" Badges@Music.Example.ORG ","description":"Music education for young people across the county."}'
add_text api_json '{"reason":"Awarded in error"}'
add_text api_json '{"delivery_email":"Parent@Example.org"}'
add_text api_json '2025-07-31T23:59:59Z'
# The edges of the years that RFC 3339 can write, 0000 and 9999.
add_text api_json '9999-12-31T23:59:59Z'
add_text api_json '0000-01-01T00:00:00Z'
add_text api_json '{"achievement_id":"6f1c2a9e-0b7d-4c3e-9a51-2d8e4f6a7b90","recipient":{"email":"a@example.org"},"expires_at":"9999-12-31T23:59:59Z"}'
add_text api_json 'https://Music.Example.org:443/a/../b?x#y'
add_text api_json 'claimed'

for target in "$corpus"/*/; do
    printf '%-16s %5d files\n' "$(basename "$target")" "$(find "$target" -type f | wc -l)"
done
