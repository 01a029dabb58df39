"""An emulated CUDA or Apple-MPS device on the CPU, so that the GPU path is tested where no GPU is.

CI has no GPU, yet the course must run on one. ``activate("cuda")`` (or ``"mps"``) makes the CPU
behave, for the rules that break real code, like that device:

- a tensor placed on the emulated device (``x.to("cuda")``, ``torch.zeros(..., device=x.device)``,
  ``model.to(device)``) is a real CPU tensor *tagged* as a device tensor: its ``.device`` says
  ``cuda:0`` (or ``mps:0``), and everything computed from it carries the tag;
- an op that mixes a device tensor with a CPU tensor of one or more dimensions fails as CUDA
  fails (0-dimensional CPU tensors are allowed, as CUDA allows CPU scalars);
- a CPU tensor indexed by device indices fails (a device tensor indexed by CPU indices is fine);
- a CPU ``torch.Generator`` used to sample on the device fails;
- ``.numpy()`` / ``np.asarray`` of a device tensor fails (call ``.cpu()`` first);
- under MPS emulation, a float64 (or complex128) tensor on the device fails: MPS has no float64.

The numbers are computed on the CPU, so an emulated run gives the CPU's results; what it proves
is that no code path mixes devices. It is a ``TorchFunctionMode``: it sees every call of the torch
API made from Python (functions, tensor methods, attribute reads such as ``.grad``) and lets
C++ internals run untouched. It does not see code that bypasses the Python API, and it does
not emulate performance, memory or numerical differences of real kernels. Used by the tests
through ``LECTURE_EMULATE=cuda|mps`` (read by ``runtime.setup``); never needed by a student.
"""

from __future__ import annotations

import contextlib

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["KINDS", "EmulatedTensor", "activate", "deactivate", "emulated_device", "emulate", "is_emulated"]

KINDS = ("cuda", "mps")
_DOUBLE = (torch.float64, torch.complex128)
_Tensor = torch.Tensor


class EmulatedTensor(torch.Tensor):
    """A CPU tensor that says it lives on the emulated device (see the module docstring)."""

    # the mode below does all the work; the subclass itself adds no torch-function behaviour
    __torch_function__ = torch._C._disabled_torch_function_impl
    _device = torch.device("cuda", 0)

    @property
    def device(self) -> torch.device:
        return type(self)._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_mps(self) -> bool:
        return self._device.type == "mps"

    def get_device(self) -> int:
        return 0

    def __repr__(self, *, tensor_contents=None) -> str:
        text = _Tensor.__repr__(self.as_subclass(_Tensor))
        return f"{text[:-1]}, device='{self._device}')" if text.endswith(")") else text

    def __deepcopy__(self, memo):
        # copy.deepcopy(model) (a DINO teacher, an EMA) keeps the copy on the device
        if id(self) in memo:
            return memo[id(self)]
        data = self.as_subclass(_Tensor).detach().clone()
        if isinstance(self, torch.nn.Parameter):
            new = torch.nn.Parameter(data, requires_grad=self.requires_grad)
            new.__class__ = EmulatedParameter
        else:
            new = (data.requires_grad_() if self.requires_grad else data).as_subclass(type(self))
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        # a checkpoint of a device tensor loads as a plain tensor, as map_location="cpu" would
        return self.as_subclass(_Tensor).__reduce_ex__(protocol)


class EmulatedParameter(EmulatedTensor, torch.nn.Parameter):
    """An ``nn.Parameter`` whose data was moved to the emulated device by ``module.to(device)``."""

    __torch_function__ = torch._C._disabled_torch_function_impl


def is_emulated(t) -> bool:
    """True for a tensor on the emulated device."""
    return isinstance(t, EmulatedTensor)


def _any_emulated(items, depth: int = 0) -> bool:
    for item in items:
        if isinstance(item, EmulatedTensor):
            return True
        if depth < 3 and isinstance(item, list | tuple):
            if _any_emulated(item, depth + 1):
                return True
        elif depth < 3 and isinstance(item, dict) and _any_emulated(item.values(), depth + 1):
            return True
    return False


