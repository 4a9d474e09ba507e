"""Evaluation: features -> distances (optionally re-ranked) -> CMC / mAP / mINP.

``evaluate_rank`` is the pure metric function; ``evaluate_model`` runs the whole chain on a model.

Part of the library. Imports: nothing else of ``rga`` (a model is any module returning
``z``/``z_hat``); it never imports the trainer.
"""

from rga.evaluation.distance import compute_distance
from rga.evaluation.features import Features, evaluate_model, extract_features
from rga.evaluation.ranking import evaluate_rank, top_k_gallery
from rga.evaluation.rerank import re_ranking

__all__ = [
    "Features",
    "compute_distance",
    "evaluate_model",
    "evaluate_rank",
    "extract_features",
    "re_ranking",
    "top_k_gallery",
]
