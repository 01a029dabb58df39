import json

import pytest
import torch

from lecture_utils import runtime


def test_get_device_falls_back_to_cpu_or_accelerator():
    device = runtime.get_device()
    assert device.type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert device.type == "cpu"


def test_get_device_rejects_unavailable_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="prefer"):
        runtime.get_device("cuda")
    assert runtime.get_device("cpu").type == "cpu"


def test_seed_everything_repeats_random_draws():
    runtime.seed_everything(123)
    a = torch.rand(5)
    runtime.seed_everything(123)
    assert torch.equal(a, torch.rand(5))
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(-1)


def test_profile_switch(monkeypatch):
    monkeypatch.delenv("LECTURE_FULL", raising=False)
    assert runtime.pick(fast=1, full=2) == 1
    monkeypatch.setenv("LECTURE_FULL", "1")
    assert runtime.full_profile() and runtime.pick(fast=1, full=2) == 2


def test_downloads_are_opt_in(monkeypatch):
    monkeypatch.delenv("LECTURE_ALLOW_DOWNLOAD", raising=False)
    assert not runtime.downloads_allowed()
    monkeypatch.setenv("LECTURE_ALLOW_DOWNLOAD", "1")
    assert runtime.downloads_allowed()


def test_record_writes_json(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "BUILD_DIR", tmp_path)
    assert runtime.record("AP50", torch.tensor(0.75), notebook="nb") == 0.75
    runtime.record("n", 3, notebook="nb")
    data = json.loads((tmp_path / "metrics" / "nb.json").read_text())
    assert data == {"AP50": 0.75, "n": 3}
    assert runtime.load_metrics(tmp_path / "metrics") == {"nb": data}


def test_record_rejects_bad_values(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "BUILD_DIR", tmp_path)
    with pytest.raises(ValueError, match="non-finite"):
        runtime.record("x", float("nan"), notebook="nb")
    with pytest.raises(TypeError, match="value"):
        runtime.record("x", [1, 2], notebook="nb")
    with pytest.raises(ValueError, match="name"):
        runtime.record("", 1.0, notebook="nb")


def test_setup_names_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "BUILD_DIR", tmp_path)
    device = runtime.setup("99_test", quiet=True)
    assert isinstance(device, torch.device)
    runtime.record("x", 1.5)
    assert (tmp_path / "metrics" / "99_test.json").exists()
    with pytest.raises(ValueError, match="notebook"):
        runtime.setup("../evil")