def _tag(t):
    if isinstance(t, _Tensor) and not isinstance(t, EmulatedTensor):
        return t.as_subclass(EmulatedTensor)
    return t


def _device_error(kind: str) -> RuntimeError:
    return RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                        f"{kind}:0 and cpu! (emulated {kind}: move the CPU tensor with .to(device))")


class _DeviceRules(TorchFunctionMode):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    # -- helpers ---------------------------------------------------------------------------------
    def _is_target(self, device) -> bool:
        if device is None:
            return False
        if isinstance(device, int):  # .to(0) and .cuda(0) mean the first accelerator
            return self.kind == "cuda"
        return torch.device(device).type == self.kind

    def _check_double(self, out):
        if self.kind == "mps":
            for t in tree_flatten(out)[0]:
                if isinstance(t, EmulatedTensor) and t.dtype in _DOUBLE:
                    raise TypeError("Cannot convert a MPS Tensor to float64 dtype as the MPS framework "
                                    "doesn't support float64. Please use float32 instead. (emulated mps)")
        return out

    def _check_generator(self, kwargs, on_device: bool):
        g = kwargs.get("generator")
        if on_device and isinstance(g, torch.Generator) and g.device.type != self.kind:
            raise RuntimeError(f"Expected a '{self.kind}' device type for generator but found "
                               f"'{g.device.type}' (emulated {self.kind})")

    def _move(self, t, target, dtype=None, copy=False):
        """``t.to(target)`` where ``target`` is the emulated device or the CPU."""
        src_on_device = isinstance(t, EmulatedTensor)
        plain = t.as_subclass(_Tensor) if src_on_device else t
        kwargs = {"dtype": dtype} if dtype is not None else {}
        if target == "device":
            out = plain.to(copy=copy or not src_on_device, **kwargs)  # a CPU source gets its own memory
            return self._check_double(_tag(out))
        if src_on_device:
            return plain.to(copy=True, **kwargs)
        return plain.to(copy=copy, **kwargs)

    # -- the rules -------------------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        owner = getattr(func, "__self__", None)
        self_arg = args[0] if args else None

        if owner is _Tensor.data or owner is _Tensor.grad:  # attribute get/set: keep the object
            if name == "__get__":
                out = func(*args, **kwargs)
                return _tag(out) if isinstance(self_arg, EmulatedTensor) and out is not None else out
            if name == "__set__":
                obj, value = args
                if owner is _Tensor.grad and value is not None and \
                        isinstance(obj, EmulatedTensor) != isinstance(value, EmulatedTensor):
                    raise _device_error(self.kind)
                func(obj, value)
                if owner is _Tensor.data:
                    _retag(obj, isinstance(value, EmulatedTensor))
                return None
        if func is _Tensor.as_subclass:
            return func(*args, **kwargs)
        if func in (_Tensor.numpy, _Tensor.__array__) and isinstance(self_arg, EmulatedTensor):
            raise TypeError(f"can't convert {self.kind}:0 device type tensor to numpy. Use Tensor.cpu() "
                            f"to copy the tensor to host memory first. (emulated {self.kind})")
        if func is _Tensor.cpu:
            return self._move(self_arg, "cpu")
        if func is _Tensor.cuda and self.kind == "cuda":
            return self._move(self_arg, "device")
        if func is _Tensor.to:
            return self._to(self_arg, *args[1:], **kwargs)

        if self._is_target(kwargs.get("device")):  # a factory asked for the device
            kwargs["device"] = "cpu"
            self._check_generator(kwargs, on_device=True)
            return self._check_double(tree_map(_tag, func(*args, **kwargs)))

        if not (_any_emulated(args) or _any_emulated(kwargs.values())):  # the fast path: CPU only
            return func(*args, **kwargs)
        flat = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, _Tensor)]
        if func in _MIXING_ALLOWED:
            return func(*args, **kwargs)
        if func in (_Tensor.__getitem__, _Tensor.__setitem__):
            self._check_indexing(func, args)
        elif any(not isinstance(t, EmulatedTensor) and t.dim() > 0 for t in flat):
            raise _device_error(self.kind)
        self._check_generator(kwargs, on_device=True)
        out = func(*args, **kwargs)
        if out is self_arg:  # in-place methods return their own object
            return out
        return self._check_double(tree_map(_tag, out))

    def _check_indexing(self, func, args):
        target, index = args[0], args[1]
        index_tensors = [t for t in tree_flatten(index)[0] if isinstance(t, _Tensor)]
        if not isinstance(target, EmulatedTensor):
            if target.dim() > 0 and any(isinstance(t, EmulatedTensor) for t in index_tensors):
                raise RuntimeError("indices should be either on cpu or on the same device as the indexed "
                                   f"tensor (cpu) (emulated {self.kind})")
            if func is _Tensor.__setitem__:  # a device value written into a CPU tensor
                raise _device_error(self.kind)
        elif func is _Tensor.__setitem__:
            value = args[2]
            if isinstance(value, _Tensor) and not isinstance(value, EmulatedTensor) and value.dim() > 0:
                raise _device_error(self.kind)

    def _to(self, t, *args, **kwargs):
        device, dtype, copy = kwargs.pop("device", None), kwargs.pop("dtype", None), kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        for a in args:
            if isinstance(a, torch.dtype):
                dtype = a
            elif isinstance(a, _Tensor):  # .to(other): other's device and dtype
                device, dtype = a.device, a.dtype
            elif isinstance(a, bool):
                pass
            elif a is not None:
                device = a
        if kwargs:  # memory_format and the like: let torch handle them on the CPU
            dtype_kw = {"dtype": dtype} if dtype is not None else {}
            out = t.as_subclass(_Tensor).to(**dtype_kw, **kwargs)
            return self._check_double(_tag(out)) if isinstance(t, EmulatedTensor) else out
        if device is None:
            target = "device" if isinstance(t, EmulatedTensor) else "cpu"
        elif self._is_target(device):
            target = "device"
        elif torch.device(device).type == "cpu":
            target = "cpu"
        else:  # another accelerator: fails as it would on this machine
            return t.as_subclass(_Tensor).to(device)
        return self._move(t, target, dtype, copy)


