"""The course's trained models by name: one place that builds them for the training scripts, the
notebooks and the tests, so a shipped checkpoint and the code that loads it cannot drift apart.

``SEGMENTERS[name](num_classes)`` builds the semantic-segmentation nets of notebooks 04 and 05
(their checkpoints are ``seg_<name>[_4k].pt``); ``OPERATORS[name]()`` the PDE operators of
notebook 06 (``operator_<name>.pt``). DINO's ViTs are built by :mod:`lecture_utils.dino.config`.
"""

from __future__ import annotations

from .neural_operator import FNO2d, UNetOperator, UNO2d
from .segmentation import FCN, EncoderDecoder
from .unet import LinkNet, UNet

__all__ = ["SEGMENTERS", "OPERATORS"]

SEGMENTERS = {
    "encdec": lambda k: EncoderDecoder(k),
    "encdec_skip": lambda k: EncoderDecoder(k, skips=True),  # the same net and parameters, with additive skips
    "fcn32s": lambda k: FCN(k, "32s"),
    "fcn16s": lambda k: FCN(k, "16s"),
    "fcn8s": lambda k: FCN(k, "8s"),
    "unet": lambda k: UNet(k),
    "unet_noskip": lambda k: UNet(k, skips=False),  # the same net and parameters, skips replaced by zeros
    "linknet": lambda k: LinkNet(k),  # the paper's stem: 7x7 stride-2 conv + max-pool (stride 4)
    "linknet_s2": lambda k: LinkNet(k, widths=(16, 32, 64, 128), stem_stride=2),  # lighter, stride 2
}

OPERATORS = {
    "unet": lambda: UNetOperator(),
    "unet_bn": lambda: UNetOperator(norm="batch"),
    "fno": lambda: FNO2d(),
    "uno": lambda: UNO2d(),  # the lecture's figure: spectral layers on a U of grids, with skips
}
