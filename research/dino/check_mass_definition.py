"""Why the issue's "0.53 of the mass, 2.9x uniform" differs from diagnostics.json's mass on object.

diagnostics.py weighs each patch by its object coverage (uniform attention = pixel fraction). The
issue's numbers match the other natural definition: mass on the *mostly-object* patches (over half
object), divided by the share of such patches. This prints both scene families with that
definition (seed 2 = notebook 07's test scenes, only for comparison; nothing is chosen on it).
"""

import torch
from diagnostics import cls_attention, normalise, patch_share, scene_pool, shipped_backbones

torch.set_num_threads(1)
torch.set_grad_enabled(False)
nets = shipped_backbones()
for seed, count in ((1, 400), (2, 200)):
    images, foreground, _ = scene_pool(count, seed=seed)
    mostly = (patch_share(foreground, 8) > 0.5).float()
    for name in ("DINO", "DINO+reg4"):
        attention = normalise(cls_attention(nets[name], images))
        mass = (attention * mostly[:, None]).sum((-2, -1)).mean(0)
        print(f"seed {seed} {name:10s} mass on mostly-object patches {mass.numpy().round(3)} "
              f"ratio to their share ({mostly.mean():.3f}) {(mass / mostly.mean()).numpy().round(2)}")
