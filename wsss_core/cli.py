"""The ``wsss`` console command: ``wsss predict`` segments any images with a trained checkpoint;
``wsss inspect`` says what a store, checkpoint or label directory holds."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from wsss_core.crf import DEEPLAB_CRF, LABEL_EPSILON, crf_labels
from wsss_core.engine.device import pick_device, place_model
from wsss_core.inference.predict import predict_probs
from wsss_core.inspect import format_report, inspect_path
from wsss_core.io import InputError, read_rgb, write_label_map
from wsss_core.logs import progress
from wsss_core.models.checkpoint import load_model


def _predict(args: argparse.Namespace) -> None:
    device = pick_device(args.threads)
    model = place_model(load_model(args.checkpoint, device), device).eval()
    args.output.mkdir(parents=True, exist_ok=True)
    for path in progress(args.images, total=len(args.images), desc="wsss predict"):
        image = read_rgb(path)
        seg_probs, _ = predict_probs(
            model, image, device, scales=args.scales, flip=not args.no_flip, max_side=args.max_side
        )
        if args.crf:
            labels = crf_labels(image, seg_probs, DEEPLAB_CRF, label_epsilon=LABEL_EPSILON)
        else:
            labels = seg_probs.argmax(axis=0)
        write_label_map(args.output / f"{path.stem}.png", labels)


def _inspect(args: argparse.Namespace) -> None:
    class_names = None
    if args.classes is not None:
        if not args.classes.is_file():
            raise InputError(f"{args.classes}: classes file not found")
        class_names = [line.strip() for line in args.classes.read_text().splitlines() if line.strip()]
    for path in args.paths:
        print(format_report(path, inspect_path(path, class_names)))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``wsss``."""
    parser = argparse.ArgumentParser(prog="wsss", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="segment images with a trained checkpoint")
    predict.add_argument("checkpoint", type=Path, help="a checkpoint of a training rule (e.g. checkpoints/retrain.pt)")
    predict.add_argument("images", type=Path, nargs="+", help="image files (any format Pillow reads)")
    predict.add_argument("-o", "--output", type=Path, required=True, help="directory for <image stem>.png label maps")
    predict.add_argument("--scales", type=float, nargs="+", default=[1.0], help="inference scales (default: 1.0)")
    predict.add_argument("--max-side", type=int, default=None, help="bring images down to this many pixels first")
    predict.add_argument("--no-flip", action="store_true", help="do not add flipped inputs to the max fusion")
    predict.add_argument("--crf", action="store_true", help="post-process with DeepLab's dense CRF")
    predict.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    predict.set_defaults(run=_predict)
    inspect = commands.add_parser(
        "inspect", help="what a cams.h5 / predictions store, a checkpoint or a label directory holds"
    )
    inspect.add_argument("paths", type=Path, nargs="+", help="a .h5 store, a .pt checkpoint or a directory of PNG maps")
    inspect.add_argument("--classes", type=Path, default=None, help="classes.txt naming label values (default: the run's)")
    inspect.set_defaults(run=_inspect)
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
