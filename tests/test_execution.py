"""The notebook runner's own rules: which errors the smoke runs waive, how metrics are compared."""

from lecture_utils.execution import compare_metrics, own_assert, run_env


def error(ename, *frames):
    return {"output_type": "error", "ename": ename, "evalue": "", "traceback": list(frames)}


def test_only_the_cells_own_asserts_are_waived():
    cell_frame = "\x1b[0;31mCell In[3], line 2\x1b[0m\n----> 2 assert ap > 0.5"
    library_frame = "File /repo/lecture_utils/boxes.py:40, in check_boxes(boxes)"
    assert own_assert(error("AssertionError", "----", cell_frame, "AssertionError: "))
    assert not own_assert(error("AssertionError", "----", cell_frame, library_frame, "AssertionError"))
    assert not own_assert(error("RuntimeError", "----", cell_frame, "RuntimeError: same device"))


def test_run_environments():
    cpu, cuda = run_env("cpu"), run_env("cuda")
    assert cpu["LECTURE_DEVICE"] == "cpu" and "LECTURE_EMULATE" not in cpu and "LECTURE_SMOKE" not in cpu
    assert cuda["LECTURE_EMULATE"] == "cuda" and cuda["LECTURE_SMOKE"] == "1" and "LECTURE_DEVICE" not in cuda
    assert cuda["LECTURE_METRICS_DIR"].endswith("cuda/metrics") and cpu["LECTURE_ALLOW_DOWNLOAD"] == "0"


def test_compare_metrics_ignores_timings_and_flags_moved_results():
    ref = {"AP": 0.70, "mIoU": 0.90, "fast_s_per_image": 0.05, "claim": False, "device": "cpu", "n": 100}
    other = {"AP": 0.71, "mIoU": 0.80, "fast_s_per_image": 0.001, "claim": True, "device": "cuda", "n": 100}
    assert compare_metrics(ref, other) == [("claim", False, True), ("mIoU", 0.90, 0.80)]
