#!/usr/bin/env bash
# Wall time of the fleet benchmark (benches/scenarios/fleet-hour.toml) for
# two builds side by side: runs alternate between them, and the medians are
# printed. Usage: benches/fleet-hour.sh OLD_BINARY NEW_BINARY [RUNS]
set -euo pipefail
old=$1 new=$2 runs=${3:-7}
scenario=$(dirname "$0")/scenarios/fleet-hour.toml
time_one() { /usr/bin/time -f %e "$1" run "$scenario" >/dev/null 2>/tmp/fleet-hour.$$ && tail -1 /tmp/fleet-hour.$$; }
a=() b=()
for _ in $(seq "$runs"); do
  a+=("$(time_one "$old")")
  b+=("$(time_one "$new")")
done
rm -f /tmp/fleet-hour.$$
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ma=$(median "${a[@]}") mb=$(median "${b[@]}")
echo "old: ${a[*]} -> median ${ma}s"
echo "new: ${b[*]} -> median ${mb}s"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "new / old = %.3f\n", b / a }'
