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
(Levin's kernels at deblur_gauss's σ = 6.375), and a defocus blur:
CASES/deblur_disk and CASES/deblur_disk_high (task indices 9 and 10), a
uniform disk of radius 4 (antialiased, 9×9) at σ = 2.55 and 6.375, and
CASES/deblur_disk6 (index 11), radius 6 (13×13) at σ = 2.55.

With --defocus it writes only kernels held out from that tuning, to check
the rules found on the crosses (68 cases each, σ = 2.55 unless noted; the
task index in parentheses):

    deblur_disk2, deblur_disk3, deblur_disk8   disks of radius 2, 3, 8 (17, 12, 13)
    deblur_disk6_high                          disk of radius 6, σ = 6.375 (14)
    deblur_box                                 uniform 7×7 box (15)
    deblur_gauss1, deblur_gauss2, deblur_gauss25   Gaussians of std 1.5, 2, 2.5 (19–21)
    deblur_line, deblur_line7, deblur_line5    straight motion: 11 px at 30°, 7 px at 0°, 5 px at 60° (16, 18, 23)
    deblur_line21, deblur_line31               21 px at 45°, 31 px at 10° (22, 24)
    deblur_line25_high                         25 px at 100°, σ = 6.375 (25)

With --motion it writes straight-motion kernels in two rounds (68 cases
each). The first (task indices 26–31) checked session 10's motion λ and,
with --defocus's lines, then fitted session 11's thin-line rule: deblur_line15_70 (15 px
at 70°), deblur_line25_0 (25 px at 0°), deblur_line17_135 (17 px at 135°),
deblur_line35_160 (35 px at 160°), deblur_line13_high (13 px at 20°, σ =
6.375) and deblur_line9_110 (9 px at 110°).

Its second round (indices 32–37), held out from the rule the first shaped:
deblur_line19_25, deblur_line13_45, deblur_line41_5, deblur_line27_120,
deblur_line11_90 (length_angle, σ = 2.55) and deblur_line21_150_mid (21 px
at 150°, σ = 4). Then deblur_motion15 (index 40): the test suite's curved
stroke, fixtures/kernels/motion15, at σ = 2.55, which set where a stroke
stops being thin.

