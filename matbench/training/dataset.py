"""DIM training samples as ``torch.utils.data`` datasets (needs torch).

Two sources, one item format:

- :class:`CompositeSamples` over a built training set (``matbench build-train``, with
  ``bg/``): each item is drawn on the fly by the recipe of :mod:`matbench.training.samples`
  (``docs/specs/training.md``), optionally with the online merge.
- :class:`FixedSamples` over a materialised sample set (``matbench build-train-samples``):
  each item is read from its PNGs.

Items are indexed by ``(epoch, i)``, or by a plain ``i`` meaning the epoch last given to
``set_epoch`` (0 before any call), as torch's ``DistributedSampler.set_epoch``: sample ``i`` of
epoch ``e`` with seed ``S`` is a pure function of (S, e, the composite's name), whatever process
or DataLoader worker computes it. :class:`StreamSampler` yields the ``(epoch, i)`` keys of
an endless stream of epochs, each in the order :func:`samples.epoch_order` (S, e) gives,
from any position, so training resumes at iteration ``t`` by starting the stream at
``t × batch size``.

An item is a dict of CHW tensors at the 0..255 scale, not normalised: ``merged`` (3×H×W RGB,
uint8, or float32 with the online merge), ``alpha`` (1×H×W uint8), ``fg``, ``bg`` (3×H×W RGB
uint8), ``trimap`` (1×H×W uint8, 0/128/255). :func:`network_batch` turns a collated batch into the network
input and the loss targets on a device.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from matbench.baselines.dim import MEAN, STD
from matbench.errors import MatbenchError
from matbench.manifest import read_dataset_json
from matbench.training import samples
from matbench.training.materialise import SAMPLES_KIND
from matbench.training.samples import Recipe


def to_tensors(arrays: dict) -> dict:
    """HWC / HW numpy arrays -> CHW tensors (same dtype)."""
    out = {}
    for key, a in arrays.items():
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        out[key] = torch.from_numpy(np.require(a, requirements=["C_CONTIGUOUS", "WRITEABLE"]))
    return out


def _key(key) -> tuple[int, int]:
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return 0, int(key)


REPEAT_WARNING = ("CompositeSamples: item {i} was drawn again in epoch {epoch}: a plain index gives the same "
                  "crop/flip/trimap until set_epoch() changes the epoch; call dataset.set_epoch(epoch) before each "
                  "epoch, or index by (epoch, i) (StreamSampler); with persistent_workers=True set_epoch() does not "
                  "reach the workers' copies: use (epoch, i) keys")
WORKER_WARNING = ("CompositeSamples: plain indices in a DataLoader worker with set_epoch() never called: every "
                  "epoch draws epoch 0's samples; call dataset.set_epoch(epoch) before iterating each epoch, or "
                  "index by (epoch, i) (StreamSampler)")


class CompositeSamples(Dataset):
    """Samples drawn by the DIM recipe from the composites of a built training set.

    ``root``: a folder built by ``matbench build-train`` (manifest with ``bg_path``).
    ``seed``: the run's seed S. ``recipe``: :class:`samples.Recipe` (crop sizes, output
    size, trimap ranges, online merge). ``len()`` is the number of composites.

    An item (``ds[i]`` or ``ds[(epoch, i)]``) is a dict of torch tensors, CHW, not normalised:

    ===========  =====================================================================
    ``merged``   3×S×S RGB, uint8 0..255 (float32 0..255 with the online merge)
    ``fg``       3×S×S RGB, uint8 0..255
    ``bg``       3×S×S RGB, uint8 0..255
    ``alpha``    1×S×S, uint8 0..255 (255 = foreground)
    ``trimap``   1×S×S, uint8: 0 background, 128 unknown, 255 foreground
    ===========  =====================================================================

    with S = ``recipe.out_size`` px (:func:`network_batch` normalises a collated batch).

    Epochs: the sample of composite i is a pure function of (seed, epoch, its name): the same
    in every process and for any number of DataLoader workers. ``ds[(e, i)]`` names the epoch;
    a plain ``ds[i]`` uses the epoch of the last :meth:`set_epoch` (0 before any call). With
    ``DataLoader(ds, shuffle=True)`` call ``ds.set_epoch(e)`` before iterating each epoch, as
    with torch's ``DistributedSampler``: non-persistent workers copy the dataset at the start
    of every epoch, so they see the new epoch. ``persistent_workers=True`` keeps the workers'
    copies of the first epoch, which ``set_epoch`` does not reach: index by ``(epoch, i)``
    there (:class:`StreamSampler`, as ``matbench train dim`` does).

    Plain indices used the wrong way warn once per dataset copy (``UserWarning``, never an
    error; the samples stay as documented): an index drawn twice in one epoch in one process
    (``set_epoch`` forgotten with 0 workers, or persistent workers), and plain indices inside
    a DataLoader worker when ``set_epoch`` was never called (call ``set_epoch(0)`` for one
    pass on purpose). ``(epoch, i)`` keys never warn.
    """

    def __init__(self, root, seed: int = 0, recipe: Recipe = Recipe()):
        self.root = Path(root)
        self.rows = samples.composite_rows(self.root)
        self.seed = int(seed)
        self.recipe = recipe
        self.epoch = 0
        self._epoch_set = False
        self._seen: set[int] = set()
        self._warned = False

    def __len__(self) -> int:
        return len(self.rows)

    def set_epoch(self, epoch: int) -> None:
        """Make plain indices ``ds[i]`` draw epoch ``epoch``'s samples (an int >= 0)."""
        if int(epoch) != epoch or epoch < 0:
            raise ValueError(f"set_epoch: expected an integer epoch >= 0, got {epoch!r}")
        self.epoch, self._epoch_set, self._seen = int(epoch), True, set()

    def __getitem__(self, key) -> dict:
        if isinstance(key, tuple):
            epoch, i = _key(key)
        else:
            epoch, i = self.epoch, range(len(self.rows))[int(key)]
            self._note_plain(i)
        arrays, _ = samples.sample_from_composite(self.root, self.rows[i], self.seed, epoch, self.recipe)
        return to_tensors(arrays)

    def _note_plain(self, i: int) -> None:
        """Warn (once) when plain index ``i`` is used the wrong way (class docstring)."""
        if self._warned:
            return
        if i in self._seen:
            message = REPEAT_WARNING.format(i=i, epoch=self.epoch)
        elif not self._epoch_set and torch.utils.data.get_worker_info() is not None:
            message = WORKER_WARNING
        else:
            self._seen.add(i)
            return
        import warnings

        self._warned = True
        warnings.warn(message, stacklevel=3)


