"""The score model: a noise-conditional denoiser D(x, sigma) in the EDM form.

Karras et al. 2022 ("Elucidating the Design Space of Diffusion-Based Generative
Models"): D(x, s) = c_skip(s) x + c_out(s) F(c_in(s) x, c_noise(s)).

F is a small residual U-Net told the noise level through an extra input
channel holding c_noise, as FFDNet and DRUNet do. The default "unet" config
works at full resolution; the "tiny"/"small"/"base" configs first
pixel-unshuffle the image (FFDNet's trick: 4x cheaper convolutions), which on
this project's CPU measurements learned much less per training patch. Fully
convolutional; H and W must be multiples of size_multiple(model).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMA_DATA = 0.5
SIGMA_MIN = 0.002
SIGMA_MAX = 80.0


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class UNet(nn.Module):
    """F(c_in x, c_noise): residual U-Net over 2x2-unshuffled sub-images."""

    def __init__(self, channels=3, widths=(32, 64, 128), blocks=2, unshuffle=True):
        super().__init__()
        self.channels = channels
        self.factor = 2 if unshuffle else 1
        w = widths
        self.head = nn.Conv2d(channels * self.factor ** 2 + 1, w[0], 3, padding=1)
        self.enc = nn.ModuleList()
        self.down = nn.ModuleList()
        for i in range(len(w) - 1):
            self.enc.append(nn.Sequential(*[ResBlock(w[i]) for _ in range(blocks)]))
            self.down.append(nn.Conv2d(w[i], w[i + 1], 2, stride=2))
        self.mid = nn.Sequential(*[ResBlock(w[-1]) for _ in range(blocks)])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(len(w) - 1)):
            self.up.append(nn.ConvTranspose2d(w[i + 1], w[i], 2, stride=2))
            self.dec.append(nn.Sequential(*[ResBlock(w[i]) for _ in range(blocks)]))
        self.tail = nn.Conv2d(w[0], channels * self.factor ** 2, 3, padding=1)

    def forward(self, x, c_noise):
        if self.factor > 1:
            x = F.pixel_unshuffle(x, self.factor)
        n, _, h, w = x.shape
        level = c_noise.reshape(-1, 1, 1, 1).expand(n, 1, h, w)
        h0 = self.head(torch.cat([x, level], dim=1))
        skips = []
        for enc, down in zip(self.enc, self.down):
            h0 = enc(h0)
            skips.append(h0)
            h0 = down(h0)
        h0 = self.mid(h0)
        for up, dec in zip(self.up, self.dec):
            h0 = dec(up(h0) + skips.pop())
        out = self.tail(h0)
        return F.pixel_shuffle(out, self.factor) if self.factor > 1 else out


class EDMDenoiser(nn.Module):
    """D(x, sigma) with EDM preconditioning; x in [-1, 1] plus noise, sigma per item."""

    def __init__(self, net, sigma_data=SIGMA_DATA):
        super().__init__()
        self.net = net
        self.sigma_data = sigma_data

    def forward(self, x, sigma):
        s = sigma.reshape(-1, 1, 1, 1).to(x.dtype)
        sd = self.sigma_data
        c_skip = sd ** 2 / (s ** 2 + sd ** 2)
        c_out = s * sd / torch.sqrt(s ** 2 + sd ** 2)
        c_in = 1.0 / torch.sqrt(s ** 2 + sd ** 2)
        c_noise = torch.log(sigma.reshape(-1).to(x.dtype)) / 4.0
        return c_skip * x + c_out * self.net(c_in * x, c_noise)


def build(config="small"):
    """The named architectures; the name is recorded in checkpoints and ONNX metadata."""
    if config == "small":
        return EDMDenoiser(UNet(widths=(32, 64, 128), blocks=2))
    if config == "tiny":
        return EDMDenoiser(UNet(widths=(16, 32, 64), blocks=1))
    if config == "unet":
        # Full resolution, four levels: learns far more per training patch than
        # the unshuffled variants, and channel counts that are multiples of 16
        # run several times faster in PyTorch's and ONNX Runtime's CPU kernels.
        return EDMDenoiser(UNet(widths=(16, 32, 64, 128), blocks=1, unshuffle=False))
    if config == "unet2":
        # "unet" with two residual blocks per level: twice the depth and
        # receptive field, twice the cost per evaluation.
        return EDMDenoiser(UNet(widths=(16, 32, 64, 128), blocks=2, unshuffle=False))
    if config == "unet-wide":
        # "unet" at twice the width: four times the cost, 2.3M parameters.
        return EDMDenoiser(UNet(widths=(32, 64, 128, 256), blocks=1, unshuffle=False))
    if config == "base":
        return EDMDenoiser(UNet(widths=(48, 96, 192), blocks=3))
    raise ValueError(f"unknown model config {config!r}")


def size_multiple(model):
    """H and W must be multiples of this: the unshuffle factor times 2 per level."""
    return model.net.factor * 2 ** (len(model.net.down))


def param_count(model):
    return sum(p.numel() for p in model.parameters())
