"""Old name of :mod:`lecture_utils.cost` (it measures a model's cost, it does not profile it)."""

from .cost import model_cost

__all__ = ["model_cost"]
