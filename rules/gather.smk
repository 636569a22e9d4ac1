# The gather steps: each joins the shards of a per-image stage into the output the unsharded
# stage would write (hard links for PNG directories, group copies for HDF5 stores). They run
# in the main Snakemake process (localrule), never as cluster jobs.

GATHER_STEPS = {
    # rule: ({output name: (part under shards/, gathered output)}, log under logs/gather/)
    "gather_saliency": ({"saliency": ("saliency/{shard}", directory(shared_path("saliency")))}, "saliency"),
    "gather_cams": ({"cams": ("cams/{shard}.h5", run_path("cams.h5"))}, "cams"),
    "gather_initial_labels": (
        {"labels": ("labels/initial_{cam}/{shard}", directory(run_path("labels/initial_{cam}")))},
        "initial_{cam}",
    ),
    "gather_refined_labels": (
        {
            "ca_labels": ("labels/refined_ca/{shard}", directory(run_path("labels/refined_ca"))),
            "seg_labels": ("labels/refined_seg/{shard}", directory(run_path("labels/refined_seg"))),
        },
        "refined_labels",
    ),
    "gather_crf": (
        {
            "crf": ("segmentation/{model}/{split}/{shard}/crf", directory(run_path("segmentation/{model}/{split}/crf"))),
            "ms_crf": (
                "segmentation/{model}/{split}/{shard}/ms_crf",
                directory(run_path("segmentation/{model}/{split}/ms_crf")),
            ),
        },
        "crf/{model}/{split}",
    ),
}

# the gathers of deterministic stages, once for all seeds
SHARED_GATHERS = ("gather_saliency",)


for gather_name, (gather_outputs, gather_log) in GATHER_STEPS.items():

    rule:
        name:
            gather_name
        input:
            **{key: shard_parts(part, shared=gather_name in SHARED_GATHERS) for key, (part, _) in gather_outputs.items()},
        output:
            **{key: gathered for key, (_, gathered) in gather_outputs.items()},
        log:
            (shared_path if gather_name in SHARED_GATHERS else run_path)(f"logs/gather/{gather_log}.log"),
        localrule: True
        conda:
            ENV
        script:
            "../workflow_scripts/gather_shards.py"
