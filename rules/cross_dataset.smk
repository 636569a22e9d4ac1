# SONet across datasets (Table 1c), when eval_dataset names a second dataset: SONets trained on
# the training dataset (Open Images) are evaluated on eval_dataset's eval_split (VOC12 val, O -> V);
# then each is fine-tuned on eval_dataset's train_split with that dataset's own box-driven labels (O + V).
# The objectness network is the one trained for the training dataset; its maps are made on both.

EVAL_TRAIN_SPLIT = config["eval_dataset"]["train_split"]
if any(kind.startswith("box") for kind in config["finetune"]["kinds"]) and not dataset_has_boxes("eval_dataset"):
    raise ValueError(
        f"finetune.kinds {config['finetune']['kinds']} need the boxes of eval_dataset {config['eval_dataset']['data_root']!r} "
        f"(kind {config['eval_dataset']['kind']}), and it has none (VOC: Annotations/*.xml; folder: boxes.csv)"
    )
# the models of each setting: O -> V, SONet on the training dataset's B and G^B; O + V, SONet
# fine-tuned on eval_dataset from the one trained on the same kind of labels
CROSS_DATASET_MODELS = {
    "o_to_v": ["sonet-box-none", SONET_GB_MODEL],
    "o_plus_v": [
        f"sonet_finetuned-{kind}-{'none' if kind == 'box' else config['guidance']['objectness_setting']}"
        for kind in config["finetune"]["kinds"]
    ],
}
CROSS_DATASET_SETTINGS = {"o_to_v": "O -> V", "o_plus_v": "O + V"}  # Table 1(c)'s names


use rule objectness_maps as eval_objectness_maps with:
    input:
        dataset=eval_root(),
        checkpoint=run_path("checkpoints/objectness_{setting}.pt"),
    output:
        directory(run_path("eval_objectness/{setting}")),
    params:
        split=EVAL_TRAIN_SPLIT,
    log:
        run_path("logs/eval_objectness_maps_{setting}.log"),
    benchmark:
        run_path("benchmarks/eval_objectness_maps_{setting}.tsv")


use rule sonet_labels as eval_sonet_labels with:
    input:
        unpack(eval_sonet_label_inputs),
    output:
        directory(run_path("eval_labels/sonet/{kind}/{setting}")),
    params:
        split=EVAL_TRAIN_SPLIT,
    log:
        run_path("logs/eval_sonet_labels/{kind}/{setting}.log"),
    benchmark:
        run_path("benchmarks/eval_sonet_labels/{kind}/{setting}.tsv")


# O + V: train_sonet continued from the O -> V checkpoint (init) on eval_dataset's labels.
use rule train_sonet as finetune_sonet with:
    input:
        dataset=eval_root(),
        init=run_path("checkpoints/sonet-{kind}-{setting}.pt"),
        seg_labels=run_path("eval_labels/sonet/{kind}/{setting}"),
        objectness=run_path(f"eval_objectness/{config['guidance']['objectness_setting']}"),
    output:
        checkpoint=run_path("checkpoints/sonet_finetuned-{kind}-{setting}.pt"),
        history=run_path("train_logs/sonet_finetuned-{kind}-{setting}.csv"),
    params:
        split=EVAL_TRAIN_SPLIT,
        train=train_settings("finetune"),
    log:
        run_path("logs/finetune_sonet-{kind}-{setting}.log"),
    benchmark:
        run_path("benchmarks/finetune_sonet-{kind}-{setting}.tsv")


use rule evaluate as evaluate_sonet_cross_dataset with:
    input:
        dataset=eval_root(),
        predictions=lambda wildcards: [
            path for dirs in prediction_dirs(CROSS_DATASET_MODELS[wildcards.transfer]).values() for path in dirs.values()
        ],
    output:
        run_path("metrics/sonet_segmentation_{transfer}.csv"),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=seeded(lambda wildcards: prediction_dirs(CROSS_DATASET_MODELS[wildcards.transfer])),
    log:
        run_path("logs/evaluate_sonet_{transfer}.log"),
    benchmark:
        run_path("benchmarks/evaluate_sonet_{transfer}.tsv")


rule sonet_cross_dataset_table:
    input:
        [run_path(f"metrics/sonet_segmentation_{transfer}.csv") for transfer in CROSS_DATASET_MODELS],
    output:
        run_path("metrics/sonet_cross_dataset.csv"),
    params:
        # (setting, Table 1 name of the labels, model) of each row
        rows=[
            (CROSS_DATASET_SETTINGS[transfer], SYMBOLS[model.split("-")[1]], model)
            for transfer, models in CROSS_DATASET_MODELS.items()
            for model in models
        ],
    log:
        run_path("logs/sonet_cross_dataset_table.log"),
    benchmark:
        run_path("benchmarks/sonet_cross_dataset_table.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/sonet_cross_dataset_table.py"
