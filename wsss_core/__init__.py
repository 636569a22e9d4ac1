"""wsss_core: the library behind the wsss-flow pipeline (it knows nothing of Snakemake).

Every stage is a plain function that takes paths and parameters. The tree
follows the DAG: the shared layers at the bottom, one package per method on
top; imports point down (a method uses the shared layers, never the other
method, and each of its modules only the stages before it).

Shared layers::

    io.py             atomic writes, images and label maps, the size check, InputError
    store.py          the HDF5 layout of per-image arrays (CAMs, predictions); joining shard stores
    sharding.py       shards of a per-image stage by stable id hash; the gather step
    parallel.py       the per-image stage runner: worker processes fed with image ids
    logs.py           a step's log file; progress of loops (bars on a terminal, log lines elsewhere)
    config_keys.py    unknown config keys at any depth, with the nearest known key
    crf.py            the dense CRF (pydensecrf): CRF_d of Eq. 4-5 and test-time post-processing
    losses.py         the pixel / image losses (CTLR Eq. 9-11, SONet Eq. 5), 255 ignored
    data/             dataset.py (index layout, boxes), voc.py, coco.py, cityscapes.py, indexing.py, split_size.py,
                      index_scan.py + validation.py (rule validate_inputs: the whole dataset checked in one pass),
                      scenes.py + synthetic.py (the generated demo dataset), transforms.py, training.py (samples)
    models/           backbones.py, resnet38.py, heads.py, multitask.py, deeplab.py, sonet.py,
                      objectness.py (the networks), weights.py (the weights loader), checkpoint.py
    engine/           config.py (TrainConfig), device.py, optim.py (SGD + poly), resume.py,
                      fit.py (the loop), distributed.py (torchrun launcher, DDP); knows no method
    guidance/         classical.py, onnx.py, extract.py (rule extract_saliency), maps.py (reading 0-255 maps)
    inference/        forward.py (forward and resize back), predict.py (multi-scale + flip), postprocess.py (CRF)
    evaluate/         metrics.py (Sec. 4.1.2 scores), tables.py (metric tables), export.py (VOC test server),
                      figures.py, grids.py, charts.py, worst.py, report_tables.py (the report), headline.py,
                      ablations.py (the papers' ablation tables), seeds.py (tables over seeds, paired
                      differences), compare.py (two runs side by side)
    cli.py            the ``wsss`` command (predict, inspect, compare); inspect.py: what a store, checkpoint or label folder holds

Methods::

    ctlr/             training.py (Fig. 5a classifier, supervised reference) -> cams.py (Eq. 1-3)
                      -> initial_labels.py (Sec. 3.4.1; thresholds.py: their threshold sweep, Table 6)
                      -> ca_labels.py (Eq. 4) -> joint.py (Fig. 5b / 5d)
                      -> refine.py (CTLR, Eq. 5-7) -> guard.py (rule ctlr_change: what CTLR changed)
    sonet/            classes.py -> source.py (source dataset, Eq. 1) -> objectness.py (phi_P, maps O)
                      -> labels.py (Eq. 2-3) -> stage.py (SONet, Eq. 5)
"""

__version__ = "0.2.0"  # the one place of the version: pyproject.toml, `wsss --version` and CITATION.cff (a test) read it
