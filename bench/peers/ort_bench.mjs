// ONNX Runtime's side of the peer benchmark (bench/peers/run.sh): the exported towers on the same
// preprocessed pixels and token ids as model_bench, checked against zeroshot's embeddings first.
//
//   node ort_bench.mjs --onnx DIR --inputs DIR [--threads N] [--repeats N] [--json FILE]
//   node ort_bench.mjs --onnx DIR --inputs DIR --rss [--threads N]   # peak RSS, one line of JSON
//
// CPU execution provider, N intra-op threads (model_bench's count), sequential execution, every
// graph optimisation. Every time is the median of N rounds (text: N / 3, as model_bench) after a
// warm-up round; in a round each measure runs once, in turn. Times cover session.run only: the
// pixels are already preprocessed (by zeroshot, peer_inputs) and the token ids already tokenised
// and padded.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";

const TOLERANCE = 1e-4;

function parseArgs(argv) {
  const args = { threads: 2, repeats: 7, json: "", rss: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === "--rss") args.rss = true;
    else if (["--onnx", "--inputs", "--json"].includes(a) && i + 1 < argv.length)
      args[a.slice(2)] = argv[++i];
    else if (["--threads", "--repeats"].includes(a) && i + 1 < argv.length)
      args[a.slice(2)] = Math.max(1, parseInt(argv[++i], 10));
    else {
      console.error(
        "usage: node ort_bench.mjs --onnx DIR --inputs DIR [--threads N] [--repeats N] " +
          "[--json FILE] [--rss]",
      );
      process.exit(2);
    }
  }
  if (!args.onnx || !args.inputs) {
    console.error("ort_bench: --onnx and --inputs are required");
    process.exit(2);
  }
  return args;
}

function readFloats(dir, entry) {
  const bytes = readFileSync(join(dir, entry.file));
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new ort.Tensor("float32", Float32Array.from(values), entry.shape);
}

// A padded batch of token ids (padded with the end token, as CLIP's tokenizer) and its mask:
// padded to the longest prompt (HF's pipeline), or to `padTo` tokens (OpenAI's clip.tokenize and
// open_clip pad every prompt to the context length, 77).
function paddedBatch(idsList, padId, padTo = 0) {
  const length = Math.max(padTo, ...idsList.map((ids) => ids.length));
  const ids = new BigInt64Array(idsList.length * length).fill(BigInt(padId));
  const mask = new BigInt64Array(idsList.length * length);
  idsList.forEach((row, i) =>
    row.forEach((id, j) => {
      ids[i * length + j] = BigInt(id);
      mask[i * length + j] = 1n;
    }),
  );
  const dims = [idsList.length, length];
  return {
    input_ids: new ort.Tensor("int64", ids, dims),
    attention_mask: new ort.Tensor("int64", mask, dims),
  };
}

// The same pixels `batch` times: [batch, 3, S, S].
function repeatPixels(pixels, batch) {
  const one = pixels.data;
  const data = new Float32Array(one.length * batch);
  for (let b = 0; b < batch; ++b) data.set(one, b * one.length);
  return new ort.Tensor("float32", data, [batch, ...pixels.dims.slice(1)]);
}

// OMP_WAIT_POLICY=passive (what zeroshot's OpenMP threads obey) also stops ORT's threads from
// spinning between tasks, so that one setting makes both sides wait alike.
const spinning = (process.env.OMP_WAIT_POLICY ?? "").toLowerCase() !== "passive";

const sessionOptions = (threads) => ({
  executionProviders: ["cpu"],
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  ...(spinning
    ? {}
    : {
        extra: {
          session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } },
        },
      }),
});

