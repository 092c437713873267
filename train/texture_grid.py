"""Tune inpainting's texture stage (host.Texture) on the box-inpainting cases.

    /usr/bin/python3 train/texture_grid.py --cases CASES/inpaint_box128 [--limit N] [--out DIR]

For every case it restores, with bin/restore, the two parts the stage joins:
the estimate (the default method, 10 steps, --texture off) and the sample
(DDNM, eta=1, from sigma 5, 40 steps); then it combines their 8-bit results
as the stage does -- estimate + gain * (sample - its Gaussian blur) * fade,
the fade rising from 0 at NEAR to 1 at NEAR+RAMP pixels from the nearest
known pixel -- over a grid, and prints mean PSNR (8-bit RGB, peak 255) and
fill sharpness (as `restore eval` computes it) per setting. The restorations
are kept in --out, so a second run only recombines. Needs python3-numpy,
python3-scipy and python3-pil.
"""
import argparse
import itertools
import json
import os
import subprocess

import numpy as np
from PIL import Image
from scipy.ndimage import distance_transform_edt, gaussian_filter, maximum_filter

RUNS = {
    "estimate": ["--steps", "10", "--texture", "off"],
    "sample": ["--method", "ddnm", "--param", "eta=1", "--start-sigma", "5", "--steps", "40"],
}


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def psnr(x, clean):
    return 10 * np.log10(255**2 / np.mean((np.clip(np.round(x), 0, 255) - clean) ** 2))


def sharpness(x, missing, ring=16):
    """Mean gradient magnitude of the luminance inside the hole over that in a
    ring of known pixels around it (restore/eval_sharpness.go)."""
    x = np.clip(np.round(x), 0, 255)
    lum = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    near = maximum_filter(missing.astype(np.uint8), size=2 * ring + 1).astype(bool)
    gx, gy = np.zeros_like(lum), np.zeros_like(lum)
    gx[1:-1, 1:-1] = (lum[1:-1, 2:] - lum[1:-1, :-2]) / 2
    gy[1:-1, 1:-1] = (lum[2:, 1:-1] - lum[:-2, 1:-1]) / 2
    g = np.hypot(gx, gy)
    ok = np.zeros_like(missing)
    ok[1:-1, 1:-1] = True
    for shift in [(0, 1), (0, -1), (1, 0), (-1, 0)]:  # the stencil must not straddle the seam
        ok &= np.roll(missing, shift, (0, 1)) == missing
    return g[ok & missing].mean() / g[ok & ~missing & near].mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", required=True, help="the inpaint_box128 folder make_cases.py wrote")
    ap.add_argument("--limit", type=int, default=0, help="first N cases only (0: all)")
    ap.add_argument("--out", default="out/texture-grid", help="folder for the restorations")
    ap.add_argument("--restore", default="bin/restore")
    ap.add_argument("--gain", default="1.5,1.8,2,2.2")
    ap.add_argument("--scale", default="1.5,2,2.5", help="Gaussian blur std, pixels")
    ap.add_argument("--fade", default="1:3,2:2,2:4", help="NEAR:RAMP pairs, pixels")
    a = ap.parse_args()
    root = os.path.dirname(os.path.abspath(a.cases))
    cases = json.load(open(os.path.join(a.cases, "manifest.json")))["cases"]
    cases = cases[: a.limit] if a.limit else cases
    os.makedirs(a.out, exist_ok=True)
    grid = list(itertools.product([float(v) for v in a.gain.split(",")], [float(v) for v in a.scale.split(",")],
                                  [tuple(map(float, f.split(":"))) for f in a.fade.split(",")]))
    scores = {}
    for c in cases:
        paths = {}
        for name, args in RUNS.items():
            paths[name] = os.path.join(a.out, f"{name}_{c['name']}.png")
            if not os.path.exists(paths[name]):
                subprocess.run([a.restore, "--task", "inpaint", "--mask", os.path.join(root, c["mask"]), "--noise", "0",
                                "--progress", "none", "-q", *args, os.path.join(root, c["degraded"]), "-o", paths[name]],
                               check=True)
        clean = load(c["clean"])
        missing = np.asarray(Image.open(os.path.join(root, c["mask"]))) > 0
        est, smp = load(paths["estimate"]), load(paths["sample"])
        dist = distance_transform_edt(missing)
        scores.setdefault("estimate alone", []).append((psnr(est, clean), sharpness(est, missing)))
        scores.setdefault("sample alone", []).append((psnr(smp, clean), sharpness(smp, missing)))
        for gain, scale, (near, ramp) in grid:
            detail = smp - gaussian_filter(smp, sigma=(scale, scale, 0))
            fade = np.clip((dist - near) / ramp, 0, 1)[..., None]
            x = est + gain * detail * fade
            key = f"gain {gain:g}, blur {scale:g} px, fade {near:g}-{near + ramp:g} px"
            scores.setdefault(key, []).append((psnr(x, clean), sharpness(x, missing)))
    print(f"{len(cases)} cases: mean PSNR (dB), mean fill sharpness")
    for key, v in scores.items():
        v = np.array(v)
        print(f"{key:40s} {v[:, 0].mean():6.2f} {v[:, 1].mean():5.2f}")


if __name__ == "__main__":
    main()
