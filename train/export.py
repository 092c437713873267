"""Export a training checkpoint to ONNX with the metadata the restore host reads.

    /usr/bin/python3 train/export.py [--checkpoint train/checkpoints/latest.pt] [--out fixtures/models/default.onnx]

Writes OUT (EMA weights, opset 17, dynamic N/H/W) and OUT with the suffix
.reference.json: a small input, its sigma and PyTorch's output, which the Go
tests run through ONNX Runtime to check that both agree.
"""
import argparse
import json
import os
import subprocess
import sys

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402


def describe(config, net):
    """One line on the architecture, read off the network itself."""
    u = net.net
    widths = [m.out_channels for m in u.down]
    widths = [u.head.out_channels] + widths
    res = "2x2 pixel-unshuffle" if u.factor > 1 else "full resolution"
    blocks = len(u.mid)
    return (f"{config}: residual U-Net at {res}, widths {'/'.join(map(str, widths))}, "
            f"{blocks} residual block(s) per level, noise level as an input channel")


def training_commands(state, config, a):
    """The runs that made the weights, in order, with their hardware (older
    checkpoints did not record them: then the last run's arguments)."""
    runs = state.get("runs")
    if not runs:
        return (f"train/train.py --config {config} --patch {a.get('patch')} --batch {a.get('batch')} "
                f"--lr {a.get('lr')}")
    return "; ".join(f"{r['command']} [{r['hardware']}, {r['minutes']} min, {r['patches']} patches]" for r in runs)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=os.path.join(here, "checkpoints", "latest.pt"))
    ap.add_argument("--out", default=os.path.join(here, "..", "fixtures", "models", "default.onnx"))
    args = ap.parse_args()

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)  # our own file: dicts of state
    net = M.build(ck["config"])
    net.load_state_dict(ck["ema"])
    net.eval()
    mult = M.size_multiple(net)
    state = ck["state"]
    hist = state.get("history", [])

    x = torch.randn(1, 3, 2 * mult, 2 * mult)
    sigma = torch.tensor([0.3])
    tmp = args.out + ".tmp"
    torch.onnx.export(net, (x, sigma), tmp, input_names=["x", "sigma"], output_names=["denoised"],
                      dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "sigma": {0: "n"}, "denoised": {0: "n", 2: "h", 3: "w"}},
                      opset_version=17)
    m = onnx.load(tmp)
    a = ck.get("args", {})
    props = {
        "restore.parameterization": "edm-denoiser",
        "restore.data_range": "-1,1",
        "restore.sigma_min": str(M.SIGMA_MIN),
        "restore.sigma_max": str(M.SIGMA_MAX),
        "restore.sigma_data": str(M.SIGMA_DATA),
        "restore.size_multiple": str(mult),
        "restore.channels": "3",
        # train.py draws every crop flipped and turned at random: the host may
        # evaluate the model on turned copies (ensemble, cycling)
        "restore.augmentation": "dihedral",
        "restore.architecture": describe(ck["config"], net),
        "restore.parameters": str(M.param_count(net)),
        "restore.training_data": "105 photographs from Debian packages (shared/data/train-photos; credits in MODEL.md)",
        "restore.training_command": training_commands(state, ck["config"], a),
        "restore.training_patches": str(state["patches"]),
        "restore.training_hours": f"{state['seconds'] / 3600:.2f}",
        "restore.training_commit": ck.get("commit", "unknown"),
        "restore.val_psnr25": f"{hist[-1]['psnr25']:.2f}" if hist else "",
    }
    del m.metadata_props[:]
    for k, v in props.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, tmp)
    os.replace(tmp, args.out)

    g = torch.Generator().manual_seed(1)
    rx = torch.rand(1, 3, mult * 2, mult * 3, generator=g) * 2 - 1
    rs = torch.tensor([0.25])
    rx = rx + rs * torch.randn(rx.shape, generator=g)
    with torch.no_grad():
        out = net(rx, rs)
    ref = {"shape": list(rx.shape), "sigma": rs.item(), "x": rx.flatten().tolist(), "denoised": out.flatten().tolist()}
    with open(os.path.splitext(args.out)[0] + ".reference.json", "w") as f:
        json.dump(ref, f)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes, {M.param_count(net)} parameters, "
          f"{state['patches']} patches, {state['seconds'] / 3600:.2f} h")


if __name__ == "__main__":
    main()