class FixedSamples(Dataset):
    """The samples of a materialised set (``matbench build-train-samples``), read from their
    PNGs, in the item format of :class:`CompositeSamples`; the epoch of a key and
    :meth:`set_epoch` are ignored (the set is fixed)."""

    def __init__(self, root):
        from matbench.manifest import read_manifest

        self.root = Path(root)
        self.rows = read_manifest(self.root)
        if not self.rows:
            raise MatbenchError(f"{self.root / 'manifest.csv'}: no samples")

    def __len__(self) -> int:
        return len(self.rows)

    def set_epoch(self, epoch: int) -> None:
        """Accepted for the interface of :class:`CompositeSamples`; the samples do not change."""

    def __getitem__(self, key) -> dict:
        _, i = _key(key)
        row = self.rows[i]
        arrays = samples.read_composite(self.root, row)
        from matbench.mattes import read_matte

        arrays["trimap"] = read_matte(self.root / row["trimap"])
        return to_tensors(arrays)


def dataset_kind(root) -> str:
    """``kind`` of a dataset folder's ``dataset.json`` ("" when absent or unreadable)."""
    return str((read_dataset_json(root) or {}).get("kind", ""))


def open_training_data(root, seed: int = 0, recipe: Recipe = Recipe()) -> Dataset:
    """:class:`FixedSamples` for a materialised sample set, else :class:`CompositeSamples`."""
    if dataset_kind(root) == SAMPLES_KIND:
        return FixedSamples(root)
    return CompositeSamples(root, seed, recipe)


class StreamSampler(Sampler):
    """The keys ``(epoch, i)`` of stream positions ``start .. stop − 1``.

    Position p is item ``epoch_order(seed, e, n)[p mod n]`` of epoch e = p // n: every epoch
    visits all ``n`` items once, in an order that depends on (seed, e) only.
    """

    def __init__(self, n: int, seed: int, start: int = 0, stop: int | None = None):
        self.n, self.seed, self.start = int(n), int(seed), int(start)
        self.stop = None if stop is None else int(stop)

    def __len__(self) -> int:
        if self.stop is None:
            raise TypeError("an endless StreamSampler has no length")
        return max(0, self.stop - self.start)

    def __iter__(self):
        p = self.start
        epoch, order = None, None
        while self.stop is None or p < self.stop:
            e = p // self.n
            if e != epoch:
                epoch, order = e, samples.epoch_order(self.seed, e, self.n)
            yield e, int(order[p % self.n])
            p += 1


def make_loader(dataset: Dataset, sampler: Sampler, *, batch_size: int = 1, workers: int = 0,
                pin_memory: bool = False) -> torch.utils.data.DataLoader:
    """A DataLoader over ``dataset`` in the order of ``sampler``, with ``workers`` processes.

    With workers, OpenCV's own thread pool is switched off in this process first
    (``cv2.setNumThreads(0)``, as mmengine does): forked workers inherit the pool's state and
    were seen to deadlock in OpenCV; the workers are the parallelism anyway. The items do not
    depend on ``workers``.
    """
    if workers:
        import cv2

        cv2.setNumThreads(0)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                                       pin_memory=pin_memory)


def network_batch(batch: dict, device) -> tuple[torch.Tensor, dict]:
    """(input N×4×H×W float32, targets) on ``device`` from a collated batch.

    Input: the composite normalised with ImageNet mean/std on 0..255 RGB, and trimap / 255 —
    the same float32 operations as inference (``matbench.baselines.dim.network_input``).
    Targets (float32, 0..1): ``alpha`` (N×1), ``fg``, ``bg``, ``merged`` (N×3) and the weight
    mask ``weight`` (N×1: 1 where trimap == 128). ``docs/specs/training.md``, "Network input and
    targets".
    """
    b = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    mean = torch.from_numpy(MEAN).to(device).view(1, 3, 1, 1)
    std = torch.from_numpy(STD).to(device).view(1, 3, 1, 1)
    merged = b["merged"].float()
    trimap = b["trimap"]
    x = torch.cat(((merged - mean) / std, trimap.float() / 255.0), 1)
    targets = {"alpha": b["alpha"].float() / 255.0, "fg": b["fg"].float() / 255.0,
               "bg": b["bg"].float() / 255.0, "merged": merged / 255.0, "weight": (trimap == 128).float()}
    return x, targets
