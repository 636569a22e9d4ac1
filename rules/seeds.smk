# Repeated runs over seeds (config seeds): the tables of every seed joined into one table with each
# seed's rows and their mean, std and n (wsss_core.evaluate.seeds), and the ablation tables with the
# paired differences of each row against the table's first one. Without seeds there is nothing to join.

if SEEDS:

    rule tables_over_seeds:
        input:
            lambda wildcards: seed_paths(f"metrics/{wildcards.table}.csv"),
        output:
            shared_path("metrics/{table}.csv"),
        wildcard_constraints:
            table="[^/]+",
        params:
            seeds=SEEDS,
        log:
            shared_path("logs/tables_over_seeds/{table}.log"),
        localrule: True
        conda:
            ENV
        script:
            "../workflow_scripts/tables_over_seeds.py"

    rule ablations_over_seeds:
        input:
            tables=seed_paths("metrics/ablations/tables"),
        output:
            tables=directory(shared_path("metrics/ablations/tables")),
            markdown=shared_path("ablations.md"),
        params:
            seeds=SEEDS,
            run=config["run"],
            confidence=CONFIDENCE,
        log:
            shared_path("logs/ablations_over_seeds.log"),
        localrule: True
        conda:
            ENV
        script:
            "../workflow_scripts/ablations_over_seeds.py"
