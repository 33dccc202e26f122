"""The learners compared for the forecaster (docs/benchmarks.md "Day-ahead forecaster"), and the one
Settings every region is scored with. All see the same features and target (exporters/grid/forecasting)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gridshift.exporters.grid.forecasting import Settings
from gridshift.exporters.grid.forecasting.model import lightgbm_learner

SETTINGS = Settings()


def hist_gradient_boosting_learner(X: np.ndarray, z: np.ndarray, settings: Settings) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(loss="absolute_error", learning_rate=settings.learning_rate,
                                         max_iter=settings.trees, max_leaf_nodes=settings.leaves,
                                         min_samples_leaf=settings.min_child_samples, early_stopping=False,
                                         random_state=settings.seed).fit(X, z)


def lightgbm_quantile_learner(X: np.ndarray, z: np.ndarray, settings: Settings) -> Any:
    import lightgbm

    params = {"objective": "quantile", "alpha": 0.5, "learning_rate": settings.learning_rate, "num_leaves": settings.leaves,
              "min_data_in_leaf": settings.min_child_samples, "seed": settings.seed, "deterministic": True,
              "num_threads": settings.threads, "force_col_wise": True, "verbosity": -1}
    return lightgbm.train(params, lightgbm.Dataset(X, z), num_boost_round=settings.trees)


LEARNERS = {
    "lightgbm": lightgbm_learner,
    "lightgbm_quantile": lightgbm_quantile_learner,
    "hist_gradient_boosting": hist_gradient_boosting_learner,
}


class _RatioModel:
    """A booster trained on the ratio exp(z), answering in z (what fit() expects)."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(self.booster.predict(X), 1e-6))

    def model_to_string(self) -> str:
        return self.booster.model_to_string()


def lightgbm_mape_learner(X: np.ndarray, z: np.ndarray, settings: Settings) -> Any:
    """LightGBM's MAPE objective on the ratio (y + 1) / (level + 1): the point that minimises the
    expected absolute percentage error, which is below the median of a skewed distribution."""
    import lightgbm

    params = {"objective": "mape", "learning_rate": settings.learning_rate, "num_leaves": settings.leaves,
              "min_data_in_leaf": settings.min_child_samples, "feature_fraction": settings.feature_fraction,
              "bagging_fraction": 0.8, "bagging_freq": 1, "seed": settings.seed, "deterministic": True,
              "num_threads": settings.threads, "force_col_wise": True, "verbosity": -1, "max_bin": 63}
    return _RatioModel(lightgbm.train(params, lightgbm.Dataset(X, np.exp(z)), num_boost_round=settings.trees))


LEARNERS["lightgbm_mape"] = lightgbm_mape_learner
