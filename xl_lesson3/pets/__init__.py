"""Pet breeds with timm (the first half of fast.ai lesson 3): list, fine-tune, export, predict.

Modules, one job each: `data` (find, label and load images), `model` (timm models, weights,
freezing), `learner` (the training loop and its callbacks), `progress` (bars and the epoch table),
`distributed` (torchrun/DDP), `train` (``fine_tune`` and `pets train`), `export` (safetensors +
config.json), `predict`, `inspect`, `compare` (speed against ImageNet accuracy), `charts`, `cli`.
Importing this package imports neither torch nor timm, and it never imports the formula engine.
"""
