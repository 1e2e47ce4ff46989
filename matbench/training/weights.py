"""The weights a DIM training stage starts from (``docs/specs/training.md``, "Stages" and
"Encoder initialisation from ImageNet VGG16").

- Stage 1: every convolution Xavier-normal (gain 1) with bias 0 (mmcv's ``xavier_init``,
  what mmagic's DIM uses for new layers), then the 13 convolutions of an ImageNet VGG16 in
  torchvision's key layout (``features.N.weight/bias``) copied onto the encoder, the first
  one with a 4th input channel (the trimap) set to zero. ``conv6`` and the decoder stay
  Xavier-normal. Without a VGG16 file the encoder stays Xavier-normal too (random).
- Stage 2: the encoder-decoder of a stage-1 checkpoint; the refiner Xavier-normal (or the
  checkpoint's, when it has one).
- Stage 3: everything from a stage-2 checkpoint (it must have refiner weights).

Checkpoints are read with :func:`matbench.baselines.dim.read_state_dict` (mmagic layout or
a bare state dict, ``module.`` prefixes removed). The Xavier draws come from a
``torch.Generator`` seeded with the run's seed, so the initial weights are reproducible.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from matbench.baselines import dim
from matbench.errors import MatbenchError

# Indices of VGG16's 13 convolutions in torchvision's ``features`` and the DIM layers they fill.
VGG16_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
VGG16_EXPECTED = ("torchvision's ImageNet VGG16 weights (vgg16-397923af.pth: features.N.weight/bias of its "
                  "13 convolutions)")
ENCODER_LAYERS = ("layer1.0", "layer1.2", "layer2.0", "layer2.2", "layer3.0", "layer3.2", "layer3.4",
                  "layer4.0", "layer4.2", "layer4.4", "layer5.0", "layer5.2", "layer5.4")


def xavier_init(model: nn.Module, generator: torch.Generator) -> None:
    """Every ``nn.Conv2d`` of ``model``: weight Xavier-normal (gain 1), bias 0, in module order."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight, generator=generator)
                nn.init.zeros_(m.bias)


def vgg16_encoder_state(vgg: dict, source: str = "VGG16 state dict") -> dict:
    """``backbone.encoder.*`` tensors of DIM from a torchvision-layout VGG16 state dict.

    ``features.{0,2,5,...,28}.weight/bias`` -> ``backbone.encoder.layer{1..5}.{0,2,4}``; the
    first weight (64×3×3×3) becomes 64×4×3×3 with input channel 3 (the trimap) zero.
    ``classifier.*`` and anything else is ignored. Raises MatbenchError (one line listing
    every missing key and shape mismatch) for anything that is not VGG16's convolutions.
    """
    want = dim.VGG16Encoder(4).state_dict()
    out, problems = {}, []
    for n, layer in zip(VGG16_CONVS, ENCODER_LAYERS):
        for part in ("weight", "bias"):
            src, dst = f"features.{n}.{part}", f"{layer}.{part}"
            shape = tuple(want[dst].shape)
            if n == 0 and part == "weight":
                shape = (shape[0], 3) + shape[2:]
            t = vgg.get(src)
            if t is None:
                problems.append(f"missing {src}")
            elif tuple(t.shape) != shape:
                problems.append(f"{src} is {tuple(t.shape)}, expected {shape}")
            else:
                out[f"backbone.encoder.{dst}"] = t.detach().to(torch.float32)
    if problems:
        if any(k.startswith(("backbone.", "refiner.")) for k in vgg):
            raise MatbenchError(f"{source}: a DIM checkpoint, not VGG16; expected {VGG16_EXPECTED} "
                                f"(to start stage 1 from a DIM checkpoint, give it with --init instead)")
        shown = "; ".join(problems[:6]) + (f"; ... ({len(problems)} in all)" if len(problems) > 6 else "")
        raise MatbenchError(f"{source}: not a torchvision VGG16: {shown}; expected {VGG16_EXPECTED}")
    w = out["backbone.encoder.layer1.0.weight"]
    out["backbone.encoder.layer1.0.weight"] = torch.cat((w, torch.zeros_like(w[:, :1])), 1)
    return out


def stage1_model(vgg16=None, seed: int = 0) -> dim.DIM:
    """DIM stage 1 (encoder-decoder) initialised for training: Xavier-normal everywhere, then
    the encoder from the VGG16 file ``vgg16`` (torchvision layout). Without one, a warning says
    that the encoder starts from random weights."""
    model = dim.DIM(1)
    xavier_init(model, torch.Generator().manual_seed(int(seed)))
    if vgg16 is None:
        warnings.warn("no --vgg16 (nor --init): the encoder starts from random Xavier-normal weights, not the "
                      "paper's ImageNet VGG16 initialisation (torchvision's vgg16-397923af.pth); results will not "
                      "match the published DIM", stacklevel=2)
        return model
    state = vgg16_encoder_state(dim.read_state_dict(vgg16, VGG16_EXPECTED), str(vgg16))
    model.load_state_dict(state, strict=False)
    return model


def init_expected(stage: int) -> str:
    """What ``--init`` must be for ``stage``, as the error messages say it."""
    if stage == 1:
        return "a DIM checkpoint to start stage 1 from (a train dim run's best.pth/last.pth or mmagic's)"
    return f"the stage {stage - 1} checkpoint (RUN/best.pth of train dim --stage {stage - 1})"


def from_checkpoint(stage: int, path, seed: int = 0) -> dim.DIM:
    """DIM for training stage ``stage`` (1–3) starting from the DIM checkpoint ``path``.

    Stage 1 and 2 take its encoder-decoder (every key and shape checked); stage 2 takes its
    refiner when it has one, else a Xavier-normal refiner; stage 3 needs a checkpoint with
    refiner weights (a stage 2 or 3 checkpoint). Raises MatbenchError, one line naming
    ``path`` and what was expected, for anything else (:func:`dim.load_dim`).
    """
    expected = init_expected(stage)
    sd = dim.read_state_dict(path, expected)
    if any(k.startswith("features.") for k in sd) and not any(k.startswith("backbone.") for k in sd):
        hint = " (stage 1 takes it with --vgg16 instead of --init)" if stage == 1 else ""
        raise MatbenchError(f"{path}: a VGG16 state dict (features.N.* keys), not a DIM checkpoint; "
                            f"expected {expected}{hint}")
    has_refiner = any(k.startswith("refiner.") for k in sd)
    if stage == 3 and not has_refiner:
        raise MatbenchError(f"{path}: has no refiner weights; stage 3 starts from a stage 2 checkpoint")
    model = dim.DIM(stage)
    xavier_init(model, torch.Generator().manual_seed(int(seed)))
    loaded = dim.load_dim(path, 3 if has_refiner and stage > 1 else 1, expected=expected)
    if stage == 1 or not has_refiner:
        model.backbone.load_state_dict(loaded.backbone.state_dict())
    else:
        model.load_state_dict(loaded.state_dict())
    return model.train()
