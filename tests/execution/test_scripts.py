"""Every shipped training script runs two steps under emulated CUDA and under emulated MPS.

They run in a temporary build and checkpoint directory (``LECTURE_BUILD_DIR``,
``LECTURE_CHECKPOINT_DIR``), so the shipped checkpoints are never touched, with the smoke profile
(small evaluation sets). What is checked: the script finishes and writes its checkpoint.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNS = {
    "detectors_course": ["train_detectors.py", "--model", "course", "--steps", "2"],
    "detectors_torchvision": ["train_detectors.py", "--model", "torchvision", "--steps", "2"],
    "detectors_yolo": ["train_detectors.py", "--model", "yolo", "--steps", "2"],
    "detectors_openvocab": ["train_detectors.py", "--model", "openvocab", "--steps", "2"],
    "detectors_fast_align": ["train_detectors.py", "--model", "fast_align", "--steps", "2", "--pool", "4"],
    "detectors_openvocab_random": ["train_detectors.py", "--model", "openvocab_random", "--steps", "2"],
    "segmenters": ["train_segmenters.py", "--steps", "2", "--only", "unet", "fcn8s"],
    "operators": ["train_operators.py", "--steps", "2", "--only", "unet", "fno"],
    "ddpm": ["train_ddpm.py", "--steps", "2", "--batch-size", "4", "--save-every", "1"],
    "label_efficiency": ["label_efficiency_08.py", "--part", "all"],
    "dino": ["train_dino.py", "--mode", "dino", "--steps", "2", "--batch", "4", "--pool", "16",
             "--eval-every", "2", "--save-every", "1", "--freeze-last-layer", "1"],
    "dino_supervised": ["train_dino.py", "--mode", "supervised", "--steps", "2", "--batch", "4", "--pool", "16",
                        "--eval-every", "2", "--save-every", "1"],
}
CHECKPOINTS = {"detectors_course": "faster_rcnn_course.pt", "detectors_torchvision": "faster_rcnn_torchvision.pt",
               "detectors_yolo": "yolo_v1.pt", "detectors_openvocab": "yolo_open_vocab.pt",
               "detectors_fast_align": "fast_rcnn_align.pt", "detectors_openvocab_random": "yolo_open_vocab_random.pt",
               "segmenters": "seg_fcn8s.pt", "operators": "operator_fno.pt",
               "ddpm": "ddpm_scenes.pt", "label_efficiency": "label_efficiency_08.pt", "dino": "vit_dino.pt", "dino_supervised": "vit_supervised.pt"}


@pytest.mark.parametrize("kind", ["cuda", "mps"])
@pytest.mark.parametrize("name", list(RUNS))
def test_training_script_runs_on_an_emulated_device(name, kind, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LECTURE_")}
    env.update(LECTURE_EMULATE=kind, LECTURE_SMOKE="1", LECTURE_ALLOW_DOWNLOAD="0", HF_HUB_OFFLINE="1",
               LECTURE_BUILD_DIR=str(tmp_path / "build"), LECTURE_CHECKPOINT_DIR=str(tmp_path / "ckpt"),
               MPLBACKEND="Agg", PYTHONPATH=str(REPO), LECTURE_THREADS=os.environ.get("LECTURE_THREADS", "2"))
    needs = {"detectors_openvocab": "yolo_v1.pt", "detectors_openvocab_random": "yolo_v1.pt",
             "label_efficiency": "ddpm_scenes.pt"}  # scripts that start from a shipped checkpoint
    if name in needs:
        from lecture_utils.checkpoints import CHECKPOINT_DIR, sha256_of

        (tmp_path / "ckpt").mkdir()
        shutil.copy(CHECKPOINT_DIR / needs[name], tmp_path / "ckpt")
        (tmp_path / "ckpt" / "SHA256SUMS").write_text(f"{sha256_of(tmp_path / 'ckpt' / needs[name])}  {needs[name]}\n")
    script, *args = RUNS[name]
    done = subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{script} {' '.join(args)} under emulated {kind}:\n{done.stderr[-4000:]}"
    assert (tmp_path / "ckpt" / CHECKPOINTS[name]).exists()
