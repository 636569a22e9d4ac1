# The run's report (`snakemake report`, then `snakemake report --report results/<run>/report.html`):
# the metric tables as HTML pages and the figures, each a rule of the DAG (cached, rerun when
# their inputs change), flagged with report() and captioned from report/*.rst.


rule report_table:
    wildcard_constraints:
        table="|".join(TABLE_TITLES),
    input:
        shared_path("metrics/{table}.csv"),
    output:
        report(
            report_path("tables/{table}.html"),
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "{table}"},
        ),
    params:
        title=lambda wildcards: TABLE_TITLES[wildcards.table],
    log:
        shared_path(f"logs/report/{config['method']}/table_{{table}}.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/report_table.py"


rule figure_training_images:
    input:
        dataset=dataset_root(),
        cams=first_seed_path("cams.h5"),
        **panel_sources(training_panels()),
    output:
        report(
            report_path("figures/training_images.png"),
            caption="../report/training_images.rst",
            category="Training images",
        ),
    params:
        split=TRAIN_SPLIT,
        panels=training_panels(),
        images=REPORT["images"],
        seed=REPORT["seed"],
        title=f"{config['method'].upper()} pseudo labels",
    log:
        shared_path(f"logs/report/{config['method']}/figure_training_images.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/figure_grid.py"


EVALUATION_PANELS = [["image", "image", None], ["GT", "gt", None]] + [
    [f"{final_models()[-1]} {variant}", "labels", path]
    for variant, path in first_seed(prediction_dirs(final_models()[-1:]))[final_models()[-1]].items()
]


rule figure_evaluation_images:
    input:
        dataset=eval_root(),
        **panel_sources(EVALUATION_PANELS),
    output:
        report(
            report_path("figures/evaluation_images.png"),
            caption="../report/evaluation_images.rst",
            category="Evaluation images",
        ),
    params:
        split=EVAL_SPLIT,
        panels=EVALUATION_PANELS,
        images=REPORT["images"],
        seed=REPORT["seed"],
        title="predictions plain, +MS, +CRF, +MS+CRF",
    log:
        shared_path(f"logs/report/{config['method']}/figure_evaluation_images.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/figure_grid.py"


rule figure_worst_images:
    input:
        dataset=dataset_root(),
        cams=first_seed_path("cams.h5"),
        **panel_sources(worst_pair_panels()),
    output:
        ranking=report_path("worst/ranking.csv"),
        disagreement=report(
            report_path("worst/disagreement.png"), caption="../report/worst_images.rst", category="Worst images"
        ),
        **(
            {
                "lowest_iou": report(
                    report_path("worst/lowest_iou.png"), caption="../report/worst_images.rst", category="Worst images"
                )
            }
            if REPORT_GT
            else {}
        ),
    params:
        split=TRAIN_SPLIT,
        panels=worst_pair_panels(),
        images=REPORT["images"],
    log:
        shared_path(f"logs/report/{config['method']}/figure_worst_images.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/figure_worst_images.py"


rule figure_class_iou:
    input:
        [shared_path(f"metrics/{name}.csv") for name in report_tables() if "segmentation" in name],
    output:
        report(report_path("figures/class_iou.png"), caption="../report/class_iou.rst", category="Per-class IoU"),
    params:
        postprocessing="ms_crf",
    log:
        shared_path(f"logs/report/{config['method']}/figure_class_iou.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/figure_class_iou.py"


rule figure_training_curves:
    input:
        **training_logs(),
    output:
        report(
            report_path("figures/training_curves.png"),
            caption="../report/training_curves.rst",
            category="Training curves",
        ),
    log:
        shared_path(f"logs/report/{config['method']}/figure_training_curves.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/figure_training_curves.py"


# target ablations has run: its tables (over seeds: means +- std and the paired differences) as a page
rule report_ablations:
    input:
        shared_path("metrics/ablations/tables"),
    output:
        report(report_path("tables/ablations.html"), caption="../report/ablations.rst", category="Ablations"),
    params:
        title=f"Ablations of run {config['run']}",
        confidence=CONFIDENCE,
    log:
        shared_path(f"logs/report/{config['method']}/ablations.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/report_ablations.py"


rule report:
    input:
        **report_figures(),
        tables=[report_path(f"tables/{name}.html") for name in report_tables()],
        ablations=[report_path("tables/ablations.html")] if os.path.exists(shared_path("ablations.md")) else [],
        template=os.path.join(WSSS_DIR, "report", "workflow.rst"),
    output:
        REPORT_START,
    params:
        headline_tables=headline_tables(),
    log:
        shared_path(f"logs/report/{config['method']}/start.log"),
    localrule: True
    conda:
        ENV
    script:
        "../workflow_scripts/report_start.py"
