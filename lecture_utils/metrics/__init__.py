"""Detection and segmentation metrics, in three layers (one module each):

* :mod:`.detection`: the didactic layer (matching, precision/recall, AP, mAP) on tensors;
* :mod:`.coco`: the COCO benchmark's 12 numbers from COCO-format dicts (pycocotools' rules);
* :mod:`.segmentation`: mask IoU, confusion matrix, pixel accuracy, (m)IoU, boundary F.

Everything is re-exported here, so ``from lecture_utils.metrics import coco_evaluate`` works.
"""

from .coco import (
    COCO_STATS,
    coco_evaluate,
    detections_to_coco,
    pycocotools_evaluate,
    pycocotools_matches,
)
from .detection import (
    AP_METHODS,
    MATCH_RULES,
    average_precision,
    match_detections,
    mean_average_precision,
    object_recall,
    precision_recall_curve,
)
from .segmentation import (
    boundary_f_score,
    boundary_f_scores,
    confusion_matrix,
    mask_iou,
    mean_iou,
    paired_bootstrap_gap,
    paired_draw_bootstrap,
    paired_mask_iou,
    per_class_iou,
    pixel_accuracy,
    scene_scores,
)

__all__ = [
    "match_detections", "MATCH_RULES", "object_recall", "precision_recall_curve", "average_precision", "AP_METHODS",
    "mean_average_precision", "COCO_STATS", "coco_evaluate", "pycocotools_evaluate", "pycocotools_matches", "detections_to_coco",
    "mask_iou", "paired_mask_iou", "confusion_matrix", "pixel_accuracy", "per_class_iou", "mean_iou", "boundary_f_score",
    "boundary_f_scores", "scene_scores", "paired_bootstrap_gap", "paired_draw_bootstrap",
]
