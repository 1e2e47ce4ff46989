"""Deep Image Matting (Xu et al., CVPR 2017) in plain PyTorch, for mmagic's published checkpoints.

The network is the one of mmagic's ``DIM`` model (``VGG16`` encoder with 4 input channels and
no batch norm, ``PlainDecoder``, optional ``PlainRefiner``), rewritten here without
mmagic/mmcv/torchvision; module names follow the checkpoint keys::

    backbone.encoder.layer{1..5}.{0,2[,4]}   3×3 convs (+ReLU), then 2×2 max-pool keeping indices
    backbone.encoder.conv6                   1×1 conv + ReLU
    backbone.decoder.deconv6_1               1×1 conv + ReLU, then unpool with the indices of pool 5
    backbone.decoder.deconv{5..1}_1          5×5 convs + ReLU, each but the last followed by unpooling
    backbone.decoder.deconv1                 5×5 conv -> 1 channel: the raw alpha logit
    refiner.refine_conv{1,2,3}, refine_pred  3×3 convs (stage 2/3 only)

Test-time processing is mmagic's (``MattorPreprocessor`` + ``BaseMattor.resize_inputs`` +
``DIM._forward`` + ``BaseMattor.postprocess``):

1. RGB normalised ``(x - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]`` in float32,
   trimap ``/ 255``; input = 4-channel concatenation.
2. Pad bottom/right to the next multiple of 32 with reflection that does not repeat the edge
   pixel (torch ``reflect``). Small-image fallback (where torch's ``reflect`` refuses a pad
   >= the side): the reflection is continued periodically (numpy's ``reflect`` mode, i.e.
   reflect repeatedly), which equals torch's result wherever torch accepts the pad; a side of
   one pixel is replicated.
3. ``alpha = sigmoid(raw)``; with the refiner, the refiner reads the padded normalised RGB and
   that alpha, and the result is ``sigmoid(raw + refine_raw)``.
4. Crop to H×W, clamp to [0, 1], 1 where the trimap is 255, 0 where it is 0, ×255, round half
   to even, uint8.

What is promised (tested in ``tests/test_dim.py`` on mmagic's own predictions): the reference's
values up to float noise. Float convolutions sum in an order that depends on the CPU, the
library and the thread count, so the float alpha may differ from the reference's by noise (up to
3.6e-4 of a level of 1/255 measured; the test allows 0.01); after ×255 and rounding a value may
move by one level, only where the reference lies within that margin of a rounding tie (67.49999
vs 67.50006 on an AVX-512 CPU). The mistakes that matter (channel order, normalisation, padding
mode, known-region forcing) move alphas by 100+ levels and fail that test.

torch is imported only in this module.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from matbench.errors import MatbenchError

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
SIZE_DIVISOR = 32
PARAMS = {1: 26_200_001, 3: 26_276_802}


COLUMN_BYTES = 64 << 20  # im2col buffer per convolution call on PyTorch's own CPU path (--no-fast)
MIN_STRIP_COLUMNS = 4096  # MKL's GEMM sums differently for very narrow outputs (seen at 6 columns)


def conv2d(layer: nn.Conv2d, x):
    """``layer(x)``; on PyTorch's own CPU path (oneDNN off, ``--no-fast``), in horizontal strips.

    PyTorch's own CPU convolution unfolds the whole input (im2col: C·k²·H·W floats, 6.4 GB
    for a 5×5 conv over 64 channels at 1 Mpx). Strips of rows, each read with its halo from
    the zero-padded input, bound that buffer; the result is bit-identical (each output is the
    same dot product) as long as a strip is not very narrow, which tests/test_dim.py checks.
    """
    n, c, h, w = x.shape
    k, p = layer.kernel_size[0], layer.padding[0]
    rows = max(COLUMN_BYTES // (4 * c * k * k * w), -(-MIN_STRIP_COLUMNS // w))
    if x.device.type != "cpu" or torch.backends.mkldnn.enabled or rows >= h:
        return layer(x)
    xp = F.pad(x, (p, p, p, p))
    out = torch.empty((n, layer.out_channels, h, w), dtype=x.dtype)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        out[:, :, r0:r1] = F.conv2d(xp[:, :, r0:r1 + 2 * p], layer.weight, layer.bias)
    return out


def _run_block(block: nn.Sequential, x):
    for m in block:
        x = conv2d(m, x) if isinstance(m, nn.Conv2d) else m(x)
    return x


def _conv_relu_block(cin: int, cout: int, n: int) -> nn.Sequential:
    layers = []
    for _ in range(n):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
        cin = cout
    return nn.Sequential(*layers)


class VGG16Encoder(nn.Module):
    """VGG16 conv layers (no BN) + 1×1 conv6; returns features and the five pooling indices."""

    def __init__(self, in_channels: int = 4):
        super().__init__()
        self.layer1 = _conv_relu_block(in_channels, 64, 2)
        self.layer2 = _conv_relu_block(64, 128, 2)
        self.layer3 = _conv_relu_block(128, 256, 3)
        self.layer4 = _conv_relu_block(256, 512, 3)
        self.layer5 = _conv_relu_block(512, 512, 3)
        self.conv6 = nn.Conv2d(512, 512, 1)

    def forward(self, x):
        indices = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            x, idx = F.max_pool2d(_run_block(layer, x), 2, 2, return_indices=True)
            indices.append(idx)
        return F.relu(conv2d(self.conv6, x)), indices


class PlainDecoder(nn.Module):
    """DIM decoder: 1×1 then 5×5 convs with ReLU, max-unpooling with the encoder's indices."""

    def __init__(self):
        super().__init__()
        self.deconv6_1 = nn.Conv2d(512, 512, 1)
        self.deconv5_1 = nn.Conv2d(512, 512, 5, padding=2)
        self.deconv4_1 = nn.Conv2d(512, 256, 5, padding=2)
        self.deconv3_1 = nn.Conv2d(256, 128, 5, padding=2)
        self.deconv2_1 = nn.Conv2d(128, 64, 5, padding=2)
        self.deconv1_1 = nn.Conv2d(64, 64, 5, padding=2)
        self.deconv1 = nn.Conv2d(64, 1, 5, padding=2)

    def forward(self, x, indices):
        convs = (self.deconv6_1, self.deconv5_1, self.deconv4_1, self.deconv3_1, self.deconv2_1)
        for conv, idx in zip(convs, reversed(indices)):
            x = F.max_unpool2d(F.relu(conv2d(conv, x)), idx, 2, 2)
        return conv2d(self.deconv1, F.relu(conv2d(self.deconv1_1, x)))


class EncoderDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = VGG16Encoder(4)
        self.decoder = PlainDecoder()

    def forward(self, x):
        return self.decoder(*self.encoder(x))


class PlainRefiner(nn.Module):
    """DIM refinement stage: three 3×3 conv+ReLU and a 3×3 conv to one raw channel."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.refine_conv1 = nn.Conv2d(4, channels, 3, padding=1)
        self.refine_conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.refine_conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.refine_pred = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, x):
        x = F.relu(conv2d(self.refine_conv1, x))
        x = F.relu(conv2d(self.refine_conv2, x))
        x = F.relu(conv2d(self.refine_conv3, x))
        return conv2d(self.refine_pred, x)


class DIM(nn.Module):
    """Encoder-decoder (stage 1) with an optional refiner (stages 2 and 3)."""

    def __init__(self, stage: int = 1):
        super().__init__()
        if stage not in (1, 2, 3):
            raise MatbenchError(f"DIM stage must be 1, 2 or 3, not {stage}")
        self.stage = stage
        self.backbone = EncoderDecoder()
        self.refiner = PlainRefiner() if stage > 1 else None

    def forward(self, x):
        """Alpha in (0, 1) for a padded N×4×H×W input (normalised RGB, trimap / 255)."""
        alpha, refined = self.forward_stages(x)
        return alpha if refined is None else refined

    def forward_stages(self, x):
        """(encoder-decoder alpha, refined alpha or None), both N×1×H×W in (0, 1): what the
        training losses need (``docs/specs/training.md``: α_pred = sigmoid(raw); the refiner reads
        [normalised image, α_pred] and returns sigmoid(raw + residual))."""
        raw = self.backbone(x)
        alpha = torch.sigmoid(raw)
        if self.refiner is None:
            return alpha, None
        refine_raw = self.refiner(torch.cat((x[:, :3], alpha), 1))
        return alpha, torch.sigmoid(raw + refine_raw)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


CHECKPOINT = "a PyTorch checkpoint ({'state_dict': ..., 'meta': ...} or a state dict of tensors)"
DIM_CHECKPOINT = "a DIM checkpoint (mmagic's or matbench train dim's: backbone.encoder/decoder[/refiner] tensors)"
# What a file that torch cannot load is, by its first bytes.
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
          (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip archive"), (b"{", "a text/JSON file"))


def describe_unloadable(path, error: BaseException) -> str:
    """What the file ``path`` is, for a one-line message after ``torch.load`` raised ``error``:
    an empty file, an image (by its magic bytes), a PyTorch file holding objects a weights-only
    load refuses, a damaged/truncated PyTorch file, or bytes that are no PyTorch format."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(16)
    if size == 0:
        return "an empty file (0 bytes)"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return f"{name} ({size:,} bytes)"
    msg = str(error)
    if "Unsupported global" in msg:
        found = msg.split("Unsupported global:", 1)[1].split()
        glob = found[1] if len(found) > 1 else "?"
        return (f"a PyTorch file holding Python objects beside tensors ({glob}), which matbench's "
                f"weights-only load refuses")
    if head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save zip / legacy pickle
        first = msg.strip().splitlines()[0].split(". ")[0] if msg.strip() else type(error).__name__
        return f"a truncated or damaged PyTorch file ({first[:160]})"
    return f"not a PyTorch file ({size:,} bytes, neither torch.save's zip archive nor a pickle)"


