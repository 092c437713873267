#!/usr/bin/python3
"""Benchmark cases that ../shared/bench/make_cases.py does not build, in its format.

    /usr/bin/python3 train/extra_cases.py --bench ../shared/bench --clean ../shared/data/eval/CBSD68 --out CASES

Writes CASES/denoise15 (the score model's σ=15 evaluation; same conventions
and seeding rule as make_cases.py, task index 6) and CASES/sr2, CASES/sr4
(super-resolution: the clean image cropped to a multiple of the scale and
shrunk with PIL's bicubic resize, which antialiases as restore's operator
does; no noise). Re-running rewrites byte-identical files.

With --cross it writes only the deblurring crosses of make_cases.py's
kernels and noise levels, for tuning how the deblurring preset adapts to
them (task indices 7 and 8): CASES/deblur_gauss_low (the Gaussian kernel of
deblur_gauss, std 3, at deblur_levin's σ = 2.55) and CASES/deblur_levin_high
(Levin's kernels at deblur_gauss's σ = 6.375).
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="the folder holding make_cases.py")
    ap.add_argument("--clean", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cross", action="store_true", help="write only the deblurring crosses (see above)")
    a = ap.parse_args()
    sys.path.insert(0, a.bench)
    import make_cases as mc  # noqa: E402

    mc.CLEAN, mc.CASES = a.clean, a.out
    mc.NAMES[:] = sorted(os.path.splitext(f)[0] for f in os.listdir(a.clean) if f.lower().endswith(".png"))
    if a.cross:
        mc.TASKS["deblur_gauss_low"] = dict(mc.TASKS["deblur_gauss"], idx=7, sigma=2.55)
        mc.TASKS["deblur_levin_high"] = dict(mc.TASKS["deblur_levin"], idx=8, sigma=6.375)
        for task in ("deblur_gauss_low", "deblur_levin_high"):
            mc.make_task(task)
        return
    mc.TASKS["denoise15"] = dict(idx=6, kind="denoise", sigma=15.0)
    mc.make_task("denoise15")
    for scale in (2, 4):
        task = f"sr{scale}"
        out_dir = os.path.join(a.out, task)
        os.makedirs(out_dir, exist_ok=True)
        cases = []
        for ii, name in enumerate(mc.NAMES):
            im = Image.open(os.path.join(a.clean, name + ".png")).convert("RGB")
            w, h = im.width // scale * scale, im.height // scale * scale
            clean = im.crop((0, 0, w, h))
            clean_path = os.path.join(out_dir, name + ".clean.png")
            clean.save(clean_path)
            clean.resize((w // scale, h // scale), Image.BICUBIC).save(os.path.join(out_dir, name + ".png"))
            cases.append(dict(name=name, image_index=ii, clean=clean_path, degraded=f"{task}/{name}.png",
                              noise_sigma_8bit=0.0))
        manifest = dict(task=task, params=dict(kind="sr", scale=scale, sigma=0.0),
                        conventions=dict(degradation="clean cropped to multiples of scale (top left), "
                                         "PIL Image.resize(BICUBIC) by 1/scale, 8-bit RGB PNG"),
                        cases=cases)
        with open(os.path.join(out_dir, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        print(f"{task}: {len(cases)} cases")


if __name__ == "__main__":
    main()
