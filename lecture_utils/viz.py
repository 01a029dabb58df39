"""Plotting that reads from the back of a lecture hall: big figures, thick boxes, large labels."""

from __future__ import annotations

import inspect

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import patches

from .checks import class_ids, number

__all__ = [
    "use_lecture_style",
    "to_numpy_image",
    "class_colour",
    "draw_boxes",
    "overlay_masks",
    "show_semantic",
    "image_grid",
    "show_source",
    "interactive_figure",
    "plot_losses",
]

#: a colour-blind-safe palette (Okabe-Ito), one colour per class id (0 = background)
PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]


def use_lecture_style() -> None:
    """Matplotlib defaults for projection: large fonts and figures."""
    plt.rcParams.update({
        "figure.figsize": (10, 6),
        "figure.dpi": 100,
        "font.size": 14,
        "axes.titlesize": 16,
        "axes.labelsize": 14,
        "legend.fontsize": 12,
        "lines.linewidth": 2.5,
        "image.interpolation": "nearest",
    })


def class_colour(label: int) -> str:
    """The palette colour of class ``label`` (1-based); white for the background, 0."""
    label = label.item() if isinstance(label, torch.Tensor) else label
    label = number("label", label, low=0, integer=True)
    return PALETTE[label % len(PALETTE)] if label > 0 else "#FFFFFF"


def to_numpy_image(image) -> np.ndarray:
    """``[3, H, W]`` / ``[H, W, 3]`` / ``[H, W]`` tensor or array -> ``[H, W, (3)]`` array for imshow."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.transpose(image, (1, 2, 0))
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(f"image must be [H, W], [H, W, 3] or [3, H, W], got shape {image.shape}")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 1)
    return image


def _axis(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 7))
    return ax


def draw_boxes(image, boxes, labels=None, scores=None, *, class_names=None, ax=None,
               colour=None, linestyle="-", title=None, linewidth=3.0, fontsize=13):
    """Show ``image`` with ``xyxy`` boxes ``[N, 4]``, optional labels and scores."""
    ax = _axis(ax)
    if image is not None:
        ax.imshow(to_numpy_image(image))
    boxes = torch.as_tensor(boxes, dtype=torch.float32)
    if boxes.numel() and boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be [N, 4] (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    boxes = boxes.reshape(-1, 4)
    n = len(boxes)
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries for {n} boxes")
    if scores is not None and len(scores) != n:
        raise ValueError(f"scores has {len(scores)} entries for {n} boxes")
    if labels is not None and class_names:  # label 0 would caption the box with the *last* name
        class_ids("labels", torch.as_tensor(labels), 1, len(class_names))
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        label = int(labels[i]) if labels is not None else None
        c = colour or (class_colour(label) if label is not None else "#E69F00")
        ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=c,
                                       linewidth=linewidth, linestyle=linestyle))
        text = []
        if label is not None:
            text.append(class_names[label - 1] if class_names else str(label))
        if scores is not None:
            text.append(f"{float(scores[i]):.2f}")
        if text:
            ax.text(x1, y1, " ".join(text), color="black", fontsize=fontsize, va="bottom",
                    bbox={"facecolor": c, "alpha": 0.85, "pad": 1.5, "edgecolor": "none"})
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def overlay_masks(image, masks, labels=None, *, ax=None, alpha=0.55, title=None, outline=True):
    """Colour each instance mask ``[N, H, W]`` over ``image``; colours by label if given."""
    ax = _axis(ax)
    img = to_numpy_image(image).astype(np.float32)
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    if img.max() > 1:
        img = img / 255.0
    number("alpha", alpha, low=0, high=1)
    masks = torch.as_tensor(masks).cpu()
    if masks.is_floating_point():  # a probability map is not a mask
        raise TypeError(f"masks must be boolean (threshold probabilities first), got {masks.dtype}")
    masks = masks.bool()
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3 or tuple(masks.shape[1:]) != img.shape[:2]:  # reshape would scramble [N, W, H]
        raise ValueError(f"masks must be [N, H, W] with (H, W) = {img.shape[:2]}, got {tuple(masks.shape)}")
    masks = masks.numpy()
    if labels is not None and len(labels) != len(masks):
        raise ValueError(f"labels has {len(labels)} entries for {len(masks)} masks")
    out = img.copy()
    cmap = plt.get_cmap("tab10")
    for i, m in enumerate(masks):
        rgb = (np.array(plt.matplotlib.colors.to_rgb(class_colour(int(labels[i]))))
               if labels is not None else np.array(cmap(i % 10)[:3]))
        out[m] = (1 - alpha) * out[m] + alpha * rgb
    ax.imshow(out)
    if outline:
        for m in masks:
            if m.any():
                ax.contour(m, levels=[0.5], colors="white", linewidths=1.5)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_semantic(semantic, *, class_names=None, ax=None, title=None, legend=True):
    """A semantic mask ``[H, W]`` of class ids drawn in the class palette, with a legend.

    Negative ids (the ``ignore_index`` of a loss, e.g. -1) are drawn white and named "ignored"."""
    ax = _axis(ax)
    sem = torch.as_tensor(semantic).cpu()
    if sem.ndim != 2 or sem.is_floating_point():
        raise ValueError(f"semantic must be an integer [H, W] map, got {sem.dtype} {tuple(sem.shape)}")
    sem = sem.numpy().astype(int)
    ignored = sem < 0  # indexing the palette with -1 would paint them as the last class
    n = max(int(sem.max()) + 1, len(class_names) + 1 if class_names else 1)
    colours = np.array([plt.matplotlib.colors.to_rgb(class_colour(k) if k else "#202020")
                        for k in range(n)])
    picture = colours[np.where(ignored, 0, sem)]
    picture[ignored] = 1.0
    ax.imshow(picture)
    if legend and class_names:
        handles = [patches.Patch(color=colours[0], label="background")]
        if ignored.any():
            handles.append(patches.Patch(facecolor="white", edgecolor="black", label="ignored"))
        handles += [patches.Patch(color=colours[k + 1], label=name) for k, name in enumerate(class_names)]
        ax.legend(handles=handles, loc="upper right", fontsize=10, framealpha=0.8)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def image_grid(images, titles=None, ncols: int = 4, size: float = 3.5):
    """Lay images out in a grid; returns ``(fig, axes)``. Each item may be an image or ``None``."""
    images = list(images)
    if not images:
        raise ValueError("images is empty")
    number("ncols", ncols, low=1, integer=True)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images) and images[i] is not None:
            ax.imshow(to_numpy_image(images[i]))
            if titles is not None:
                ax.set_title(titles[i])
    fig.tight_layout()
    return fig, axes


def show_source(obj) -> None:
    """Display the source of a ``lecture_utils`` function or class with syntax highlighting."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj) or inspect.ismodule(obj)):
        raise TypeError(f"obj must be a function, class or module, got {type(obj).__name__}")
    source = inspect.getsource(obj)
    try:
        from IPython.display import Code, display

        display(Code(source, language="python"))
    except ImportError:  # outside Jupyter
        print(source)


