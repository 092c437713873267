#!/usr/bin/env bash
# Calls of the GPU machine (the `device` tool): benchmarks, then training.
#
# Here, once per session:
#     make device-prep
# copies the training photos and 4 validation images into the ignored folder
# .cache/device, and a compressed ONNX Runtime, a compressed host test binary
# and the Vulkan loader's and GL dispatch's Debian packages into
# .cache/device-gpu (two folders: together they pass the tool's 64 MiB).
# Then two calls, back to back so the machine stays warm (the checkpoint and
# the code travel with the working tree):
#     bash train/device.sh bench          carrying .cache/device-gpu
#     bash train/device.sh train 545      carrying .cache/device (seconds, all included)
#
# bench: BenchmarkDenoise on the CPU and with --device webgpu (Vulkan on the
#    NVIDIA driver), log in $OUT/bench.log.
# train: two trainings share the GPU until the time is up: "a" continues the
#    shipped checkpoint (train/checkpoints/latest.pt) and "b" trains the
#    config in $B_CONFIG (default unet-wide) from scratch. Their checkpoints
#    ($OUT/a.pt with its optimizer state a.pt.opt, and $OUT/b.pt with the
#    averaged weights alone: each file under the tool's 16 MiB; saved every 2 minutes, so a run cut short still
#    returns weights) and logs come back in $OUT; evaluate them here
#    (train/export.py, make bench-model) and ship the better.
#
# Runs unchanged on the CPU (OUT=/tmp/x bash train/device.sh train 60), which
# is how it is tested before a device call.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: train/device.sh bench | train SECONDS}
budget=${2:-545}
out=${OUT:?set OUT to the folder for the results}
b_config=${B_CONFIG:-unet-wide}
start=$(date +%s)
py=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null && py=/usr/bin/python3
export PYTHONUNBUFFERED=1

if [ "$mode" = bench ]; then
	g=.cache/device-gpu
	[ -d $g ] || { echo "device.sh: no $g (make device-prep)"; exit 1; }
	(
		set -x
		if command -v nvidia-smi >/dev/null; then
			nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
			# the NVIDIA Vulkan driver (libGLX_nvidia) needs the loader and GL dispatch
			for f in $g/*.deb; do dpkg -x "$f" /; done
			ldconfig
			icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
			[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
			export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
		fi
		w=$(mktemp -d)
		xz -dc $g/libonnxruntime.so.1.xz >"$w/libonnxruntime.so.1"
		xz -dc $g/host.test.xz >"$w/host.test" && chmod +x "$w/host.test"
		export ONNXRUNTIME_SHARED_LIBRARY_PATH=$w/libonnxruntime.so.1
		cd host
		for dev in cpu webgpu; do
			RESTORE_DEVICE=$dev timeout 70 "$w/host.test" -test.run '^$' -test.bench '^BenchmarkDenoise$' \
				-test.benchtime 10x -test.count 1
		done
	) >"$out/bench.log" 2>&1
	grep -E '^Benchmark|Warning|rror' "$out/bench.log"
	echo "bench done after $(($(date +%s) - start)) s"
	exit 0
fi
[ "$mode" = train ] || { echo "device.sh: unknown mode $mode"; exit 2; }

# The commit the checkpoints record (make device-prep wrote it; commit first).
[ -f .cache/device/commit ] && export TRAIN_COMMIT=$(cat .cache/device/commit)

# Both runs stop 50 s before the budget: the final validation and save.
left=$((budget - ($(date +%s) - start) - 50))
minutes=$(awk -v s="$left" 'BEGIN{printf "%.2f", s/60}')
echo "training for $minutes minutes"
batch=16 bf16=
if $py -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
	batch=128 bf16=--bf16
fi
common=(--data .cache/device/train-photos --val .cache/device/val --minutes "$minutes" --patch 96
	--batch "$batch" $bf16 --threads 4 --decay-frac 0.6 --save-every 2 --warmup 300)
cp train/checkpoints/latest.pt "$out/a.pt"
$py train/train.py "${common[@]}" --checkpoint "$out/a.pt" --save split --lr 1e-4 --lr-final 5e-6 >"$out/a.log" 2>&1 &
$py train/train.py "${common[@]}" --checkpoint "$out/b.pt" --save ema --config "$b_config" --lr 5e-4 --lr-final 1e-5 \
	--seed 1 >"$out/b.log" 2>&1 &
wait
tail -n 3 "$out/a.log" "$out/b.log"
echo "done after $(($(date +%s) - start)) s"
