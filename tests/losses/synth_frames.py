"""Synthetic frames for the loss tests: smooth random textures and exactly translated pairs."""
import torch
import torch.nn.functional as F


def smooth_texture(b=1, c=3, h=32, w=32, seed=0, cell=4):
    """Random texture in [0, 1] with features a few pixels wide (bicubic upsampling of coarse noise)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(b, c, h // cell + 3, w // cell + 3, generator=g)
    big = F.interpolate(coarse, scale_factor=cell, mode="bicubic", align_corners=False)
    return big[..., cell:cell + h, cell:cell + w].clamp(0, 1)


def translated_pair(dx=3, dy=0, b=1, c=3, h=32, w=32, seed=0):
    """(img1, img2, flow_fw, flow_bw) with img1(p) = img2(p + (dx, dy)) exactly (integer shift)."""
    m = 8
    tex = smooth_texture(b, c, h + 2 * m, w + 2 * m, seed)
    img1 = tex[..., m:m + h, m:m + w]
    img2 = tex[..., m - dy:m - dy + h, m - dx:m - dx + w]  # content moved by (+dx, +dy)
    flow_fw = torch.zeros(b, 2, h, w)
    flow_fw[:, 0], flow_fw[:, 1] = float(dx), float(dy)
    return img1, img2, flow_fw, -flow_fw
