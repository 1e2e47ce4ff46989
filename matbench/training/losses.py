"""DIM's training losses as plain functions (``docs/specs/training.md``, "Losses").

All tensors are float, N×C×H×W, values in 0..1 (alpha, fg, bg and the composite divided by
255). ``weight`` is N×1×H×W: 1 on the unknown region (trimap == 128), else 0. Each loss is a
scalar in alpha units (0..1, a fraction of full scale): the Charbonnier penalty averaged over
the unknown pixels of the whole batch (and over the channels of a 3-channel difference).

Reference: Xu et al., "Deep Image Matting", CVPR 2017, eqs. 1–2 (alpha-prediction and
compositional losses, the refinement loss is the alpha loss of the refined alpha); the
Charbonnier form and the masked mean are those of mmagic's ``CharbonnierLoss`` /
``CharbonnierCompLoss`` with ``reduction='mean'``, ``sample_wise=False``, eps 1e-12.
"""
from __future__ import annotations

import torch

EPS = 1e-12
WEIGHTS = {1: {"alpha": 0.5, "comp": 0.5}, 2: {"refine": 1.0}, 3: {"alpha": 0.5, "comp": 0.5, "refine": 1.0}}


def charbonnier(d: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """ρ(d) = sqrt(d² + ε), element-wise (a smooth |d|; ρ(0) = 1e-6 for ε = 1e-12)."""
    return torch.sqrt(d * d + eps)


def masked_mean(values: torch.Tensor, weight: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Σ values·w / (Σ w + ε), with ``weight`` (N×1×H×W) broadcast to the channels of
    ``values`` (N×C×H×W), summed over the whole batch: a C-channel loss divides by C·|unknown|.
    0 (not NaN) when the unknown region is empty."""
    w = weight.expand_as(values)
    return (values * w).sum() / (w.sum() + eps)


def alpha_loss(pred_alpha: torch.Tensor, gt_alpha: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Alpha-prediction loss: masked mean of ρ(α_pred − α_gt). Shapes N×1×H×W."""
    return masked_mean(charbonnier(pred_alpha - gt_alpha), weight)


def composition_loss(pred_alpha: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, merged: torch.Tensor,
                     weight: torch.Tensor) -> torch.Tensor:
    """Compositional loss: c = α_pred·fg + (1 − α_pred)·bg, masked mean over the 3 channels of
    ρ(c − merged). ``pred_alpha``/``weight`` N×1×H×W, ``fg``/``bg``/``merged`` N×3×H×W."""
    comp = pred_alpha * fg + (1.0 - pred_alpha) * bg
    return masked_mean(charbonnier(comp - merged), weight)


def refinement_loss(refined: torch.Tensor, gt_alpha: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Refinement loss: masked mean of ρ(α_refined − α_gt). Shapes N×1×H×W."""
    return alpha_loss(refined, gt_alpha, weight)


def stage_losses(stage: int, pred_alpha: torch.Tensor, refined: torch.Tensor | None, targets: dict) -> dict:
    """The weighted losses of a DIM training stage (``WEIGHTS``: stage 1 alpha 0.5 + comp 0.5,
    stage 2 refine 1.0, stage 3 all three); ``{"loss": total, "alpha"/"comp"/"refine": the
    unweighted terms used}``. ``targets``: ``alpha``, ``fg``, ``bg``, ``merged``, ``weight``
    as made by :func:`matbench.training.dataset.network_batch`."""
    w = targets["weight"]
    terms = {}
    if "alpha" in WEIGHTS[stage]:
        terms["alpha"] = alpha_loss(pred_alpha, targets["alpha"], w)
    if "comp" in WEIGHTS[stage]:
        terms["comp"] = composition_loss(pred_alpha, targets["fg"], targets["bg"], targets["merged"], w)
    if "refine" in WEIGHTS[stage]:
        terms["refine"] = refinement_loss(refined, targets["alpha"], w)
    total = sum(WEIGHTS[stage][k] * v for k, v in terms.items())
    return {"loss": total, **terms}