def torch_load(path, expected: str = CHECKPOINT):
    """``torch.load(path)`` on CPU, tensors and plain containers only (``weights_only``).

    Raises MatbenchError, one line naming ``path``, what it is (:func:`describe_unloadable`) and
    ``expected``, when the file is missing or not a loadable PyTorch file."""
    path = Path(path)
    if not path.is_file():
        raise MatbenchError(f"{path}: checkpoint file not found; expected {expected}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types (UnpicklingError, RuntimeError, EOFError, ...)
        raise MatbenchError(f"{path}: {describe_unloadable(path, e)}; expected {expected}") from None


def is_state_dict(obj) -> bool:
    """Whether ``obj`` is a non-empty dict of tensors under text keys (what a state dict is)."""
    return (isinstance(obj, dict) and bool(obj)
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()))


def read_state_dict(path, expected: str = CHECKPOINT) -> dict:
    """The ``state_dict`` of an mmediting/mmagic checkpoint (or a bare state dict), on CPU.

    MatbenchError (one line naming ``path``, what was found and ``expected``) for a missing file,
    a file torch cannot load (:func:`torch_load`) or one that holds no dict of tensors."""
    path = Path(path)
    ckpt = torch_load(path, expected)
    if isinstance(ckpt, dict) and isinstance(ckpt.get("state_dict"), dict):
        ckpt = ckpt["state_dict"]
    if not is_state_dict(ckpt):
        found = (f"a {type(ckpt).__name__}" if not isinstance(ckpt, dict) else
                 "an empty dict" if not ckpt else f"a dict with keys {', '.join(map(str, list(ckpt)[:5]))}")
        raise MatbenchError(f"{path}: a PyTorch file holding {found}, not a state dict of tensors; expected {expected}")
    # Checkpoints saved from DataParallel prefix every key with 'module.'.
    if all(k.startswith("module.") for k in ckpt):
        ckpt = {k[len("module."):]: v for k, v in ckpt.items()}
    return ckpt


def _infer_stage(state_dict: dict) -> int:
    return 3 if any(k.startswith("refiner.") for k in state_dict) else 1


def state_dict_mismatch(sd: dict, want: dict) -> str | None:
    """None when ``sd`` has exactly the keys and shapes of ``want``; else one line: the missing
    keys, the unexpected keys and the shape mismatches (8 of each shown), or, when no key is
    shared at all, the count of keys and a few of them."""
    if not set(sd) & set(want):
        return f"none of its {len(sd)} tensors is a DIM key (found {', '.join(list(sd)[:4])}{', ...' if len(sd) > 4 else ''})"
    missing = [k for k in want if k not in sd]
    unexpected = [k for k in sd if k not in want]
    shapes = [f"{k} {tuple(sd[k].shape)} (expected {tuple(want[k].shape)})"
              for k in want if k in sd and sd[k].shape != want[k].shape]
    parts = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)):
        if items:
            shown = ", ".join(items[:8]) + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
            parts.append(f"{label}: {shown}")
    return "; ".join(parts) or None


