"""Pet breeds with timm (the first half of fast.ai lesson 3): list, fine-tune, export, predict.

Modules, one job each: `layouts` (find and label images in a folder), `images` (open them safely),
`data` (split, preprocessing, loaders), `model` (timm models, sizes, weights, freezing), `learner`
(the training loop and its callbacks), `lr_find`, `checkpoint` (best epoch, ``--resume``),
`progress` (bars and the epoch table), `distributed` (torchrun/DDP), `train` (``fine_tune`` and
`pets train`), `export` and `config_schema` (safetensors + a checked config.json), `predict`,
`interpret`, `show_batch`, `views` (image grids, confusion matrix), `inspect`, `compare` and
`charts` (speed against ImageNet accuracy), `cli` (the parser) and `commands`.
Importing this package imports neither torch nor timm, and it never imports the formula engine.
"""
