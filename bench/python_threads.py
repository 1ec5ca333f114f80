#!/usr/bin/env python3
"""Two Python threads on one zeroshot.Model against one: is the GIL released while the engine
works? Each engine call uses one thread (Model(threads=1)), so with the GIL released two Python
threads should give about twice the images per second of one (on a machine with 2 free cores).

Rounds interleave the cases (1 thread, 2 threads, 2 processes, ...) so that load changes hit
all; prints images/s per round, the medians and the ratios. The control, two processes (one model
each, no GIL shared), is what two engine threads can give on this machine at this load: on a busy
machine 2 threads / 1 thread stays below 2 for both, and threads ~ processes is what shows the GIL
released. Never run in CI. Use a full-size model (a random ViT-B/32:
build/bench/make_random_clip /tmp/vitb32) so that the engine, not Python, dominates each call.

  cmake --build build --target zeroshot_python
  PYTHONPATH=build/python /usr/bin/python3 bench/python_threads.py [--repo data/models/shapes-clip]
"""
import argparse
import os
import statistics
import threading
import time

import zeroshot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(model, images, labels, n_threads, calls_per_thread):
    start = threading.Barrier(n_threads + 1)

    def work(k):
        start.wait()
        for i in range(calls_per_thread):
            model.classify(images[(k + i) % len(images)], labels)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return n_threads * calls_per_thread / (time.perf_counter() - t0)


def _process(repo, images, labels, calls, start, out):
    model = zeroshot.Model(repo, threads=1)
    run(model, images, labels, 1, 2)  # warm-up
    start.wait()
    out.put(run(model, images, labels, 1, calls))


def run_processes(repo, images, labels, n, calls):
    """n processes, each its own model and one engine thread: the no-GIL control."""
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    start, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_process, args=(repo, images, labels, calls, start, out))
             for _ in range(n)]
    for p in procs:
        p.start()
    rates = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", default=os.path.join(ROOT, "data", "models", "shapes-clip"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20, help="classify calls per thread per round")
    args = parser.parse_args()
    images_dir = os.path.join(ROOT, "tests", "fixtures", "images")
    # Decoded once: numpy pixels, so the rounds time the model, not the decoder.
    from PIL import Image
    import numpy as np
    images = [np.asarray(Image.open(os.path.join(images_dir, n)).convert("RGB"))
              for n in ["scene_640x480.png", "small_100x80.png", "odd_225x301.png"]]
    labels = ["a red circle", "a blue square", "a green triangle", "a yellow star"]
    model = zeroshot.Model(args.repo, threads=1)
    run(model, images, labels, 2, 3)  # warm-up (text cache, first-touch of weights)
    one, two, procs = [], [], []
    for r in range(args.rounds):
        one.append(run(model, images, labels, 1, args.calls))
        two.append(run(model, images, labels, 2, args.calls))
        procs.append(run_processes(args.repo, images, labels, 2, args.calls))
        print(f"round {r}: 1 thread {one[-1]:.1f} images/s, 2 threads {two[-1]:.1f}, "
              f"2 processes {procs[-1]:.1f}")
    m1, m2, mp2 = statistics.median(one), statistics.median(two), statistics.median(procs)
    print(f"median images/s: 1 thread {m1:.1f}, 2 threads {m2:.1f}, 2 processes {mp2:.1f}")
    print(f"2 threads / 1 thread {m2 / m1:.2f}; 2 processes / 1 thread {mp2 / m1:.2f}; "
          f"2 threads / 2 processes {m2 / mp2:.2f}")
    # Per round (the cases of one round saw about the same load): the medians of the ratios.
    r_threads = statistics.median(t / o for t, o in zip(two, one))
    r_control = statistics.median(t / p for t, p in zip(two, procs))
    print(f"per-round medians: 2 threads / 1 thread {r_threads:.2f}; "
          f"2 threads / 2 processes {r_control:.2f}")


if __name__ == "__main__":
    main()
