#!/usr/bin/env bash
# Checks that every package the image installs (requirements.txt and everything below it) has a
# wheel for CPython 3.11 on x86_64 AND aarch64 (manylinux, glibc <= bookworm's 2.36), so the image
# builds on both without a compiler. promise is pure Python with no wheel: it is the one exception
# the Dockerfile lets pip build from source.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" -m pip install --quiet --dry-run --ignore-installed --report "$work/report.json" -r requirements.txt \
  >"$work/resolve.log" 2>&1 || { cat "$work/resolve.log" >&2; exit 1; }
"$PY" - "$work/report.json" >"$work/pins.txt" <<'PYEOF'
import json, sys
for item in json.load(open(sys.argv[1]))["install"]:
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    if name.lower() != "promise":
        print(f"{name}=={version}")
PYEOF
status=0
for arch in x86_64 aarch64; do
  platforms=(--platform "manylinux2014_$arch")
  for glibc in 17 24 26 27 28 31 34 36; do platforms+=(--platform "manylinux_2_${glibc}_$arch"); done
  if "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
      "${platforms[@]}" -d "$work/$arch" -r "$work/pins.txt" >"$work/$arch.log" 2>&1; then
    echo "check-wheels: $arch: $(ls "$work/$arch" | wc -l) wheels for $(wc -l <"$work/pins.txt") packages"
  else
    echo "check-wheels: $arch: a package has no wheel:" >&2
    grep -E "^ERROR" "$work/$arch.log" >&2 || tail -n 5 "$work/$arch.log" >&2
    status=1
  fi
done
exit $status