def _retag(obj, on_device: bool):
    """``param.data = x`` moves ``param`` itself: its class follows its data (as ``module.to`` needs)."""
    if on_device and not isinstance(obj, EmulatedTensor):
        obj.__class__ = EmulatedParameter if isinstance(obj, torch.nn.Parameter) else EmulatedTensor
    elif not on_device and isinstance(obj, EmulatedTensor):
        obj.__class__ = torch.nn.Parameter if isinstance(obj, EmulatedParameter) else _Tensor


# copies between devices are allowed; type queries look at no data
_MIXING_ALLOWED = {_Tensor.copy_, torch._has_compatible_shallow_copy_type}
_mode: _DeviceRules | None = None


def emulated_device() -> torch.device | None:
    """The emulated device while emulation is active, else ``None``."""
    return EmulatedTensor._device if _mode is not None else None


def activate(kind: str) -> torch.device:
    """Start emulating ``kind`` (``"cuda"`` or ``"mps"``) for the rest of the process; returns the device."""
    global _mode
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if _mode is not None:
        if _mode.kind == kind:
            return EmulatedTensor._device
        raise RuntimeError(f"kind: emulation of {_mode.kind} is already active; deactivate() first")
    EmulatedTensor._device = torch.device(kind, 0)
    _mode = _DeviceRules(kind)
    _mode.__enter__()
    return EmulatedTensor._device


def deactivate() -> None:
    """Stop emulating (tensors already tagged keep their tag but obey no rule)."""
    global _mode
    if _mode is not None:
        _mode.__exit__(None, None, None)
        _mode = None


@contextlib.contextmanager
def emulate(kind: str):
    """``with emulate("cuda") as device: ...`` — emulation inside the block only (for tests)."""
    device = activate(kind)
    try:
        yield device
    finally:
        deactivate()