async function createSessions(onnxDir, threads) {
  const vision = await ort.InferenceSession.create(
    join(onnxDir, "vision.onnx"),
    sessionOptions(threads),
  );
  const text = await ort.InferenceSession.create(
    join(onnxDir, "text.onnx"),
    sessionOptions(threads),
  );
  return { vision, text };
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

// Peak resident set (VmHWM) of this process, in MiB.
function peakRssMib() {
  const line = readFileSync("/proc/self/status", "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmHWM:"));
  return parseInt(line.split(/\s+/)[1], 10) / 1024;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const inputs = JSON.parse(readFileSync(join(args.inputs, "inputs.json"), "utf8"));
  const pixels = readFloats(args.inputs, inputs.pixels);

  if (args.rss) {
    // As model_bench's peak RSS: a fresh process that loads the model and classifies one image
    // against two labels (both towers run).
    const nodeMib = process.memoryUsage().rss / 1048576;
    const { vision, text } = await createSessions(args.onnx, args.threads);
    await vision.run({ pixel_values: pixels });
    await text.run(paddedBatch(inputs.ids.slice(0, 2), inputs.eos_token_id));
    console.log(
      JSON.stringify({ peak_rss_mib: peakRssMib(), node_rss_before_sessions_mib: nodeMib }),
    );
    return;
  }

  let t0 = performance.now();
  let sessions = await createSessions(args.onnx, args.threads);
  const firstSessionMs = performance.now() - t0;

  // Check against zeroshot before timing anything.
  const image = await sessions.vision.run({ pixel_values: pixels });
  const imageDiff = maxAbsDiff(
    image.embeds.data,
    readFloats(args.inputs, inputs.image_embedding).data,
  );
  const check = await sessions.text.run(paddedBatch(inputs.check_ids, inputs.eos_token_id));
  const textDiff = maxAbsDiff(
    check.embeds.data,
    readFloats(args.inputs, inputs.check_embeddings).data,
  );
  if (!(imageDiff <= TOLERANCE && textDiff <= TOLERANCE)) {
    console.error(
      `ort_bench: ONNX Runtime disagrees with zeroshot: image ${imageDiff}, text ${textDiff}`,
    );
    process.exit(1);
  }

  const eight = repeatPixels(pixels, 8);
  const text100 = paddedBatch(inputs.ids.slice(0, 100), inputs.eos_token_id);
  const text100At77 = paddedBatch(inputs.ids.slice(0, 100), inputs.eos_token_id, 77);
  const textAll = paddedBatch(inputs.ids, inputs.eos_token_id);
  // As model_bench: the image measures take N rounds, the (longer) text measures N / 3.
  const groups = [
    {
      rounds: args.repeats,
      measures: {
        image_b1_ms: () => sessions.vision.run({ pixel_values: pixels }),
        image_b8_ms: () => sessions.vision.run({ pixel_values: eight }),
      },
    },
    {
      rounds: Math.max(1, Math.floor(args.repeats / 3)),
      measures: {
        text_100_prompts_ms: () => sessions.text.run(text100),
        text_100_prompts_77_ms: () => sessions.text.run(text100At77),
        text_prompts_ms: () => sessions.text.run(textAll),
      },
    },
  ];
  const samples = {};
  for (const { rounds, measures } of groups) {
    for (const run of Object.values(measures)) await run(); // warm-up
    for (let r = 0; r < rounds; ++r) {
      for (const [name, run] of Object.entries(measures)) {
        t0 = performance.now();
        await run();
        (samples[name] ??= []).push(performance.now() - t0);
      }
    }
  }

  // Session creation (both towers, files in the page cache): what a warm model load is to zeroshot.
  const sessionSamples = [];
  for (let r = 0; r < Math.max(1, Math.floor(args.repeats / 2)); ++r) {
    await sessions.vision.release();
    await sessions.text.release();
    t0 = performance.now();
    sessions = await createSessions(args.onnx, args.threads);
    sessionSamples.push(performance.now() - t0);
  }

  const result = {
    ort_version: ort.env.versions.node ?? ort.env.versions.common,
    threads: args.threads,
    spinning,
    repeats: args.repeats,
    check_max_abs_diff: { image: imageDiff, text: textDiff },
    text_100_padded_length: text100.input_ids.dims[1],
    text_prompts_count: inputs.ids.length,
    text_prompts_padded_length: textAll.input_ids.dims[1],
    session_first_ms: firstSessionMs,
    session_warm_ms: median(sessionSamples),
    ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])),
  };
  result.image_b8_per_image_ms = result.image_b8_ms / 8;
  const ms = (key) => result[key].toFixed(2);
  console.log(
    `ONNX Runtime ${result.ort_version}, ${args.threads} threads, median of ${args.repeats}: ` +
      `image b1 ${ms("image_b1_ms")} ms, b8 ${ms("image_b8_per_image_ms")} ms/image, ` +
      `100 prompts ${ms("text_100_prompts_ms")} ms, ${result.text_prompts_count} prompts ` +
      `${ms("text_prompts_ms")} ms, sessions ${ms("session_warm_ms")} ms (check vs zeroshot: ` +
      `image ${imageDiff.toExponential(2)}, text ${textDiff.toExponential(2)})`,
  );
  if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2) + "\n");
}

main().catch((e) => {
  console.error(`ort_bench: ${e.message ?? e}`);
  process.exit(1);
});
