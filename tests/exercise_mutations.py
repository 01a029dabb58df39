"""Plausible wrong solutions of every exercise: each must make its check cell fail.

``MUTATIONS[notebook][function]`` lists ``(what the student got wrong, [(old, new), ...])``: the
replacements are applied to the solution cell's source (each ``old`` must occur exactly once, so a
mutation cannot silently stop applying when a solution is edited). ``tests/test_exercise_mutations.py``
runs each mutated cell and then its check cell; the check must raise. Every exercise has at least two
mistakes a student could really make: an off-by-one, a swapped axis, a missing square root, ``>`` for
``>=``, the lecture's own slip, a convention of another library. An optional third item is code that
undoes what the wrong solution left behind in the kernel (so that the true solution can be checked after it).
"""

MUTATIONS = {
    "01_iou_map": {
        "iou_pair": [
            ("a negative overlap is not clamped (two negative widths multiply to a positive area)",
             [("max(0.0, min(a[2], b[2]) - max(a[0], b[0]))", "min(a[2], b[2]) - max(a[0], b[0])"),
              ("max(0.0, min(a[3], b[3]) - max(a[1], b[1]))", "min(a[3], b[3]) - max(a[1], b[1])")]),
            ("the union counts the intersection twice", [(" - inter\n", "\n")]),
            ("the intersection over the first box's area", [("return inter / union", "return inter / ((a[2] - a[0]) * (a[3] - a[1]))")]),
        ],
        "match_greedy": [
            ("'>' for '>=': an IoU exactly at the threshold is rejected", [("best >= iou_threshold", "best > iou_threshold")]),
            ("the VOC rule: the best box even if it is taken", [("iou[d].masked_fill(taken, -1.0)", "iou[d]")]),
            ("detections visited in input order, not by score", [("torch.argsort(scores, descending=True, stable=True)", "torch.arange(len(scores))")]),
        ],
        "ap_all_points": [
            ("no envelope: the raw, zig-zagging precision", [("        envelope[k] = max(envelope[k], envelope[k + 1])\n", "        pass\n")]),
            ("the envelope runs the wrong way (a running maximum from the left)",
             [("for k in range(len(envelope) - 2, -1, -1):\n        envelope[k] = max(envelope[k], envelope[k + 1])",
               "for k in range(1, len(envelope)):\n        envelope[k] = max(envelope[k], envelope[k - 1])")]),
            ("the first recall step is lost (recall[-1] taken as recall[0], not 0)",
             [("torch.zeros(1, dtype=recall.dtype)", "recall[:1]")]),
        ],
    },
    "02_rcnn_family": {
        "nms_greedy": [
            ("'>=' for '>': a box at exactly the threshold is suppressed", [("overlaps <= iou_threshold", "overlaps < iou_threshold")]),
            ("sorted by increasing score", [("descending=True", "descending=False")]),
            ("the overlapping boxes are kept and the others dropped", [("overlaps <= iou_threshold", "overlaps > iou_threshold")]),
        ],
        "encode_deltas": [
            ("the lecture's slip: normalised by the ground truth's size",
             [("(gx - px) / pw, (gy - py) / ph", "(gx - px) / gw, (gy - py) / gh")]),
            ("log of the inverse ratio", [("torch.log(gw / pw), torch.log(gh / ph)", "torch.log(pw / gw), torch.log(ph / gh)")]),
            ("corners, not centres", [("px, py = proposal[:, 0] + 0.5 * pw, proposal[:, 1] + 0.5 * ph", "px, py = proposal[:, 0], proposal[:, 1]"),
                                      ("gx, gy = gt[:, 0] + 0.5 * gw, gt[:, 1] + 0.5 * gh", "gx, gy = gt[:, 0], gt[:, 1]")]),
        ],
        "decode_deltas": [
            ("the size is not exponentiated", [("torch.exp(deltas[:, 2]) * pw, torch.exp(deltas[:, 3]) * ph", "(1 + deltas[:, 2]) * pw, (1 + deltas[:, 3]) * ph")]),
            ("the offset is not scaled by the proposal", [("px + deltas[:, 0] * pw, py + deltas[:, 1] * ph", "px + deltas[:, 0], py + deltas[:, 1]")]),
            ("x and y swapped", [("px + deltas[:, 0] * pw, py + deltas[:, 1] * ph", "px + deltas[:, 1] * pw, py + deltas[:, 0] * ph")]),
        ],
        "roi_pool_one": [
            ("corners truncated instead of rounded", [("int(np.floor(v * spatial_scale + 0.5))", "int(v * spatial_scale)")]),
            ("the RoI's end is exclusive", [("max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)", "max(x2 - x1, 1), max(y2 - y1, 1)")]),
            ("average instead of max pooling", [(".amax(dim=(1, 2))", ".mean(dim=(1, 2))")]),
        ],
    },
    "03_yolo": {
        "encode_box": [
            ("the offset is not taken relative to the cell", [("cx / cell - j, cy / cell - i", "cx / cell, cy / cell - i")]),
            ("no square roots", [("((box[2] - box[0]) / image_size) ** 0.5, ((box[3] - box[1]) / image_size) ** 0.5",
                                  "(box[2] - box[0]) / image_size, (box[3] - box[1]) / image_size")]),
            ("row and column swapped", [("return i, j, cx", "return j, i, cx")]),
            ("the cell rounded instead of floored", [("min(int(cx // cell), grid - 1), min(int(cy // cell), grid - 1)",
                                                      "min(round(cx / cell), grid - 1), min(round(cy / cell), grid - 1)")]),
        ],
        "decode_cell": [
            ("no square: the predicted root taken as the size", [("sqrt_w ** 2 * image_size, sqrt_h ** 2 * image_size", "sqrt_w * image_size, sqrt_h * image_size")]),
            ("row and column swapped", [("(j + x) * cell, (i + y) * cell", "(i + x) * cell, (j + y) * cell")]),
            ("the centre read as the top-left corner", [("return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2", "return cx, cy, cx + w, cy + h")]),
        ],
    },
    "04_fcn_transposed_conv": {
        "conv_matrix": [
            ("padding ignored in the column index", [("j = i * stride - padding + t", "j = i * stride + t")]),
            ("a flipped kernel (convolution of the textbook, not PyTorch's cross-correlation)", [("X[i, j] = kernel[t]", "X[i, j] = kernel[k - 1 - t]")]),
            ("the stride ignored", [("j = i * stride - padding + t", "j = i - padding + t")]),
        ],
        "bilinear_filter": [
            ("the centre at size / 2 instead of (size - 1) / 2", [("(t - (size - 1) / 2)", "(t - size / 2)")]),
            ("the tent's width is the kernel size, not the factor", [(".abs() / factor", ".abs() / size")]),
        ],
        "iou_from_confusion": [
            ("the union counts the true positives twice", [("conf.sum(0) + conf.sum(1) - tp", "conf.sum(0) + conf.sum(1)")]),
            ("recall, TP / (TP + FN), instead of IoU", [("union = conf.sum(0) + conf.sum(1) - tp", "union = conf.sum(1)")]),
            ("an absent class counted as IoU 0 in the mean",
             [("return iou, float(iou[~iou.isnan()].mean())", "return iou, float(iou.nan_to_num(0.0).mean())")]),
        ],
    },
    "05_unet_linknet": {
        "border_weight_map": [
            ("the distance inside each object (edt of the mask, not of its complement)",
             [("ndi.distance_transform_edt(~m)", "ndi.distance_transform_edt(m)")]),
            ("only the nearest object: d1 alone", [("(d1 + d2) ** 2", "(2 * d1) ** 2")]),
            ("sigma squared without the factor 2", [("(2 * sigma**2)", "(sigma**2)")]),
            ("the border term also inside the objects", [("np.where(background, border, 0.0)", "border")]),
            ("the class weights replaced, not added to", [("np.asarray(class_weight_map, dtype=np.float64) + ", "")]),
        ],
        "linknet_decoder_block": [
            ("no output padding: the size becomes 2n - 1", [(", output_padding=1", "")]),
            ("no ReLU after the last 1x1 convolution", [("nn.BatchNorm2d(n), nn.ReLU(inplace=True)", "nn.BatchNorm2d(n)")]),
            ("the bottleneck keeps m / 2 channels", [("q = m // 4", "q = m // 2")]),
        ],
    },
    "06_unet_neural_operator": {
        "apply_operator": [
            ("the arithmetic mean of a at a face instead of the harmonic one", [("a_face = 2 * a * a_nb / (a + a_nb)", "a_face = (a + a_nb) / 2")]),
            ("a ghost of +u: a zero-flux (Neumann) wall instead of u = 0", [("u_nb[tuple(edge)] = -u[tuple(edge)]", "u_nb[tuple(edge)] = u[tuple(edge)]")]),
            ("no wall at all: np.roll's wrap-around makes the domain periodic", [("u_nb[tuple(edge)] = -u[tuple(edge)]", "pass")]),
        ],
        "spectral_conv": [
            ("the negative frequencies are dropped", [("    out[:, :, -m:, :m] = ", "    _ = ")]),
            ("one weight for both halves of the spectrum", [('x_hat[:, :, -m:, :m], weight_neg)', 'x_hat[:, :, -m:, :m], weight_pos)')]),
        ],
    },
    "07_dino_attention": {
        "my_dino_loss": [
            ("a view is also compared with itself", [("if j != i:", "if True:")]),
            ("no centring of the teacher", [("(t - center) / teacher_temp", "t / teacher_temp")]),
            ("the cross-entropy the wrong way round, H(P_s, P_t)",
             [("(-target * torch.log_softmax(s / student_temp, dim=-1))",
               "(-torch.softmax(s / student_temp, dim=-1) * torch.log_softmax((t - center) / teacher_temp, dim=-1))")]),
        ],
        "my_update_center": [
            ("the momentum on the new batch instead of the old centre",
             [("momentum * center + (1 - momentum) * teacher_logits", "(1 - momentum) * center + momentum * teacher_logits")]),
            ("the batch sum instead of the mean", [("teacher_logits.mean(dim=0, keepdim=True)", "teacher_logits.sum(dim=0, keepdim=True)")]),
        ],
    },
    "08_diffusion_segmentation": {
        "ancestral_step": [
            ("the noise's variance beta instead of the posterior's", [("(beta * (1 - abar_prev) / (1 - abar_t)) ** 0.5 * noise",
                                                                       "beta ** 0.5 * noise")]),
            ("no square root under the noise coefficient", [("beta / (1 - abar_t) ** 0.5 * eps", "beta / (1 - abar_t) * eps")]),
            ("alpha-bar where alpha belongs", [("/ alpha ** 0.5", "/ abar_t ** 0.5")]),
            ("no noise added", [("mean + (beta * (1 - abar_prev) / (1 - abar_t)) ** 0.5 * noise", "mean")]),
        ],
        "my_features": [
            ("the hooks are never removed", [("        h.remove()", "        pass")],
             "for block in model.decoder:\n    block._forward_hooks.clear()"),
            ("a fresh, unseeded noise draw", [("torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))", "torch.randn(x0.shape)")]),
        ],
    },
}
