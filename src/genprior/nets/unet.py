"""A compact UNet for noise-conditional denoising, written to be fast on CPU.

Residual blocks with GroupNorm and FiLM noise conditioning (scale/shift from a Fourier embedding of
c_noise), stride-2 convolutions down, nearest-neighbour + conv up, optional self-attention at
chosen levels. Input (B, C, H, W) with H, W divisible by 2**(len(channels) - 1); c_noise (B,).
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


def _norm(c: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(groups, c), c)


class FourierEmbedding(nn.Module):
    """Sinusoidal embedding of a scalar noise level (Vaswani et al. positional encoding)."""

    def __init__(self, dim: int, max_period: float = 10000.0):
        super().__init__()
        half = dim // 2
        self.register_buffer("freqs", torch.exp(-math.log(max_period) * torch.arange(half) / half), persistent=False)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        arg = (c.float() * 1000.0)[:, None] * self.freqs[None]
        return torch.cat([arg.cos(), arg.sin()], dim=1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float):
        super().__init__()
        self.norm1 = _norm(c_in, groups)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = _norm(c_out, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    def __init__(self, c: int, groups: int, heads: int = 1):
        super().__init__()
        self.heads = heads
        self.norm = _norm(c, groups)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, self.heads, C // self.heads, H * W).unbind(1)
        h = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(h.transpose(-1, -2).reshape(B, C, H, W))


class UNet(nn.Module):
    """Noise-conditional UNet: ``forward(x, c_noise) -> (B, out_channels, H, W)``."""

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, channels=(32, 64, 64),
                 num_res_blocks: int = 1, attn_levels=(), emb_dim: int | None = None, groups: int = 8,
                 dropout: float = 0.0):
        super().__init__()
        out_channels = out_channels or in_channels
        channels = tuple(int(c) for c in channels)
        emb_dim = emb_dim or 4 * channels[0]
        self.config = dict(in_channels=in_channels, out_channels=out_channels, channels=list(channels),
                           num_res_blocks=num_res_blocks, attn_levels=list(attn_levels), emb_dim=emb_dim,
                           groups=groups, dropout=dropout)
        self.levels = len(channels)
        self.embed = nn.Sequential(FourierEmbedding(channels[0]), nn.Linear(channels[0], emb_dim), nn.SiLU(),
                                   nn.Linear(emb_dim, emb_dim))
        self.conv_in = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skip_ch = [channels[0]]
        c = channels[0]
        for i, ch in enumerate(channels):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(c, ch, emb_dim, groups, dropout))
                c = ch
                if i in attn_levels:
                    blocks.append(Attention(c, groups))
                skip_ch.append(c)
            self.down.append(blocks)
            if i < self.levels - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skip_ch.append(c)
        self.mid = nn.ModuleList([ResBlock(c, c, emb_dim, groups, dropout), Attention(c, groups),
                                  ResBlock(c, c, emb_dim, groups, dropout)])
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, ch in reversed(list(enumerate(channels))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(ResBlock(c + skip_ch.pop(), ch, emb_dim, groups, dropout))
                c = ch
                if i in attn_levels:
                    blocks.append(Attention(c, groups))
            self.up.append(blocks)
            if i > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.norm_out = _norm(c, groups)
        self.conv_out = nn.Conv2d(c, out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        m = 2 ** (self.levels - 1)
        if x.shape[-1] % m or x.shape[-2] % m:
            raise ValueError(f"UNet with {self.levels} levels needs H, W divisible by {m}, got {tuple(x.shape[-2:])}")
        emb = self.embed(c_noise.reshape(-1).expand(x.shape[0]))
        h = self.conv_in(x)
        hs = [h]
        for i, blocks in enumerate(self.down):
            for blk in blocks:
                h = blk(h, emb) if isinstance(blk, ResBlock) else blk(h)
                if isinstance(blk, ResBlock) and not (i in self.config["attn_levels"]):
                    hs.append(h)
                elif isinstance(blk, Attention):
                    hs.append(h)
            if i < self.levels - 1:
                h = self.downsample[i](h)
                hs.append(h)
        for blk in self.mid:
            h = blk(h, emb) if isinstance(blk, ResBlock) else blk(h)
        for j, blocks in enumerate(self.up):
            for blk in blocks:
                if isinstance(blk, ResBlock):
                    h = blk(torch.cat([h, hs.pop()], dim=1), emb)
                else:
                    h = blk(h)
            if j < self.levels - 1:
                h = self.upsample[j](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))
