"""Train the score model (EDM denoiser) on random crops of natural photographs.

    /usr/bin/python3 train/train.py --minutes 60

Resumes from --checkpoint when it exists, so training continues across sessions.
Runs on the CPU (2 threads by default) and unchanged on a CUDA GPU.
"""
import argparse
import glob
import math
import os
import random
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402


def load_photos(folder, max_side):
    """Every JPEG/PNG in folder as a uint8 HxWx3 tensor (shrunk to max_side to bound memory)."""
    photos = []
    for path in sorted(glob.glob(os.path.join(folder, "*.jpg")) + glob.glob(os.path.join(folder, "*.png"))):
        im = Image.open(path).convert("RGB")
        if max(im.size) > max_side:
            f = max_side / max(im.size)
            im = im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS)
        photos.append(torch.from_numpy(np.asarray(im).copy()))
    if not photos:
        raise SystemExit(f"train: no photos in {folder}")
    return photos


class Crops:
    """Random crops with random downscaling, flips and 90-degree rotations, in [-1, 1].

    The downscaled copies are made once, at load time (a pyramid of scales
    from 1 down to min_scale), so a crop is a slice: resampling every patch
    cost as much time as the network's training step.
    """

    def __init__(self, photos, patch, min_scale, gen, levels=6, weighting="photo"):
        self.patch = patch
        self.gen = gen
        scales = [min_scale ** (i / (levels - 1)) for i in range(levels)]
        self.images = []
        for p in photos:
            t = p.permute(2, 0, 1).unsqueeze(0).float()
            for s in scales:
                h, w = round(p.shape[0] * s), round(p.shape[1] * s)
                if min(h, w) < patch:
                    continue
                im = t if s == 1 else F.interpolate(t, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
                self.images.append(im[0].round().clamp(0, 255).to(torch.uint8))
        self.weights = self._weights(photos, scales, weighting)

    def _weights(self, photos, scales, weighting):
        """How often each (photo, scale) image is drawn.

        "area": in proportion to pixels, so large photos at full size dominate;
        their 64-pixel crops are mostly smooth sky and wall. "photo": every
        photo equally often, every usable scale of it equally often, so crops
        carry the detail density of photographs viewed whole (as the
        evaluation sets are).
        """
        if weighting == "area":
            areas = np.array([im.shape[1] * im.shape[2] for im in self.images], dtype=np.float64)
            return areas / areas.sum()
        if weighting != "photo":
            raise SystemExit(f"train: unknown --weighting {weighting!r}")
        per_photo = [sum(1 for s in scales if min(round(p.shape[0] * s), round(p.shape[1] * s)) >= self.patch)
                     for p in photos]
        w = np.concatenate([np.full(n, 1.0 / n) for n in per_photo if n])
        return w / w.sum()

    def flat(self, device):
        """Move every image into one flat HWC uint8 buffer on device, so a whole
        batch of crops is one gather (on a GPU the per-crop Python loop, not the
        network, was the bottleneck)."""
        parts, offs, hs, ws = [], [], [], []
        off = 0
        for im in self.images:
            c, h, w = im.shape
            parts.append(im.permute(1, 2, 0).reshape(-1))
            offs.append(off)
            hs.append(h)
            ws.append(w)
            off += h * w * c
        self.buf = torch.cat(parts).to(device)
        self.offs = torch.tensor(offs, dtype=torch.long, device=device)
        self.hs = np.array(hs)
        self.ws = np.array(ws)
        self.ws_t = torch.tensor(ws, dtype=torch.long, device=device)
        self.device = device
        self.images = None  # the buffer holds them now

    def batch(self, n):
        """n random crops (random image and scale, position, flip, 90-degree turn) in [-1, 1], NCHW."""
        r, p = self.gen, self.patch
        idx = r.choice(len(self.offs), size=n, p=self.weights)
        y0 = (r.random(n) * (self.hs[idx] - p + 1)).astype(np.int64)
        x0 = (r.random(n) * (self.ws[idx] - p + 1)).astype(np.int64)
        turn = r.integers(0, 4, size=n)
        flip = r.random(n) < 0.5
        dev = self.device
        t = lambda a: torch.from_numpy(np.asarray(a)).to(dev)
        u = torch.arange(p, device=dev).reshape(1, p, 1)
        v = torch.arange(p, device=dev).reshape(1, 1, p)
        # output pixel (u, v) reads source pixel (a, b) of the crop: a flip
        # mirrors v, then k quarter-turns map (u, v) as rot90 does
        v = torch.where(t(flip).reshape(-1, 1, 1), p - 1 - v, v).expand(n, p, p)
        u = u.expand(n, p, p)
        k = t(turn).reshape(-1, 1, 1)
        a = torch.where(k == 0, u, torch.where(k == 1, v, torch.where(k == 2, p - 1 - u, p - 1 - v)))
        b = torch.where(k == 0, v, torch.where(k == 1, p - 1 - u, torch.where(k == 2, p - 1 - v, u)))
        idx_t = t(idx)
        row = t(y0).reshape(-1, 1, 1) + a
        col = t(x0).reshape(-1, 1, 1) + b
        base = self.offs[idx_t].reshape(-1, 1, 1) + (row * self.ws_t[idx_t].reshape(-1, 1, 1) + col) * 3
        gather = base.unsqueeze(1) + torch.arange(3, device=dev).reshape(1, 3, 1, 1)
        return self.buf[gather].float() / 127.5 - 1.0


def sample_sigmas(n, gen, device):
    """Log-normal around the range restoration uses, plus a log-uniform tail over [SIGMA_MIN, 20]."""
    ln = torch.from_numpy(gen.normal(-1.6, 1.3, size=n)).float()
    tail = torch.from_numpy(gen.uniform(math.log(M.SIGMA_MIN), math.log(20.0), size=n)).float()
    pick = torch.from_numpy(gen.random(n) < 0.2)
    return torch.exp(torch.where(pick, tail, ln)).clamp(M.SIGMA_MIN, M.SIGMA_MAX).to(device)


def val_psnr(ema, files, sigma8, device, seed=0):
    """Mean PSNR (8-bit, peak 255) of one-step denoising on the given clean images."""
    g = torch.Generator().manual_seed(seed)
    scores = []
    if not files:
        return float("nan")
    ema.eval()
    with torch.no_grad():
        for f in files:
            im = np.asarray(Image.open(f).convert("RGB"))
            mult = M.size_multiple(ema)
            h, w = (im.shape[0] // mult) * mult, (im.shape[1] // mult) * mult
            x = torch.from_numpy(im[:h, :w].copy()).permute(2, 0, 1).float().unsqueeze(0) / 127.5 - 1
            sigma = 2 * sigma8 / 255
            y = x + sigma * torch.randn(x.shape, generator=g)
            d = ema(y.to(device), torch.tensor([sigma], device=device)).cpu()
            a = ((x + 1) * 127.5).round().clamp(0, 255)
            b = ((d + 1) * 127.5).round().clamp(0, 255)
            mse = ((a - b) ** 2).mean().item()
            scores.append(10 * math.log10(255 ** 2 / mse))
    return sum(scores) / len(scores)


def git_commit():
    """The commit of the code that runs: $TRAIN_COMMIT when set (train/device.sh
    sets it from make device-prep: the device machine's copy of the repository
    reported an older HEAD), else git's HEAD."""
    if os.environ.get("TRAIN_COMMIT"):
        return os.environ["TRAIN_COMMIT"]
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True,
                                       stderr=subprocess.DEVNULL).strip()
    except Exception:
        return "unknown"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data", "train-photos"))
    ap.add_argument("--val", default=os.path.join(here, "..", "..", "shared", "data", "eval", "CBSD68"),
                    help="clean images for a progress score (never trained on)")
    ap.add_argument("--checkpoint", default=os.path.join(here, "checkpoints", "latest.pt"))
    ap.add_argument("--config", default=None,
                    help="architecture (train/model.py): the checkpoint's when resuming, else unet2")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of this run")
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--lr-final", type=float, default=None,
                    help="anneal the learning rate to this over the last --decay-frac of the run (cosine)")
    ap.add_argument("--decay-frac", type=float, default=0.3)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--min-scale", type=float, default=0.25, help="smallest random downscale of a photo")
    ap.add_argument("--weighting", default="photo", choices=["photo", "area"],
                    help="draw crops per photo and scale equally (photo) or in proportion to pixels (area)")
    ap.add_argument("--max-side", type=int, default=2048, help="photos are shrunk to this long side on load")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=0, help="steps of linear learning-rate warm-up (a fresh run)")
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast (on a GPU: several times faster)")
    ap.add_argument("--save-every", type=float, default=5.0, help="minutes between checkpoints")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", default="full", choices=["full", "split", "ema"],
                    help="full: one file with the optimizer state; split: the optimizer state in "
                         "CHECKPOINT.opt (two files of half the size); ema: only the averaged weights "
                         "(a resumed run starts from them with a fresh optimizer)")
    # the shipped model's recorded commands use the older spelling
    ap.add_argument("--split-opt", dest="save", action="store_const", const="split", help=argparse.SUPPRESS)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    ck = None
    if os.path.exists(args.checkpoint):
        ck = torch.load(args.checkpoint, map_location=device, weights_only=False)  # our own file
        if args.config is None:
            args.config = ck["config"]
    args.config = args.config or "unet2"
    net = M.build(args.config).to(device)
    ema = M.build(args.config).to(device)
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    state = {"step": 0, "patches": 0, "seconds": 0.0, "history": []}
    if ck is not None:
        if ck["config"] != args.config:
            raise SystemExit(f"train: {args.checkpoint} holds config {ck['config']!r}, not {args.config!r}")
        net.load_state_dict(ck.get("model", ck["ema"]))
        ema.load_state_dict(ck["ema"])
        if "opt" in ck:
            opt.load_state_dict(ck["opt"])
        elif os.path.exists(args.checkpoint + ".opt"):
            opt.load_state_dict(torch.load(args.checkpoint + ".opt", map_location=device, weights_only=False))
        state = ck["state"]
        print(f"resumed {args.checkpoint}: step {state['step']}, {state['patches']} patches, "
              f"{state['seconds'] / 3600:.2f} h", flush=True)
    for g in opt.param_groups:
        g["lr"] = args.lr

    gen = np.random.default_rng(args.seed + state["step"])
    torch.manual_seed(args.seed + state["step"])
    print(f"config {args.config}: {M.param_count(net)} parameters, device {device}", flush=True)
    photos = load_photos(args.data, args.max_side)
    crops = Crops(photos, args.patch, args.min_scale, gen, weighting=args.weighting)
    crops.flat(device)
    n_photos = len(photos)
    del photos
    val_files = sorted(glob.glob(os.path.join(args.val, "*.png")))[:8]
    print(f"{n_photos} photos loaded; validating on {len(val_files)} images", flush=True)

    def save():
        run["patches"] = run_patches
        run["minutes"] = round((time.time() - start) / 60, 2)
        os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
        # paths relative to the repository: a checkpoint names no machine's folders
        root = os.path.dirname(here)
        saved_args = {k: os.path.relpath(os.path.abspath(v), root) if k in ("data", "val", "checkpoint") else v
                      for k, v in vars(args).items()}
        ck = {"config": args.config, "ema": ema.state_dict(),
              "state": state, "args": saved_args, "commit": git_commit()}
        if args.save != "ema":
            ck["model"] = net.state_dict()
        if args.save == "split":
            torch.save(opt.state_dict(), args.checkpoint + ".opt.tmp")
            os.replace(args.checkpoint + ".opt.tmp", args.checkpoint + ".opt")
        elif args.save == "full":
            ck["opt"] = opt.state_dict()
        tmp = args.checkpoint + ".tmp"
        torch.save(ck, tmp)
        os.replace(tmp, args.checkpoint)

    start = time.time()
    hardware = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU, {args.threads} threads"
    run = {"hardware": hardware, "command": " ".join(["train/train.py"] + sys.argv[1:]),
           "first_step": state["step"], "patches": 0, "minutes": 0.0}
    state.setdefault("runs", []).append(run)
    last_save = start
    last_log = start
    run_patches = 0
    losses = []
    first_step = state["step"]
    pe, pn = list(ema.parameters()), list(net.parameters())  # the EMA's pairs, updated each step

    def lr_at(elapsed):
        warm = min(1.0, (state["step"] - first_step + 1) / args.warmup) if args.warmup else 1.0
        if args.lr_final is None:
            return args.lr * warm
        t = (elapsed / (args.minutes * 60) - (1 - args.decay_frac)) / args.decay_frac
        if t <= 0:
            return args.lr * warm
        return args.lr_final + (args.lr - args.lr_final) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))

    while time.time() - start < args.minutes * 60:
        for g in opt.param_groups:
            g["lr"] = lr_at(time.time() - start)
        x0 = crops.batch(args.batch)
        sigma = sample_sigmas(args.batch, gen, device)
        n = torch.randn_like(x0) * sigma.reshape(-1, 1, 1, 1)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=args.bf16):
            d = net(x0 + n, sigma)
        weight = (sigma ** 2 + M.SIGMA_DATA ** 2) / (sigma * M.SIGMA_DATA) ** 2
        loss = (weight.reshape(-1, 1, 1, 1) * (d.float() - x0) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            # warm-up keeps the average from dragging early random weights along
            decay = min(args.ema, (1 + state["step"]) / (10 + state["step"]))
            torch._foreach_mul_(pe, decay)
            torch._foreach_add_(pe, pn, alpha=1 - decay)
        state["step"] += 1
        state["patches"] += args.batch
        run_patches += args.batch
        losses.append(loss.detach())
        now = time.time()
        if now - last_log > 60:
            losses = [torch.stack(losses).mean().item()]
            rate = run_patches / (now - start)
            print(f"step {state['step']} patches {state['patches']} loss {np.mean(losses):.4f} "
                  f"{rate:.1f} patches/s lr {opt.param_groups[0]['lr']:.2e}", flush=True)
            losses = []
            last_log = now
        if now - last_save > args.save_every * 60:
            state["seconds"] += now - last_save
            p = val_psnr(ema, val_files, 25, device)
            state["history"].append({"step": state["step"], "hours": state["seconds"] / 3600, "psnr25": p})
            print(f"checkpoint at step {state['step']}: val PSNR sigma=25 {p:.2f} dB", flush=True)
            save()
            last_save = time.time()
    state["seconds"] += time.time() - last_save
    p = val_psnr(ema, val_files, 25, device)
    state["history"].append({"step": state["step"], "hours": state["seconds"] / 3600, "psnr25": p})
    print(f"done at step {state['step']}: val PSNR sigma=25 {p:.2f} dB", flush=True)
    save()


if __name__ == "__main__":
    main()
