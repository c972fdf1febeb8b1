"""An accuracy predictor plug-in, HAO-style: measure a few networks, fit a regressor, predict.

Training every network a search proposes is what makes hardware-aware NAS slow; HAO (Dong et
al., 2021) and others train a sample, fit a small model from architecture features to
accuracy, and search on its predictions. :class:`AccuracyPredictor` is that model (a seeded
scikit-learn gradient-boosting regressor on the family's parameters and cheap derived
features); :func:`predicted_accuracy` is the per-network objective a space file names:

    [objectives.predicted]
    function = "accuracy_predictor:predicted_accuracy"
    direction = "maximize"

On first use in a process it fits the predictor on a fixed seeded sample of
``$HWLOOP_NAS_TRAIN_POINTS`` (default 24) members of ``mobilenet_family``, measured with its
``accuracy`` and kept in the JSON file ``$HWLOOP_NAS_CACHE`` (default
``~/.cache/hwloop-nas/measured.json``, written atomically), so other processes reuse them.
"""
from __future__ import annotations

import functools
import itertools
import json
import math
import os
import random
import tempfile
from pathlib import Path
from typing import Any, Sequence

import mobilenet_family

#: Members measured to fit the predictor, unless ``$HWLOOP_NAS_TRAIN_POINTS`` says otherwise.
TRAIN_POINTS = 24
SAMPLE_SEED = 0


def features(params: dict) -> list[float]:
    """What the regressor sees: the parameters, and the log of a rough size (channels x
    expansion x kernel area x depth) that ranks members by capacity."""
    p = mobilenet_family.spec(params)
    size = p["width"] * p["expansion"] * p["kernel"] ** 2 * p["depth"]
    return [p["depth"], p["width"], p["kernel"], p["expansion"], math.log(size)]


class AccuracyPredictor:
    """Accuracy from architecture features (fit, then predict; predictions in [0, 1])."""

    def __init__(self, seed: int = 0) -> None:
        from sklearn.ensemble import GradientBoostingRegressor

        self.model = GradientBoostingRegressor(n_estimators=200, max_depth=2,
                                               learning_rate=0.05, random_state=seed)

    def fit(self, points: Sequence[dict], accuracies: Sequence[float]) -> "AccuracyPredictor":
        self.model.fit([features(p) for p in points], list(accuracies))
        return self

    def predict(self, params: dict) -> float:
        return min(1.0, max(0.0, float(self.model.predict([features(params)])[0])))

    def score(self, points: Sequence[dict], accuracies: Sequence[float]) -> dict[str, float]:
        """Kendall's tau (does it rank members right?) and R^2 on held-out members."""
        from scipy.stats import kendalltau
        from sklearn.metrics import r2_score

        predicted = [self.predict(p) for p in points]
        tau = kendalltau(predicted, accuracies).statistic
        return {"kendall_tau": float(tau), "r2": float(r2_score(accuracies, predicted))}


def training_sample(count: int, seed: int = SAMPLE_SEED) -> list[dict]:
    """``count`` distinct members of the family, the same ones for a seed."""
    grid = [dict(zip(mobilenet_family.PARAMS, values))
            for values in itertools.product(*mobilenet_family.PARAMS.values())]
    return random.Random(seed).sample(grid, min(count, len(grid)))


def measured(points: Sequence[dict], path: Path) -> list[float]:
    """Measured accuracy of each point: from the JSON file, else trained now (and added)."""
    known = json.loads(path.read_text()) if path.exists() else {}
    missing = [p for p in points if _key(p) not in known]
    for p in missing:
        known[_key(p)] = mobilenet_family.accuracy(p)
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as handle:
            json.dump(known, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    return [known[_key(p)] for p in points]


@functools.cache
def fitted() -> AccuracyPredictor:
    """The predictor of this process, fitted on the measured training sample."""
    count = int(os.environ.get("HWLOOP_NAS_TRAIN_POINTS", TRAIN_POINTS))
    path = Path(os.environ.get("HWLOOP_NAS_CACHE",
                               Path.home() / ".cache" / "hwloop-nas" / "measured.json"))
    sample = training_sample(count)
    return AccuracyPredictor().fit(sample, measured(sample, path))


def predicted_accuracy(params: dict) -> float:
    """The plug-in objective: predicted held-out accuracy of the point's network."""
    return fitted().predict(params)


def _key(params: dict[str, Any]) -> str:
    """A measurement's key: the member and the training recipe (a new recipe measures anew)."""
    return json.dumps({**mobilenet_family.spec(params), "recipe": mobilenet_family.RECIPE},
                      sort_keys=True)
