#!/usr/bin/env bash
# Train on a GPU machine (the `device` tool), then bring the weights back.
#
# Here, once per session (copies the training photos and 8 validation images,
# ~34 MB, into the ignored folder .cache/device):
#     make device-prep
# Then one call of the device tool, carrying .cache/device (the checkpoint and
# the code travel with the working tree):
#     bash train/device.sh 9        # minutes of training
# $OUT receives latest.pt, default.onnx (+ .reference.json) and train.log;
# copy latest.pt to train/checkpoints/ and re-run train/export.py here (the
# ONNX from the GPU is for a quick look; the shipped one is exported here).
#
# Runs unchanged on the CPU (OUT=/tmp/x bash train/device.sh 0.2 trains
# a copy for 12 seconds), which is how it is tested before a device call.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-9}
out=${OUT:?set OUT to the folder for the results}
py=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null && py=/usr/bin/python3
work=$(mktemp -d)
cp train/checkpoints/latest.pt "$work/latest.pt"
export PYTHONUNBUFFERED=1
# On a GPU the crops (numpy, one core) are the bottleneck: a larger batch keeps
# the GPU busy per crop made; the learning rate anneals over the last half.
batch=16
$py -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' && batch=64
$py train/train.py --data .cache/device/train-photos --val .cache/device/val \
	--checkpoint "$work/latest.pt" --minutes "$minutes" --batch "$batch" --threads 4 \
	--lr 1e-4 --lr-final 1e-5 --decay-frac 0.5 --save-every 2 2>&1 | tee "$out/train.log"
cp "$work/latest.pt" "$out/latest.pt"
$py train/export.py --checkpoint "$work/latest.pt" --out "$out/default.onnx"
rm -rf "$work"
