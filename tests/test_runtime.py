import json

import pytest
import torch

from lecture_utils import runtime


def test_get_device_order_is_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("LECTURE_DEVICE", raising=False)
    monkeypatch.delenv("LECTURE_EMULATE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.get_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert runtime.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device() == torch.device("cuda")


def test_get_device_rejects_unavailable_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="prefer"):
        runtime.get_device("cuda")
    assert runtime.get_device("cpu").type == "cpu"


@pytest.mark.parametrize("bad", ["CPU", "banana", " cpu", "meta", "xpu", "cpu:1"])
def test_get_device_names_the_variable_on_a_bad_value(monkeypatch, bad):
    monkeypatch.setenv("LECTURE_DEVICE", bad)
    with pytest.raises(ValueError, match="LECTURE_DEVICE"):
        runtime.get_device()


def test_model_device_and_resolve_device():
    net = torch.nn.Linear(2, 2)
    assert runtime.model_device(net).type == "cpu"
    assert runtime.model_device(torch.nn.ReLU()).type == "cpu"  # no parameters: the CPU
    assert runtime.resolve_device(net, None) == torch.device("cpu")
    with pytest.raises(TypeError, match="model"):
        runtime.model_device("not a model")


def test_threads_are_fixed_and_checked(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("LECTURE_THREADS", "1")
        assert runtime.set_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("LECTURE_THREADS", "zero")
        with pytest.raises(ValueError, match="LECTURE_THREADS"):
            runtime.set_threads()
        with pytest.raises(ValueError, match="threads"):
            runtime.set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_seed_everything_repeats_random_draws():
    runtime.seed_everything(123)
    a = torch.rand(5)
    runtime.seed_everything(123)
    assert torch.equal(a, torch.rand(5))
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(-1)


def test_profile_switch(monkeypatch):
    monkeypatch.delenv("LECTURE_FULL", raising=False)
    monkeypatch.delenv("LECTURE_SMOKE", raising=False)
    assert runtime.pick(fast=1, full=2) == 1
    monkeypatch.setenv("LECTURE_SMOKE", "1")
    assert runtime.pick(fast=200, full=5000) == 10 and runtime.pick(fast=5, full=9) == 1
    assert runtime.pick(fast=200, full=5000, smoke=3) == 3 and runtime.pick(False, True) is False
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


def test_setup_records_where_and_how_it_ran(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "BUILD_DIR", tmp_path)
    monkeypatch.delenv("LECTURE_METRICS_DIR", raising=False)
    monkeypatch.setenv("LECTURE_THREADS", "1")
    monkeypatch.setenv("LECTURE_SEED", "7")
    before = torch.get_num_threads()
    try:
        device = runtime.setup("99_test", quiet=True)
    finally:
        torch.set_num_threads(before)
    assert isinstance(device, torch.device)
    runtime.record("x", 1.5)
    data = json.loads((tmp_path / "metrics" / "99_test.json").read_text())
    assert data["torch_threads"] == 1 and data["seed"] == 7 and data["torch_version"] == torch.__version__
    assert data["device"] == device.type and data["x"] == 1.5
    with pytest.raises(ValueError, match="notebook"):
        runtime.setup("../evil")
    with pytest.raises(ValueError, match="notebook"):
        runtime.record("x", 1.0, notebook="../../x")
    monkeypatch.setenv("LECTURE_METRICS_DIR", str(tmp_path / "elsewhere"))
    runtime.record("y", 2, notebook="nb")
    assert (tmp_path / "elsewhere" / "nb.json").exists()
