"""Training DIM with matbench: the sample recipe, datasets, losses, initial weights, the loop.

==================  ==============================================================  =======
module              job                                                             torch?
==================  ==============================================================  =======
``samples``         the recipe's steps (crop, rescue resize, flip, resize, trimap)   no
                    as numpy functions; deterministic per (seed, epoch, composite)
``materialise``     ``build-train-samples``: a fixed sample set as PNGs + manifest   no
``dataset``         ``torch.utils.data`` datasets, the stream sampler, batches       yes
``losses``          alpha / compositional / refinement Charbonnier losses           yes
``weights``         initial weights: Xavier-normal, VGG16 mapping, previous stage    yes
``train``           ``train dim``: the loop, checkpoints, resume, validation, log    yes
==================  ==============================================================  =======

``docs/specs/training.md`` states the recipe, losses and stages;
each function cites its section. Importing this package does not import torch.
"""