def interactive_figure(draw, **controls) -> None:
    """Sliders that redraw a figure in place; the default picture is drawn right away.

    ``draw(**values)`` must return a matplotlib figure; ``controls`` maps its keyword
    arguments to ipywidgets (``FloatSlider`` and friends). The first figure is an ordinary
    output, so a notebook executed headless (CI, ``make html``) still shows it; moving a
    slider replaces that same output through its display id. Returns nothing, so that a cell
    ending with this call shows the figure and the sliders, not an echo of the controls.
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function returning a figure, got {type(draw).__name__}")
    from IPython.display import display

    if not controls:
        raise ValueError("controls: give at least one widget, e.g. x=FloatSlider(...)")

    def render():
        fig = draw(**{name: w.value for name, w in controls.items()})
        if fig is None:
            raise ValueError("draw must return the figure it made")
        return fig

    fig = render()
    handle = display(fig, display_id=True)
    plt.close(fig)

    def on_change(_change):
        new = render()
        handle.update(new)
        plt.close(new)

    import ipywidgets as widgets

    for w in controls.values():
        w.observe(on_change, names="value")
    display(widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")))


def plot_losses(history, title: str = "потери падают", ylabel: str = "потери", window: int = 10, ax=None):
    """A training curve: the raw loss per step, faint, and its moving average over ``window`` steps."""
    history = np.asarray(history, dtype=float)
    if history.ndim != 1 or len(history) == 0:
        raise ValueError("history must be a non-empty 1-D sequence of losses")
    number("window", window, low=1, integer=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    ax.plot(history, alpha=0.4, label="шаг")
    if len(history) >= window:
        ax.plot(np.arange(window - 1, len(history)), np.convolve(history, np.ones(window) / window, mode="valid"),
                lw=3, label=f"среднее по {window}")
    ax.set(xlabel="шаг", ylabel=ylabel, title=title)
    ax.legend()
    return ax
