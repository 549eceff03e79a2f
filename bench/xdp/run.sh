#!/usr/bin/env bash
# XDP benchmark entry point (called by `make bench`): anynsd with XDP on and
# off, NSD and Knot DNS, through a veth pair; see bench/xdp/bench_xdp.py.
# Writes bench/results/xdp.csv and bench/results/xdp-summary.txt.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
exec /usr/bin/python3 bench/xdp/bench_xdp.py "$@"
