#!/bin/sh
# Compose mounts each secret as a file, /run/secrets/<NAME>; Sidegrid reads keys from environment
# variables of those names. Export them, then run the process (keys never enter the compose file).
set -eu
for f in /run/secrets/SIDEGRID_*; do
  [ -f "$f" ] || continue
  export "$(basename "$f")=$(tr -d ' \r\n' < "$f")"
done
exec "$@"
