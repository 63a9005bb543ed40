"""Drop-in for kynkaat/improved-precision-and-recall-metric (Kynkäänniemi et al. 2019).

Reproduces ``precision_recall.py`` (the TensorFlow code, current float32 revision):
:class:`DistanceBlock`, :class:`ManifoldEstimator` and
:func:`knn_precision_recall_features`, with the same signatures, return types and prints,
computed by fastprdc without the upstream's row x column distance batches (the batch
sizes and ``num_gpus`` are accepted and ignored; fastprdc tiles by itself).

Conventions reproduced:

- Features are used as float32 (upstream feeds them to float32 placeholders).
- Distances are **squared**; ``ManifoldEstimator.D[i, h]`` is the squared distance from
  row i to its neighbour at position ``nhood_sizes[h]`` of its ascending row *including
  itself* (= fastprdc's k-th radius, self excluded by position), stored as float32.
- ``clamp_to_percentile``: ``thr = np.percentile(D, p, axis=0)`` on the float32 ``D``,
  then ``D[D > thr] = 0``: a pruned ball gets radius 0 (it still holds exact duplicates of
  its centre), exactly as upstream.
- Membership is **inclusive** (``d^2 <= D``), decided exactly: d <= r on exact distances
  (not on the float32-rounded squares upstream compares).
- Realism is the code's form, ``max_i D[i, 0] / (d^2(j, i) + eps)`` over *all* reference
  rows (pruned ones contribute 0), evaluated in float64 and rounded to float32; upstream
  adds the Python float ``eps`` to float32 values, so ``float32(eps)`` is used.
- ``evaluate`` returns int32 predictions (M, H), float32 realism (M,), int32 nearest
  indices (M,) (lowest index on exact ties), in upstream's tuple order.
- :func:`knn_precision_recall_features` prints upstream's two lines and returns
  ``{"precision": float64 (H,), "recall": float64 (H,)}``.

``variant="stylegan2-ada"`` reproduces NVlabs/stylegan2-ada-pytorch's
``metrics/precision_recall.py`` decisions instead: features rounded to float16, plain
distances compared in float16 (``fp16(d) <= fp16(r_k)``, inclusive). Each radius is
replaced by the largest float64 value that rounds to ``fp16(r_k)``, so the decision is
exact for the float16 features; the GPU's half-precision norm-expansion error is not
reproduced. :func:`stylegan2_ada_pr` returns that port's ``(precision, recall)`` Python
floats (float32 means).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import float32_mean, largest_preimage, to_numpy

__all__ = [
    "DistanceBlock",
    "ManifoldEstimator",
    "knn_precision_recall_features",
    "stylegan2_ada_pr",
]

_VARIANTS = ("kynkaat", "stylegan2-ada")


def _check_variant(variant: str) -> None:
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")


def _features(x: Any, variant: str, name: str) -> np.ndarray:
    """Features as the variant computes with them: float32, or float16 values (as float32)."""
    a = np.ascontiguousarray(to_numpy(x), dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
    if variant == "stylegan2-ada":
        with np.errstate(over="ignore"):
            h = a.astype(np.float16)
        bad = ~np.isfinite(h).all(axis=1)
        if bad.any() and np.isfinite(a).all():
            raise ValueError(
                f"{name} overflows float16 (|value| > 65504) at row {int(np.argmax(bad))}: "
                "the stylegan2-ada variant computes in float16"
            )
        a = h.astype(np.float32)
    return a


def _fp16_thresholds(r: np.ndarray) -> np.ndarray:
    """Largest float64 t with fp16(t) == fp16(r): ``d <= t`` iff ``fp16(d) <= fp16(r)``."""
    with np.errstate(over="ignore"):
        u = np.asarray(r, dtype=np.float64).astype(np.float16)
    if not np.isfinite(u).all():
        raise ValueError("a radius overflows float16 (> 65504) in the stylegan2-ada variant")
    return largest_preimage(u, np.float16)


def _kth_radii(x: np.ndarray, nhood_sizes: Sequence[int]) -> dict[int, np.ndarray]:
    """r_k (self excluded by position) for every k of nhood_sizes, one neighbour search.

    Upstream partitions each row at positions 0..max(k) (self included), so k must be
    < N (numpy's rule); k = 0 is the self distance, 0.
    """
    from .. import primitives

    n = x.shape[0]
    ks = sorted({int(k) for k in nhood_sizes})
    if not ks:
        raise ValueError("nhood_sizes is empty")
    if ks[0] < 0:
        raise ValueError(f"nhood_sizes must be >= 0, got {ks[0]}")
    if ks[-1] >= n:
        raise ValueError(f"kth(={ks[-1]}) out of bounds ({n})")
    radii = {0: np.zeros(n)} if ks[0] == 0 else {}
    positive = [k for k in ks if k > 0]
    if positive:
        got = primitives.kth_radii(x, positive)
        assert isinstance(got, dict)
        radii.update(got)
    return radii


class DistanceBlock:
    """Squared pairwise distances, as kynkaat's TF ``DistanceBlock`` returns them.

    ``pairwise_distances(U, V)`` gives the (len U, len V) float32 matrix of exact squared
    distances between the float32-cast rows, rounded to float32 (upstream evaluates
    ``max(|u|^2 - 2 u.v + |v|^2, 0)`` in float32). :class:`ManifoldEstimator` accepts one
    (or None) but never calls it.
    """

    def __init__(self, num_features: int, num_gpus: int) -> None:
        self.num_features = num_features
        self.num_gpus = num_gpus

    def pairwise_distances(self, U: Any, V: Any) -> np.ndarray:
        from .. import primitives

        u = np.ascontiguousarray(to_numpy(U), dtype=np.float32)
        v = np.ascontiguousarray(to_numpy(V), dtype=np.float32)
        d = primitives.pairwise_distances(u, v)
        return np.square(d).astype(np.float32)


class ManifoldEstimator:
    """The k-NN manifold of a feature set (kynkaat's ``ManifoldEstimator``).

    Args:
        distance_block: a :class:`DistanceBlock`, any object, or None (kept, not used).
        features: (N, d) features of the reference set.
        row_batch_size, col_batch_size: accepted for compatibility (memory knobs upstream).
        nhood_sizes: neighbourhood sizes k; ``D`` gets one column per entry, in order.
        clamp_to_percentile: prune balls with ``D`` above this percentile (set to 0).
        eps: added to the squared distance in the realism denominator.
        variant: ``"kynkaat"`` (default) or ``"stylegan2-ada"`` (see the module docstring).
    """

    def __init__(
        self,
        distance_block: Any,
        features: Any,
        row_batch_size: int = 25000,
        col_batch_size: int = 50000,
        nhood_sizes: Sequence[int] = [3],  # upstream's signature
        clamp_to_percentile: float | None = None,
        eps: float = 1e-5,
        *,
        variant: str = "kynkaat",
    ) -> None:
        _check_variant(variant)
        self.nhood_sizes = nhood_sizes
        self.num_nhoods = len(nhood_sizes)
        self.eps = eps
        self.row_batch_size = row_batch_size
        self.col_batch_size = col_batch_size
        self._ref_features = features
        self._distance_block = distance_block
        self.variant = variant

        self._x = _features(features, variant, "features")
        radii = _kth_radii(self._x, nhood_sizes)
        r = np.stack([radii[int(k)] for k in nhood_sizes], axis=1)  # (N, H) exact, float64
        self.D = np.square(r).astype(np.float32)
        if clamp_to_percentile is not None:
            max_distances = np.percentile(self.D, clamp_to_percentile, axis=0)
            pruned = np.greater(self.D, max_distances)
            self.D[pruned] = 0
            r = np.where(pruned, 0.0, r)
        self._radii = np.ascontiguousarray(r)  # exact radii of the (possibly pruned) balls

    def _membership_radii(self) -> np.ndarray:
        if self.variant == "stylegan2-ada":
            return np.ascontiguousarray(_fp16_thresholds(self._radii))
        return self._radii

    def evaluate(
        self, eval_features: Any, return_realism: bool = False, return_neighbors: bool = False
    ) -> Any:
        """Which rows of ``eval_features`` lie in the manifold (kynkaat's ``evaluate``).

        Returns:
            ``batch_predictions`` int32 (M, H); with ``return_realism`` also the float32
            (M,) realism scores, with ``return_neighbors`` the int32 (M,) index of each
            row's nearest reference row, in the order (predictions, realism, neighbours).
        """
        from .. import primitives

        x = _features(eval_features, self.variant, "eval_features")
        if x.shape[1] != self._x.shape[1]:
            raise ValueError(
                f"eval_features and the reference features have different widths: "
                f"{x.shape[1]} vs {self._x.shape[1]}"
            )
        same_radii = self.variant == "kynkaat"
        realism_here = return_realism and same_radii
        bm = primitives.ball_membership(
            x,
            self._x,
            self._membership_radii(),
            boundary="inclusive",
            **(_realism_kwargs(self.eps) if realism_here else {}),
        )
        batch_predictions = np.ascontiguousarray(bm["any"].astype(np.int32))
        out: list[np.ndarray] = [batch_predictions]
        if return_realism:
            if realism_here:
                score = bm["realism"][:, 0]
            else:
                score = primitives.ball_membership(
                    x, self._x, self._radii[:, 0], **_realism_kwargs(self.eps)
                )["realism"]
            out.append(np.asarray(score, dtype=np.float64).astype(np.float32))
        if return_neighbors:
            out.append(bm["nearest_centre"].astype(np.int32))
        return out[0] if len(out) == 1 else tuple(out)


def _realism_kwargs(eps: float) -> dict[str, Any]:
    """ball_membership arguments for the code's realism form r^2 / (d^2 + eps).

    Upstream adds the Python float eps to a float32 array, so it acts as float32(eps).
    """
    return {"realism": True, "realism_eps": float(np.float32(eps))}


def knn_precision_recall_features(
    ref_features: Any,
    eval_features: Any,
    nhood_sizes: Sequence[int] = [3],  # upstream's signature
    row_batch_size: int = 10000,
    col_batch_size: int = 50000,
    num_gpus: int = 1,
    *,
    variant: str = "kynkaat",
) -> dict[str, np.ndarray]:
    """k-NN precision and recall of eval_features against ref_features (kynkaat's function).

    Prints ``Evaluating k-NN precision and recall with N samples...`` and
    ``Evaluated k-NN precision and recall in: Ts`` as upstream does.

    Returns:
        ``{"precision": float64 (H,), "recall": float64 (H,)}``, one entry per nhood size.
    """
    _check_variant(variant)
    ref = to_numpy(ref_features)
    evl = to_numpy(eval_features)
    num_images = ref.shape[0]
    state: dict[str, np.ndarray] = {}
    fused = variant == "kynkaat" and len(nhood_sizes) > 0 and min(nhood_sizes) > 0
    if fused:
        # One fastprdc run: both self-kNNs and one cross pass serve every k both ways.
        from ..metrics import precision_recall

        r = _features(ref, variant, "ref_features")
        e = _features(evl, variant, "eval_features")
        ks = sorted({int(k) for k in nhood_sizes})
        for x in (r, e):
            if ks[-1] >= x.shape[0]:
                raise ValueError(f"kth(={ks[-1]}) out of bounds ({x.shape[0]})")
        print(f"Evaluating k-NN precision and recall with {num_images:d} samples...")
        start = time.time()
        res = precision_recall(r, e, k=ks, boundary="inclusive")
        # mean of an int32 0/1 column is count / n exactly, as the native fractions are
        state["precision"] = np.array([res["precision"][int(k)] for k in nhood_sizes])
        state["recall"] = np.array([res["recall"][int(k)] for k in nhood_sizes])
    else:
        db = DistanceBlock(ref.shape[1] if ref.ndim == 2 else 0, num_gpus)
        args = (row_batch_size, col_batch_size, nhood_sizes)
        ref_manifold = ManifoldEstimator(db, ref, *args, variant=variant)
        eval_manifold = ManifoldEstimator(db, evl, *args, variant=variant)
        print(f"Evaluating k-NN precision and recall with {num_images:d} samples...")
        start = time.time()
        state["precision"] = ref_manifold.evaluate(evl).mean(axis=0)
        state["recall"] = eval_manifold.evaluate(ref).mean(axis=0)
    print(f"Evaluated k-NN precision and recall in: {time.time() - start:g}s")
    return state


def stylegan2_ada_pr(
    real_features: Any,
    gen_features: Any,
    nhood_size: int = 3,
    row_batch_size: int = 10000,
    col_batch_size: int = 10000,
) -> tuple[float, float]:
    """The StyleGAN2-ADA port's ``compute_pr`` on given features (its detector not run).

    Features rounded to float16; precision = share of generated rows within
    ``fp16(r_k)`` of some real row (inclusive, plain distances), recall the mirror.

    Returns:
        ``(precision, recall)`` as Python floats holding float32 means, as upstream.
    """
    real = _features(real_features, "stylegan2-ada", "real_features")
    gen = _features(gen_features, "stylegan2-ada", "gen_features")
    results = []
    for manifold, probes in ((real, gen), (gen, real)):
        me = ManifoldEstimator(None, manifold, nhood_sizes=[nhood_size], variant="stylegan2-ada")
        pred = me.evaluate(probes)[:, 0]
        results.append(float32_mean(int(pred.sum()), pred.shape[0]))
    return results[0], results[1]
