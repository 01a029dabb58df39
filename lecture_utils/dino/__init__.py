"""DINO self-distillation at toy scale, with the DINOv2 (iBOT, KoLeo) and DINOv3 (Gram) losses.

One module per concept, everything re-exported here (``from lecture_utils.dino import ...``):

* :mod:`.config` - notebook 07's scenes, ViT and DINO settings, the models built from them;
* :mod:`.augment` - :func:`multi_crop`: 2 global + ``n_local`` local random-resized crops with
  flips, colour jitter, grey-scale, blur and solarisation;
* :mod:`.loss` - :class:`DINOLoss` (centred, sharpened teacher; cross-entropy over view pairs)
  and the collapse diagnostics :func:`entropy_stats`;
* :mod:`.later_losses` - :func:`koleo_loss`, :func:`ibot_patch_loss`, :func:`gram_loss`;
* :mod:`.attention_maps` - :func:`cls_attention`, :func:`attention_mass_mask`, :func:`jaccard`
  (keep 60 % of the [CLS] attention mass, compare with the object mask);
* :mod:`.attention_scores` - what the 60 % Jaccard hides: :func:`mass_on_object`, :func:`auroc_per_image`,
  k-patch masks of a head or of its complement (:func:`choose_rank_mask`), :func:`uniform_jaccard`;
* :mod:`.probes` - linear probes on frozen features: [CLS] (:func:`colour_probe`, :func:`shape_probe`,
  :func:`shape_retrieval`) and patch tokens (:func:`segmentation_probe`, DINOv2's linear segmentation);
* :mod:`.step` - :func:`self_distillation_step`, one update of the whole method.

The teacher's EMA and the cosine schedules are the course-wide ones (:mod:`lecture_utils.schedules`).
"""

from ..schedules import cosine_schedule, ema_update
from .attention_maps import attention_mass_mask, cls_attention, jaccard
from .attention_scores import (
    OBJECT_PATCH,
    auroc_per_image,
    choose_rank_mask,
    mask_precision,
    mass_on_object,
    patch_share,
    rank_mask_jaccard,
    rank_mask_jaccard_by_k,
    top_k_mask,
    uniform_jaccard,
    upsample_patches,
)
from .augment import multi_crop
from .config import (
    DINO,
    DINO_SCENES,
    HEAD,
    VIT,
    dino_model,
    scene_pool,
    shape_targets,
    supervised_model,
)
from .later_losses import gram_loss, ibot_patch_loss, koleo_loss, random_patch_mask
from .loss import DINOLoss, entropy_stats
from .probes import (
    cls_features,
    colour_probe,
    object_colour,
    patch_features,
    segmentation_probe,
    shape_probe,
    shape_retrieval,
    shape_retrieval_chance,
)
from .step import self_distillation_step

__all__ = [
    "DINO_SCENES", "VIT", "HEAD", "DINO", "dino_model", "supervised_model", "scene_pool", "multi_crop", "DINOLoss",
    "ema_update", "cosine_schedule", "entropy_stats", "koleo_loss", "ibot_patch_loss", "random_patch_mask",
    "gram_loss", "cls_attention", "attention_mass_mask", "jaccard", "shape_targets", "self_distillation_step",
    "OBJECT_PATCH", "patch_share", "upsample_patches", "mass_on_object", "mask_precision", "auroc_per_image",
    "top_k_mask", "rank_mask_jaccard", "rank_mask_jaccard_by_k", "choose_rank_mask", "uniform_jaccard",
    "object_colour", "cls_features", "colour_probe", "shape_probe", "shape_retrieval", "shape_retrieval_chance", "patch_features",
    "segmentation_probe",
]
