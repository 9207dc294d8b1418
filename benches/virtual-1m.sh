#!/usr/bin/env bash
# Peak memory of a run with 1,000,000 virtual agents (most passivated at any
# time): benches/scenarios/virtual-1m.toml. Usage: benches/virtual-1m.sh [BINARY]
set -euo pipefail
bin=${1:-target/release/rehearsal}
scenario=$(dirname "$0")/scenarios/virtual-1m.toml
out=$(mktemp)
/usr/bin/time -f "%e s, peak RSS %M KB" "$bin" run "$scenario" --seed 1 --json 2>"$out.err" >"$out"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = d["virtual_agents"]
print(f"requests {d['requests']['arrived']}, activations {v['activations']}, at most {v['active_max']} alive at once, "
      f"events {d['events']}")
PY
tail -1 "$out.err"
rm -f "$out" "$out.err"