def load_dim(checkpoint, stage: int | None = None, device: str = "cpu", expected: str = DIM_CHECKPOINT) -> DIM:
    """Build DIM and load ``checkpoint`` strictly; one MatbenchError lists every mismatch.

    ``stage`` None: 3 when the checkpoint has refiner weights, else 1. ``stage=1`` with a
    stage 2/3 checkpoint runs its encoder-decoder only (the refiner weights are ignored).
    ``expected``: what the messages say the file should have been.
    """
    path = Path(checkpoint)
    sd = read_state_dict(path, expected)
    if stage is None:
        stage = _infer_stage(sd)
    model = DIM(stage)
    if stage == 1:
        sd = {k: v for k, v in sd.items() if not k.startswith("refiner.")}
    problems = state_dict_mismatch(sd, model.state_dict())
    if problems:
        raise MatbenchError(f"{path}: not a DIM stage {stage} checkpoint; {problems}; expected {expected}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()}, strict=True)
    return model.to(device).eval()


def configure_device(device: str) -> torch.device:
    """``torch.device`` for ``cpu``/``cuda[:i]``, with TF32 off (it flips near-tied max-pools)."""
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MatbenchError(f"--device {device}: CUDA is not available in this PyTorch installation")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    elif device != "cpu":
        raise MatbenchError(f"--device {device}: expected cpu or cuda")
    return torch.device(device)


def pad_to_multiple(a: np.ndarray, multiple: int = SIZE_DIVISOR) -> np.ndarray:
    """Pad an H×W×C array at the bottom and right to a multiple of ``multiple``.

    Reflection without repeating the edge pixel (torch ``reflect``). Where the pad is not
    smaller than the side (images under 32 px), the reflection continues periodically
    (numpy ``reflect``); a side of 1 px is replicated.
    """
    h, w = a.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if ph:
        a = np.pad(a, ((0, ph), (0, 0), (0, 0)), mode="reflect" if h > 1 else "edge")
    if pw:
        a = np.pad(a, ((0, 0), (0, pw), (0, 0)), mode="reflect" if w > 1 else "edge")
    return a


def network_input(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """H×W×4 float32: normalised RGB and trimap / 255, as mmagic's preprocessor makes it."""
    x = np.empty(image.shape[:2] + (4,), dtype=np.float32)
    x[..., :3] = (image.astype(np.float32) - MEAN) / STD
    x[..., 3] = trimap.astype(np.float32) / np.float32(255.0)
    return x


def _oom_error(device, h, w) -> MatbenchError:
    return MatbenchError(
        f"out of memory on {device} for a {w}×{h} image; retry with --max-side N (e.g. 1600) "
        f"to downscale, --tile N (e.g. 512) to predict in tiles, or --device cpu")


def _forward(model: DIM, x: np.ndarray, device, fast: bool = True) -> np.ndarray:
    """Network alpha (float32, H×W, before forcing) for an H×W×4 input, padded internally.

    On CPU, ``fast`` (the default) runs PyTorch's default convolutions, oneDNN's, as mmagic ran;
    ``fast=False`` turns oneDNN off: PyTorch's own im2col + GEMM path, in strips
    (:func:`conv2d`), whose kernels vary less across CPUs (oneDNN picks its kernels, hence its
    summation order and which input wins a near-tied max-pool, by CPU). Measured with
    ``benchmarks/dim_fast.py`` (golden cases and synthetic 320×240 / 640×480 composites, seed-5
    synthetic weights, one AVX-512 machine): the two paths differ by at most 3.6e-4 of a level
    (1/255) in float and by one level in at most one pixel per image (0.0013 %); oneDNN
    reproduced mmagic's floats bit for bit on the golden cases and was 2.9–4.9× faster. Both
    paths keep the promise of the module doc; tests/test_dim.py checks both.
    """
    h, w = x.shape[:2]
    xp = pad_to_multiple(x)
    t = torch.from_numpy(np.ascontiguousarray(xp.transpose(2, 0, 1)))[None].to(device)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # oneDNN TF32 notice from flags()
            with torch.backends.mkldnn.flags(enabled=fast), torch.inference_mode():
                alpha = model(t)[0, 0, :h, :w]
                return alpha.float().cpu().numpy()
    except (torch.cuda.OutOfMemoryError, MemoryError):
        raise _oom_error(device, h, w) from None
    except RuntimeError as e:
        if "out of memory" in str(e).lower() or "can't allocate memory" in str(e).lower():
            raise _oom_error(device, h, w) from None
        raise


def _forward_tiled(model: DIM, x: np.ndarray, device, tile: int, overlap: int = 64, fast: bool = True) -> np.ndarray:
    """Network alpha predicted on overlapping ``tile``-sized windows, blended linearly.

    An approximation (each window sees less context); only for images too large to predict
    at once. Windows start on multiples of 32 so their pooling grids agree with the full image.
    """
    h, w = x.shape[:2]
    tile = max(SIZE_DIVISOR, tile - tile % SIZE_DIVISOR)
    overlap = min(overlap - overlap % SIZE_DIVISOR, tile // 2)
    if h <= tile and w <= tile:
        return _forward(model, x, device, fast)
    step = tile - overlap

    def starts(n):
        s = list(range(0, max(n - tile, 0) + 1, step))
        if s[-1] + tile < n:
            s.append(s[-1] + step)
        return s

    acc = np.zeros((h, w), np.float64)
    wsum = np.zeros((h, w), np.float64)
    for y in starts(h):
        for x0 in starts(w):
            win = x[y:y + tile, x0:x0 + tile]
            th, tw = win.shape[:2]
            a = _forward(model, win, device, fast)
            ry = _ramp(th, overlap, y > 0, y + th < h)
            rx = _ramp(tw, overlap, x0 > 0, x0 + tw < w)
            wgt = np.outer(ry, rx)
            acc[y:y + th, x0:x0 + tw] += a * wgt
            wsum[y:y + th, x0:x0 + tw] += wgt
    return (acc / wsum).astype(np.float32)


def _ramp(n: int, overlap: int, rise: bool, fall: bool) -> np.ndarray:
    r = np.ones(n)
    k = min(overlap, n)
    if k:
        ramp = (np.arange(k) + 0.5) / k
        if rise:
            r[:k] = np.minimum(r[:k], ramp)
        if fall:
            r[n - k:] = np.minimum(r[n - k:], ramp[::-1])
    return r


def predict_alpha(model: DIM, image: np.ndarray, trimap: np.ndarray, *, device="cpu",
                  max_side: int | None = None, tile: int | None = None, fast: bool = True) -> np.ndarray:
    """Float32 H×W alpha in [0, 1] after crop, clamp and known-region forcing (mmagic's steps).

    ``image`` H×W×3 uint8 RGB, ``trimap`` H×W uint8 (0/128/255). ``max_side``: when the
    longer side exceeds it, predict on a copy downscaled (area) to that side, trimap by nearest
    neighbour, and upscale the alpha back bilinearly before forcing. ``tile``: predict on
    overlapping windows of that size (see ``_forward_tiled``).
    """
    from matbench.baselines.scale import predict_downscaled

    h, w = trimap.shape
    if image.shape[:2] != (h, w):
        raise MatbenchError(f"image {image.shape[1]}×{image.shape[0]} and trimap {w}×{h} differ in size")
    alpha = predict_downscaled(lambda im, tri: _predict_raw(model, network_input(im, tri), device, tile, fast),
                               image, trimap, max_side)
    alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32, copy=False)
    alpha[trimap == 255] = 1.0
    alpha[trimap == 0] = 0.0
    return alpha


def _predict_raw(model, x, device, tile, fast):
    if tile:
        return _forward_tiled(model, x, device, tile, fast=fast)
    return _forward(model, x, device, fast)


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """×255 in float32, round half to even, uint8 (torch's ``round_`` then ``to(uint8)``)."""
    return np.rint(alpha.astype(np.float32) * np.float32(255.0)).astype(np.uint8)


def make_predictor(checkpoint, stage: int | None = None, device: str = "cpu",
                   max_side: int | None = None, tile: int | None = None, fast: bool = True,
                   threads: int | None = None):
    """``predict(image, trimap) -> uint8 alpha`` for the DIM runner, and the loaded stage.

    ``threads``: torch's CPU threads for this process (None: torch's default, the cores); the
    runner records the effective count (:func:`cpu_threads`). ``fast``: see :func:`_forward`."""
    dev = configure_device(device)
    if threads:
        torch.set_num_threads(threads)
    model = load_dim(checkpoint, stage, dev)

    def predict(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        return alpha_to_uint8(predict_alpha(model, image, trimap, device=dev, max_side=max_side, tile=tile,
                                            fast=fast))

    return predict, model.stage


def torch_version() -> str:
    return torch.__version__


def cpu_threads() -> int:
    """The number of CPU threads torch uses now (``--threads``, else its default: the cores)."""
    return torch.get_num_threads()


__all__ = ["DIM", "load_dim", "read_state_dict", "torch_load", "predict_alpha", "alpha_to_uint8", "make_predictor",
           "pad_to_multiple", "network_input", "count_parameters", "PARAMS"]
