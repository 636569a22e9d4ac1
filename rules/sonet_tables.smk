# SONet's paper tables on the run's dataset (wsss_core.evaluate.sonet_tables): targets sonet_table1 (Table 1a, 1b),
# sonet_table2, sonet_table3 (the VOC test PNGs of Tables 2-3 for the evaluation server), sonet_table5 (5a, 5b),
# sonet_fig3c. Each trains and scores only the networks and label sets its table names; networks and labels
# the tables share are built once.

from wsss_core.evaluate.sonet_tables import LABEL_TABLES, MODEL_TABLES, TEST_ROWS, table_models


# Table 5(a): SONet's network without its objectness branch (plain DeepLabv3) on the same labels, CE alone
use rule train_sonet as train_deeplabv3 with:
    input:
        dataset=dataset_root(),
        seg_labels=run_path("labels/sonet/{kind}/{setting}"),
    output:
        checkpoint=run_path("checkpoints/deeplabv3-{kind}-{setting}.pt"),
        history=run_path("train_logs/deeplabv3-{kind}-{setting}.csv"),
    params:
        split=TRAIN_SPLIT,
        model={**SONET_MODEL, "objectness_branch": False},
        train=train_settings("sonet"),
        objectness_threshold=config["sonet"]["objectness_threshold"],
    log:
        run_path("logs/train_deeplabv3-{kind}-{setting}.log"),
    benchmark:
        run_path("benchmarks/train_deeplabv3-{kind}-{setting}.tsv")


use rule evaluate as evaluate_sonet_table with:
    input:
        dataset=eval_root(),
        predictions=lambda wildcards: [
            path for dirs in prediction_dirs(table_models([wildcards.table])).values() for path in dirs.values()
        ],
    output:
        run_path("metrics/sonet_models_{table}.csv"),
    wildcard_constraints:
        table="|".join(MODEL_TABLES),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=seeded(lambda wildcards: prediction_dirs(table_models([wildcards.table]))),
    log:
        run_path("logs/evaluate_sonet_table/{table}.log"),
    benchmark:
        run_path("benchmarks/evaluate_sonet_table/{table}.tsv")


rule sonet_paper_table:
    input:
        paper_table_source,
    output:
        run_path("metrics/sonet_{table}.csv"),
    wildcard_constraints:
        table="|".join([*LABEL_TABLES, *MODEL_TABLES]),
    log:
        run_path("logs/sonet_paper_table/{table}.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/sonet_paper_table.py"


if VOC_TEST_LIST is not None:

    use rule export_voc_test as export_sonet_test with:
        input:
            dataset=split_root(VOC_TEST),
            labels=run_path("segmentation/{model}/test/ms_crf"),
        output:
            directory(run_path("voc_test/{model}/VOC2012/Segmentation/comp6_test_cls")),
        log:
            run_path("logs/export_sonet_test/{model}.log"),


rule sonet_table1:
    input:
        shared_path("metrics/sonet_table1a.csv"),
        shared_path("metrics/sonet_table1b.csv"),


rule sonet_table2:
    input:
        shared_path("metrics/sonet_table2.csv"),


rule sonet_table3:
    input:
        [path for row in TEST_ROWS for path in seed_paths(f"voc_test/{row.model}/VOC2012/Segmentation/comp6_test_cls")],


rule sonet_table5:
    input:
        shared_path("metrics/sonet_table5a.csv"),
        shared_path("metrics/sonet_table5b.csv"),


rule sonet_fig3c:
    input:
        shared_path("metrics/sonet_fig3c.csv"),
