import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("LECTURE_ALLOW_DOWNLOAD", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for coco_cases
