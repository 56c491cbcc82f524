#!/usr/bin/env bash
# Peers for the PPO speed comparison, and our side beside them, run interleaved (ours, SB3, ours, CleanRL, ...).
#
#   tools/bench/peers/setup_and_run.sh setup          # apt packages + extract the peers' sources into $PEERS
#   tools/bench/peers/setup_and_run.sh run [rounds]   # interleaved rounds (default 3), one line per run
#   tools/bench/peers/setup_and_run.sh all [rounds]   # both
#
# Peers (sources, not pip): Stable-Baselines3 (github:DLR-RM/stable-baselines3), Gymnasium
# (github:Farama-Foundation/Gymnasium), CleanRL (github:vwxyzjn/cleanrl), run with Debian's /usr/bin/python3 and its
# torch 1.13 (python3-torch), PYTHONPATH pointing at the extracted sources. Set SB3_GIT, GYM_GIT and CLEANRL_GIT to bare
# git directories (or leave them: the defaults are the mirrors this machine's fetch tool writes), or PEERS to a
# folder where sb3/, gymnasium/ and cleanrl/ are already extracted.
# Shims (Debian has no package for them), all tiny and pure Python, said where they are made:
#   farama_notifications (imported by Gymnasium, only prints notices): an empty module in $PEERS/shims;
#   tyro and torch.utils.tensorboard (CleanRL's argument parser and logger): see cleanrl_ppo.py.
# SB3's setup.py asks for torch >= 2.8; its PPO runs on torch 1.13 unchanged (checked: CartPole-v1 trains).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
PEERS="${PEERS:-/tmp/peers}"
SB3_GIT="${SB3_GIT:-/work/.mirror/DLR-RM+stable-baselines3/repo}"
GYM_GIT="${GYM_GIT:-/work/.mirror/Farama-Foundation+Gymnasium/repo}"
CLEANRL_GIT="${CLEANRL_GIT:-/work/.mirror/vwxyzjn+cleanrl/repo}"
PY=/usr/bin/python3

setup() {
  if ! $PY -c "import torch, numpy, cloudpickle, typing_extensions" 2>/dev/null; then
    apt-get update
    apt-get install -y python3-torch python3-numpy python3-cloudpickle python3-typing-extensions
  fi
  # PyTorch's best CPU setting here for the GPT peer: OpenBLAS (Debian's torch otherwise uses the reference BLAS).
  [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || apt-get install -y libopenblas0-pthread
  mkdir -p "$PEERS/shims/farama_notifications"
  : > "$PEERS/shims/farama_notifications/__init__.py"
  extract "$SB3_GIT" sb3 stable_baselines3
  extract "$GYM_GIT" gymnasium gymnasium          # only the package: the repository's large media objects may be absent
  extract "$CLEANRL_GIT" cleanrl cleanrl
  for name in sb3 gymnasium cleanrl; do echo "$name: $(cat "$PEERS/$name/COMMIT")"; done
  ( cd "$repo" && dotnet build src/Reinforce.Cli -c Release -v q -nologo | tail -2 )
}

extract() {  # bare git dir, target folder, path inside the repository
  rm -rf "${PEERS:?}/$2"; mkdir -p "$PEERS/$2"
  git --git-dir="$1" archive HEAD "$3" | tar -x -C "$PEERS/$2"
  git --git-dir="$1" log -1 --format='%H %cd' > "$PEERS/$2/COMMIT"
}

cli() {
  local dll="$repo/src/Reinforce.Cli/bin/Release/net10.0/Reinforce.Cli.dll"
  dotnet "$dll" "$@"
}

ours() {  # the preset's 100k steps: its training seconds are the figure compared with SB3's
  echo "== ours: reinforce train CartPole-v1 (preset, 100k steps) (load $(cut -d' ' -f1 /proc/loadavg))"
  rm -rf "$PEERS/run-preset"; cli train CartPole-v1 --quiet --out "$PEERS/run-preset" | grep Trained
}

ours_cleanrl() {  # CleanRL's ppo.py settings: steps/s compared with CleanRL's SPS
  echo "== ours: CleanRL's settings (tools/bench/peers/cleanrl_cartpole.json) (load $(cut -d' ' -f1 /proc/loadavg))"
  rm -rf "$PEERS/run-cleanrl"; cli train --config "$here/cleanrl_cartpole.json" --quiet --out "$PEERS/run-cleanrl" | grep Trained
}

gpt() {  # the demo GPT (4 x 128, batch 32 x 64): ours and PyTorch + OpenBLAS, on 1 and 2 threads each
  for t in 1 2; do
    echo "== ours: lm bench, $t threads (load $(cut -d' ' -f1 /proc/loadavg))"; cli lm bench --threads $t --sample-tokens 8 | grep 'training:'
  done
  for t in 1 2; do
    echo "== PyTorch GPT, $t threads (load $(cut -d' ' -f1 /proc/loadavg))"
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread $PY "$here/../gpt2_torch.py" --threads $t --batch 32 --vocab 65 \
      --context 64 --layers 4 --width 128 --heads 4 --steps 20 --warmup 3 --sample-batch 32 --sample-tokens 8 | grep 'training:'
  done
}

sb3() {
  echo "== SB3 PPO, rl-zoo CartPole-v1 settings, 100k steps, 1 torch thread (load $(cut -d' ' -f1 /proc/loadavg))"
  PYTHONPATH="$PEERS/gymnasium:$PEERS/sb3:$PEERS/shims" $PY "$here/sb3_ppo_cartpole.py" --steps 100000
}

cleanrl() {
  echo "== CleanRL ppo.py defaults (CartPole-v1, 4 x 128, 500k steps; torch threads: its default) (load $(cut -d' ' -f1 /proc/loadavg))"
  PYTHONPATH="$PEERS/gymnasium:$PEERS/shims" $PY "$here/cleanrl_ppo.py" "$PEERS/cleanrl/cleanrl/ppo.py" | grep '^SPS' | tail -1
}

run() {
  local rounds="${1:-3}"
  for ((i = 1; i <= rounds; i++)); do
    echo "#### round $i"
    ours; sb3; ours_cleanrl; cleanrl; gpt
  done
}

case "${1:-all}" in
  setup) setup ;;
  run) run "${2:-3}" ;;
  all) setup; run "${2:-3}" ;;
  *) echo "usage: $0 setup | run [rounds] | all [rounds]" >&2; exit 2 ;;
esac