With --shake it writes random camera shakes (shake_kernel: eight seeded
trajectories of 13–27 px, image i blurred by the (i mod 8 + 1)-th, as
make_cases.py does with Levin's): deblur_shake (σ = 2.55, index 38) and
deblur_shake_high (σ = 6.375, index 39).

With --disks it writes defocus kernels held out from session 11's start-σ
rule: disks of radius 5 and 10 and an 11×11 box at σ = 2.55, and a disk
of radius 5 at σ = 4 (deblur_disk5, deblur_disk10, deblur_box11,
deblur_disk5_mid; indices 41–44); then disks of radius 4 and 8 at σ = 4
(deblur_disk4_mid, deblur_disk8_mid; 45, 46), for where the rule stops,
and to check that: a disk of radius 10 at σ = 6.375 and the 11×11 box at
σ = 4 (deblur_disk10_high, deblur_box11_mid; 47, 48).

With --noisy it writes deblurring at σ = 12.75 (5% of the range), past the
noise the presets were tuned at: deblur_levin_noisy and deblur_gauss_noisy
(make_cases.py's kernels; indices 49, 50), disks of radius 4, 6 and 10
(deblur_disk4_noisy, deblur_disk6_noisy, deblur_disk10_noisy; 51–53), the
random shakes (deblur_shake_noisy, 54) and a 17-pixel line at 135°
(deblur_line17_noisy, 55). Then, held out from the start-σ rule those
shaped: a 9×9 box at σ = 6.375 (deblur_box9_high, 56), a disk of radius
4.5 at σ = 5 (deblur_disk45_mid, 57), radius 7 at σ = 10
(deblur_disk7_noisy, 58), an 11×11 box at σ = 12.75 (deblur_box11_noisy,
59) and radius 4 at σ = 20 (deblur_disk4_vnoisy, 60). Last, motion at
σ = 20: Levin's kernels (deblur_levin_vnoisy, 61) and the random shakes
(deblur_shake_vnoisy, 62), and held out from the start σ those set,
Levin's kernels and a 23-pixel line at 60° at σ = 16 (deblur_levin16,
deblur_line23_16; 63, 64).

With --mild it writes mild defocus in noisy photos (session 13): disks of
radius 2 and 3 at σ = 12.75 (deblur_disk2_noisy, deblur_disk3_noisy; 65,
67), radius 3 at σ = 6.375 (deblur_disk3_high, 66), the 7×7 box and a
Gaussian of std 1.5 at σ = 12.75 (deblur_box7_noisy, deblur_gauss1_noisy;
68, 69), radius 3 at σ = 4 (deblur_disk3_mid, 73); then, held out from the
rule those set, a disk of radius 2.5 at σ = 5 (deblur_disk25_mid, 74), a
5×5 box at σ = 10 (deblur_box5_noisy, 75) and radius 3 at σ = 20
(deblur_disk3_vnoisy, 76).

With --heavy it writes motion in very noisy photos, held out from the
motion λ set at σ = 12.75 and 20 (session 13): Levin's kernels and the
random shakes at σ = 25 (deblur_levin25, deblur_shake25; 70, 71) and a
15-pixel line at 40° at σ = 20 (deblur_line15_20, 72).

With --midlines it writes straight lines at σ = 4, for the thin-line
boost between σ 2.55 and 6.375 (session 13): 17 px at 135°, 21 px at 45°
and 11 px at 30° (deblur_line17_135_mid, deblur_line21_45_mid,
deblur_line11_30_mid; 77–79); then, held out from the fade those set,
19 px at 25° at σ = 3.2 and 27 px at 120° at σ = 5 (deblur_line19_25_low,
deblur_line27_120_mid; 80, 81).

With --thinheavy it writes straight lines in very noisy photos, held out
from the exception session 13 made for thin strokes past σ 12.75 (they keep
λ 0.5 where other motion's grows as √σ): 13 px at 75° at σ = 16, 25 px at
150° at σ = 25 and 19 px at 10° at σ = 14 (deblur_line13_75_16,
deblur_line25_150_25, deblur_line19_10_14; 82–84).

The --defocus kernels were added in rounds, each after the rule before it had been checked,
so only the first round (disks of radius 3 and 8, radius 6 at σ = 6.375,
the box, the 11-pixel line) checked a rule it had not shaped (docs/tuning.md:
deblurring's λ).
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
    ap.add_argument("--defocus", action="store_true", help="write only the held-out deblurring kernels (see above)")
    ap.add_argument("--motion", action="store_true", help="write only the held-out straight-motion kernels (see above)")
    ap.add_argument("--shake", action="store_true", help="write only the random camera-shake kernels (see above)")
    ap.add_argument("--disks", action="store_true", help="write only the held-out defocus kernels for the start σ (see above)")
    ap.add_argument("--noisy", action="store_true", help="write only the deblurring cases at σ = 12.75 (see above)")
    ap.add_argument("--mild", action="store_true", help="write only mild defocus in noisy photos (see above)")
    ap.add_argument("--midlines", action="store_true", help="write only straight lines at σ = 3.2 to 5 (see above)")
    ap.add_argument("--heavy", action="store_true", help="write only motion in very noisy photos (see above)")
    ap.add_argument("--thinheavy", action="store_true", help="write only straight lines in very noisy photos (see above)")
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
        make_disk_task(mc, a.out, "deblur_disk", 9, radius=4, sigma=2.55)
        make_disk_task(mc, a.out, "deblur_disk_high", 10, radius=4, sigma=6.375)
        make_disk_task(mc, a.out, "deblur_disk6", 11, radius=6, sigma=2.55)
        return
    if a.defocus:
        make_disk_task(mc, a.out, "deblur_disk3", 12, radius=3, sigma=2.55)
        make_disk_task(mc, a.out, "deblur_disk8", 13, radius=8, sigma=2.55)
        make_disk_task(mc, a.out, "deblur_disk6_high", 14, radius=6, sigma=6.375)
        make_disk_task(mc, a.out, "deblur_box", 15, 0, 2.55, np.full((7, 7), 1 / 49), "uniform 7x7 box")
        make_disk_task(mc, a.out, "deblur_line", 16, 0, 2.55, line_kernel(11, 30), "line length 11 at 30 degrees")
        make_disk_task(mc, a.out, "deblur_disk2", 17, radius=2, sigma=2.55)
        make_disk_task(mc, a.out, "deblur_line7", 18, 0, 2.55, line_kernel(7, 0), "line length 7 at 0 degrees")
        make_disk_task(mc, a.out, "deblur_gauss1", 19, 0, 2.55, mc.gauss_kernel(1.5, 6), "gaussian std 1.5 radius 6")
        make_disk_task(mc, a.out, "deblur_gauss2", 20, 0, 2.55, mc.gauss_kernel(2, 8), "gaussian std 2 radius 8")
        make_disk_task(mc, a.out, "deblur_gauss25", 21, 0, 2.55, mc.gauss_kernel(2.5, 10), "gaussian std 2.5 radius 10")
        make_disk_task(mc, a.out, "deblur_line21", 22, 0, 2.55, line_kernel(21, 45), "line length 21 at 45 degrees")
        make_disk_task(mc, a.out, "deblur_line5", 23, 0, 2.55, line_kernel(5, 60), "line length 5 at 60 degrees")
        make_disk_task(mc, a.out, "deblur_line31", 24, 0, 2.55, line_kernel(31, 10), "line length 31 at 10 degrees")
        make_disk_task(mc, a.out, "deblur_line25_high", 25, 0, 6.375, line_kernel(25, 100), "line length 25 at 100 degrees")
        return
    if a.disks:
        make_disk_task(mc, a.out, "deblur_disk5", 41, radius=5, sigma=2.55)
        make_disk_task(mc, a.out, "deblur_disk10", 42, radius=10, sigma=2.55)
        make_disk_task(mc, a.out, "deblur_box11", 43, 0, 2.55, np.full((11, 11), 1 / 121), "uniform 11x11 box")
        make_disk_task(mc, a.out, "deblur_disk5_mid", 44, radius=5, sigma=4.0)
        make_disk_task(mc, a.out, "deblur_disk4_mid", 45, radius=4, sigma=4.0)
        make_disk_task(mc, a.out, "deblur_disk8_mid", 46, radius=8, sigma=4.0)
        make_disk_task(mc, a.out, "deblur_disk10_high", 47, radius=10, sigma=6.375)
        make_disk_task(mc, a.out, "deblur_box11_mid", 48, 0, 4.0, np.full((11, 11), 1 / 121), "uniform 11x11 box")
        return
    if a.noisy:
        mc.TASKS["deblur_levin_noisy"] = dict(mc.TASKS["deblur_levin"], idx=49, sigma=12.75)
        mc.TASKS["deblur_gauss_noisy"] = dict(mc.TASKS["deblur_gauss"], idx=50, sigma=12.75)
        for task in ("deblur_levin_noisy", "deblur_gauss_noisy"):
            mc.make_task(task)
        make_disk_task(mc, a.out, "deblur_disk4_noisy", 51, radius=4, sigma=12.75)
        make_disk_task(mc, a.out, "deblur_disk6_noisy", 52, radius=6, sigma=12.75)
        make_disk_task(mc, a.out, "deblur_disk10_noisy", 53, radius=10, sigma=12.75)
        make_shake_tasks(mc, a.out, (("deblur_shake_noisy", 54, 12.75),))
        make_disk_task(mc, a.out, "deblur_line17_noisy", 55, 0, 12.75, line_kernel(17, 135), "line length 17 at 135 degrees")
        # held out from the rule the cases above shaped
        make_disk_task(mc, a.out, "deblur_box9_high", 56, 0, 6.375, np.full((9, 9), 1 / 81), "uniform 9x9 box")
        make_disk_task(mc, a.out, "deblur_disk45_mid", 57, radius=4.5, sigma=5.0)
        make_disk_task(mc, a.out, "deblur_disk7_noisy", 58, radius=7, sigma=10.0)
        make_disk_task(mc, a.out, "deblur_box11_noisy", 59, 0, 12.75, np.full((11, 11), 1 / 121), "uniform 11x11 box")
        make_disk_task(mc, a.out, "deblur_disk4_vnoisy", 60, radius=4, sigma=20.0)
        # motion at σ = 20, for motion's start σ
        mc.TASKS["deblur_levin_vnoisy"] = dict(mc.TASKS["deblur_levin"], idx=61, sigma=20.0)
        mc.make_task("deblur_levin_vnoisy")
        make_shake_tasks(mc, a.out, (("deblur_shake_vnoisy", 62, 20.0),))
        # held out from motion's start σ
        mc.TASKS["deblur_levin16"] = dict(mc.TASKS["deblur_levin"], idx=63, sigma=16.0)
        mc.make_task("deblur_levin16")
        make_disk_task(mc, a.out, "deblur_line23_16", 64, 0, 16.0, line_kernel(23, 60), "line length 23 at 60 degrees")
        return
    if a.mild:
        make_disk_task(mc, a.out, "deblur_disk2_noisy", 65, radius=2, sigma=12.75)
        make_disk_task(mc, a.out, "deblur_disk3_high", 66, radius=3, sigma=6.375)
        make_disk_task(mc, a.out, "deblur_disk3_noisy", 67, radius=3, sigma=12.75)
        make_disk_task(mc, a.out, "deblur_box7_noisy", 68, 0, 12.75, np.full((7, 7), 1 / 49), "uniform 7x7 box")
        make_disk_task(mc, a.out, "deblur_gauss1_noisy", 69, 0, 12.75, mc.gauss_kernel(1.5, 6), "gaussian std 1.5 radius 6")
        make_disk_task(mc, a.out, "deblur_disk3_mid", 73, radius=3, sigma=4.0)
        # held out from the rule the cases above shaped
        make_disk_task(mc, a.out, "deblur_disk25_mid", 74, radius=2.5, sigma=5.0)
        make_disk_task(mc, a.out, "deblur_box5_noisy", 75, 0, 10.0, np.full((5, 5), 1 / 25), "uniform 5x5 box")
        make_disk_task(mc, a.out, "deblur_disk3_vnoisy", 76, radius=3, sigma=20.0)
        return
    if a.heavy:
        mc.TASKS["deblur_levin25"] = dict(mc.TASKS["deblur_levin"], idx=70, sigma=25.0)
        mc.make_task("deblur_levin25")
        make_shake_tasks(mc, a.out, (("deblur_shake25", 71, 25.0),))
        make_disk_task(mc, a.out, "deblur_line15_20", 72, 0, 20.0, line_kernel(15, 40), "line length 15 at 40 degrees")
        return
    if a.midlines or a.thinheavy:
        for task, idx, length, degrees, sigma in (MIDLINES if a.midlines else THINHEAVY):
            make_disk_task(mc, a.out, task, idx, 0, sigma, line_kernel(length, degrees),
                           f"line length {length} at {degrees} degrees")
        return
    if a.shake:
        make_shake_tasks(mc, a.out, (("deblur_shake", 38, 2.55), ("deblur_shake_high", 39, 6.375)))
        return
    if a.motion:
        for task, idx, length, degrees, sigma in MOTION:
            make_disk_task(mc, a.out, task, idx, 0, sigma, line_kernel(length, degrees),
                           f"line length {length} at {degrees} degrees")
        stroke = np.loadtxt(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "kernels", "motion15.txt"))
        make_disk_task(mc, a.out, "deblur_motion15", 40, 0, 2.55, stroke / stroke.sum(), "fixtures/kernels/motion15")
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


# The straight lines --midlines writes, at σ = 4, between the noise levels
# the thin-line boost was set at (full at σ 2.55, none at 6.375): task,
# index, length (pixels), angle (degrees), σ.
MIDLINES = (
    ("deblur_line17_135_mid", 77, 17, 135, 4.0),
    ("deblur_line21_45_mid", 78, 21, 45, 4.0),
    ("deblur_line11_30_mid", 79, 11, 30, 4.0),
    # held out from the fade those set
    ("deblur_line19_25_low", 80, 19, 25, 3.2),
    ("deblur_line27_120_mid", 81, 27, 120, 5.0),
)

# The straight lines --thinheavy writes, past σ 12.75: task, index, length
# (pixels), angle (degrees), σ.
THINHEAVY = (
    ("deblur_line13_75_16", 82, 13, 75, 16.0),
    ("deblur_line25_150_25", 83, 25, 150, 25.0),
    ("deblur_line19_10_14", 84, 19, 10, 14.0),
)

# The straight-motion kernels --motion writes: task, index, length (pixels),
# angle (degrees), σ (8-bit).
MOTION = [
    ("deblur_line15_70", 26, 15, 70, 2.55),
    ("deblur_line25_0", 27, 25, 0, 2.55),
    ("deblur_line17_135", 28, 17, 135, 2.55),
    ("deblur_line35_160", 29, 35, 160, 2.55),
    ("deblur_line13_high", 30, 13, 20, 6.375),
    ("deblur_line9_110", 31, 9, 110, 2.55),
    # second round, held out from the rule the first round shaped
    ("deblur_line19_25", 32, 19, 25, 2.55),
    ("deblur_line13_45", 33, 13, 45, 2.55),
    ("deblur_line41_5", 34, 41, 5, 2.55),
    ("deblur_line27_120", 35, 27, 120, 2.55),
    ("deblur_line11_90", 36, 11, 90, 2.55),
    ("deblur_line21_150_mid", 37, 21, 150, 4.0),
]


def shake_kernel(n, size=(13, 17, 21, 25, 15, 19, 23, 27)):
    """The n-th (1–8) random camera shake: a trajectory of 512 points whose
    velocity turns and changes speed at random (in the manner of Boracchi
    and Foi, 2012), scaled to fit size[n-1] pixels and splatted onto the
    grid bilinearly. Seeded by n, so the kernels repeat."""
    rng = np.random.default_rng(9100 + n)
    v = np.exp(1j * rng.uniform(0, 2 * np.pi))
    p = [0j]
    for _ in range(511):
        v = v * np.exp(1j * rng.normal(0, 0.25)) * (1 + rng.normal(0, 0.05))
        v /= max(abs(v), 1e-9) / min(max(abs(v), 0.3), 1.5)
        p.append(p[-1] + v)
    p = np.array(p)
    p -= (p.real.min() + p.real.max()) / 2 + 1j * (p.imag.min() + p.imag.max()) / 2
    s = size[n - 1]
    p *= (s - 2) / max(np.ptp(p.real), np.ptp(p.imag))
    c = s // 2
    k = np.zeros((s, s))
    x, y = p.real + c, p.imag + c
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(k, (np.clip(y0 + dy, 0, s - 1), np.clip(x0 + dx, 0, s - 1)), wy * wx)
    return k / k.sum()


def make_shake_tasks(mc, out, tasks):
    """CASES/TASK for each (task, index, σ) through make_cases.py's Levin
    path (image i blurred by the (i mod 8 + 1)-th kernel), with the random
    camera shakes of shake_kernel in place of Levin's."""
    levin = mc.levin_kernel
    mc.levin_kernel = shake_kernel
    try:
        for task, idx, sigma in tasks:
            mc.TASKS[task] = dict(idx=idx, kind="deblur", kernel="levin", sigma=sigma)
            mc.make_task(task)
            path = os.path.join(out, task, "manifest.json")
            with open(path) as f:
                manifest = json.load(f)
            manifest["params"] = dict(kind="deblur", kernel="random camera shake (train/extra_cases.py shake_kernel)", sigma=sigma)
            for c in manifest["cases"]:
                c["kernel_source"] = c["kernel_source"].replace("levin09/levin_k", "shake")
            with open(path, "w") as f:
                json.dump(manifest, f, indent=1)
    finally:
        mc.levin_kernel = levin


def disk_kernel(radius, supersample=16):
    """A uniform disk of the given radius, each tap weighted by the share of its pixel inside."""
    n = int(np.ceil(radius - 0.5))
    u = (np.arange(supersample) + 0.5) / supersample - 0.5
    k = np.zeros((2 * n + 1, 2 * n + 1))
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            yy, xx = np.meshgrid(i + u, j + u, indexing="ij")
            k[i + n, j + n] = np.mean(yy ** 2 + xx ** 2 <= radius ** 2)
    return k / k.sum()


def line_kernel(length, degrees, supersample=16):
    """A straight motion blur: a segment of the given length (pixels) at
    the given angle, each tap weighted by the segment's length within its
    pixel (the segment sampled finely and binned)."""
    n = int(np.ceil(length / 2))
    t = (np.arange(length * supersample * 4) + 0.5) / (length * supersample * 4) - 0.5
    a = np.radians(degrees)
    xs, ys = t * length * np.cos(a), -t * length * np.sin(a)
    k = np.zeros((2 * n + 1, 2 * n + 1))
    np.add.at(k, (np.round(ys).astype(int) + n, np.round(xs).astype(int) + n), 1.0)
    rows, cols = np.flatnonzero(k.any(axis=1)), np.flatnonzero(k.any(axis=0))
    r, c = min(rows[0], 2 * n - rows[-1]), min(cols[0], 2 * n - cols[-1])  # trimmed evenly: centre kept
    k = k[r:2 * n + 1 - r, c:2 * n + 1 - c]
    return k / k.sum()


def make_disk_task(mc, out, task, idx, radius, sigma, kernel=None, source=None):
    """CASES/TASK through make_cases.py's own deblurring path (its seeding,
    noise and files), with the disk (or the given kernel, described by
    source) in place of its Gaussian kernel."""
    if kernel is None:
        kernel, source = disk_kernel(radius), f"disk radius {radius}"
    mc.TASKS[task] = dict(idx=idx, kind="deblur", kernel="disk", gauss_std=0.0, gauss_radius=0, sigma=sigma)
    gauss = mc.gauss_kernel
    mc.gauss_kernel = lambda std, r: kernel
    try:
        mc.make_task(task)
    finally:
        mc.gauss_kernel = gauss
    path = os.path.join(out, task, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    manifest["params"] = dict(kind="deblur", kernel=source, sigma=sigma)
    for c in manifest["cases"]:
        c["kernel_source"] = source
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
