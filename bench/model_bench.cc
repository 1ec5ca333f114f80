// model_bench: timings of the public API on a full-size random-weight ViT-B/32, each next to a
// baseline measured in the same run (see bench/README.md for the commands and the latest table).
//
//   model_bench [--model DIR] [--repeats N] [--threads N] [--labels N] [--ensemble-repeats N]
//               [--small] [--quick] [--siglip | --siglip2] [--json FILE]
//
// Without --model it generates build/bench-models/clip-vit-base-patch32-random on first use
// (--small: a tiny 2-layer model, for the CI smoke pass). Every figure is the median of N runs
// after one warm-up; baselines and candidates are interleaved run by run, so that load from other
// processes hits both alike. Peak RSS is measured in a child process that only loads the model
// and classifies one image against two labels. --json FILE also writes every measured value
// (milliseconds, MiB) as one JSON object, for bench/peers/run.sh.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fma_peak.h"
#include "image/preprocess.h"
#include "kernels/gemm.h"
#include "kernels/threads.h"
#include "labels.h"
#include "support/random_clip.h"
#include "zeroshot/zeroshot.h"

namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// How interleaved_ms runs: every function once first (warm-up), and how many samples of the
// first function (a short baseline) each round takes.
struct Interleave {
  bool warm_up = true;
  int first_samples = 1;
};

// Runs `repeats` rounds of all the functions in turn (after a warm-up round unless told not to);
// returns the median milliseconds of each.
std::vector<double> interleaved_ms(int repeats, const std::vector<std::function<void()>>& fs,
                                   Interleave how = {}) {
  if (how.warm_up)
    for (const auto& f : fs) f();
  std::vector<std::vector<double>> ms(fs.size());
  for (int r = 0; r < repeats; ++r) {
    for (std::size_t i = 0; i < fs.size(); ++i) {
      for (int k = 0; k < (i == 0 ? how.first_samples : 1); ++k) {
        const auto t0 = Clock::now();
        fs[i]();
        ms[i].push_back(elapsed_ms(t0));
      }
    }
  }
  std::vector<double> out;
  for (auto& m : ms) out.push_back(median(m));
  return out;
}

double one_ms(int repeats, const std::function<void()>& f) {
  return interleaved_ms(repeats, {f})[0];
}

// The model's GEMMs alone, through the library's own kernel on random weights of the same shapes:
// the floor a forward pass reaches if every row goes through every layer: one pass of `rows`
// rows through `layers` layers (+ the patch embedding when patch_in > 0). run() is timed
// interleaved with what it is the floor of.
class GemmFloor {
 public:
  GemmFloor(int rows, int hidden, int inter, int layers, int patch_in, int patches, int threads)
      : rows_(rows), layers_(layers), patches_(patches), threads_(threads) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    auto random = [&](std::size_t n) {
      std::vector<float> v(n);
      for (float& x : v) x = normal(rng);
      return v;
    };
    const int shapes[4][2] = {
        {hidden, 3 * hidden}, {hidden, hidden}, {hidden, inter}, {inter, hidden}};
    for (const auto& [k, n] : shapes) {
      weights_.emplace_back(random(static_cast<std::size_t>(n) * k), n, k,
                            random(static_cast<std::size_t>(n)));
      gflop_ += 2.0 * rows * k * n * layers / 1e9;
    }
    if (patch_in > 0) {
      patch_ = zeroshot::kernels::LinearWeights(random(static_cast<std::size_t>(hidden) * patch_in),
                                                hidden, patch_in, {});
      gflop_ += 2.0 * patches * patch_in * hidden / 1e9;
    }
    x_ = random(static_cast<std::size_t>(rows) * std::max(inter, patch_in));
    y_.resize(static_cast<std::size_t>(rows) * std::max(3 * hidden, inter));
  }
  void run() {
    const zeroshot::kernels::ThreadScope scope(threads_);
    if (!patch_.empty()) zeroshot::kernels::linear(x_.data(), patches_, patch_, y_.data());
    for (int l = 0; l < layers_; ++l)
      for (const auto& w : weights_) zeroshot::kernels::linear(x_.data(), rows_, w, y_.data());
  }
  double gflop() const { return gflop_; }

 private:
  int rows_, layers_, patches_, threads_;
  std::vector<zeroshot::kernels::LinearWeights> weights_;
  zeroshot::kernels::LinearWeights patch_;
  std::vector<float> x_, y_;
  double gflop_ = 0;
};

// Peak RSS (MiB) of a child process that loads the model and classifies one image against two
// labels: both towers run, so every weight the model packs on first use is packed.
double child_peak_rss_mib(const std::string& folder, const zeroshot::Image& image, int threads) {
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      auto model = zeroshot::Model::load({.repo = folder, .threads = threads});
      model.classify(image, std::vector<std::string>{"a dog", "a cat"});
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_maxrss / 1024.0;
}

// 20 labels for the int8 accuracy check: "word word number", varied enough that random weights
// still give clear winners on many fixture images.
std::vector<std::string> accuracy_labels() {
  static const char* const kWords[] = {"red",  "small", "wooden", "striped",  "old",    "shiny",
                                       "dog",  "cat",   "car",    "house",    "tree",   "bird",
                                       "boat", "chair", "river",  "mountain", "street", "fruit"};
  std::vector<std::string> labels;
  for (int i = 0; i < 20; ++i) {
    labels.push_back(std::string(kWords[(i * 7 + i / 18) % 18]) + " " +
                     kWords[(i * 7 + 13 + i / 18) % 18] + " " + std::to_string(i));
  }
  return labels;
}

// Text-tower rows (tokens) for `labels` under every template: `every_token` runs each prompt's
// tokens in full; `shared` runs each template's shared prefix (the tokens before the label, common
// to all its prompts, at most each prompt's length - 1) once per template and only the rest of
// each prompt, as classify does when it groups prompts by template. (classify passes at most 256
// prompts at a time, so for more labels the prefix runs once per pass; a few rows more.)
struct EnsembleRows {
  double every_token = 0;
  double shared = 0;
};
EnsembleRows ensemble_rows(const zeroshot::Model& model, const std::vector<std::string>& labels,
                           const std::vector<std::string>& templates) {
  EnsembleRows rows;
  for (const auto& t : templates) {
    std::vector<std::vector<int>> ids;
    for (const auto& l : labels) {
      std::string prompt = t;
      for (std::size_t pos; (pos = prompt.find("{label}")) != std::string::npos;)
        prompt.replace(pos, 7, l);
      ids.push_back(model.tokenize(prompt));
    }
    std::size_t prefix = ids[0].size() - 1;
    for (const auto& p : ids) {
      prefix = std::min(prefix, p.size() - 1);
      prefix = static_cast<std::size_t>(
          std::mismatch(ids[0].begin(), ids[0].begin() + static_cast<long>(prefix), p.begin())
              .first -
          ids[0].begin());
    }
    rows.shared += static_cast<double>(prefix);
    for (const auto& p : ids) {
      rows.every_token += static_cast<double>(p.size());
      rows.shared += static_cast<double>(p.size() - prefix);
    }
  }
  return rows;
}

// Mean token count (start and end tokens included) of the prompts.
double mean_tokens(const zeroshot::Model& model, const std::vector<std::string>& prompts) {
  double total = 0;
  for (const auto& p : prompts) total += static_cast<double>(model.tokenize(p).size());
  return total / static_cast<double>(prompts.size());
}

void row(const char* name, double value, const char* unit, const char* baseline_name,
         double baseline, const char* ratio_note) {
  if (baseline > 0) {
    std::printf("| %-44s | %9.2f %-4s | %-34s | %9.2f | %5.2f %s |\n", name, value, unit,
                baseline_name, baseline, baseline / value, ratio_note);
  } else {
    std::printf("| %-44s | %9.2f %-4s | %-34s | %9s | %5s %s |\n", name, value, unit, "", "", "",
                ratio_note);
  }
}

void table_header() {
  std::printf("| %-44s | %14s | %-34s | %9s | %s |\n", "measure", "value", "baseline (same run)",
              "baseline", "ratio");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(16, '-').c_str(),
              std::string(36, '-').c_str(), std::string(11, '-').c_str(),
              std::string(15, '-').c_str());
}

// SigLIP's image embedding (a random-weight siglip-base-patch16-224, or a small one) against its
// GEMM floor in the same run: every patch row (no class token) through every layer, plus the patch
// embedding; the pooling head's GEMMs are not in the floor. Then 100 labels' text embeddings,
// packed against one at a time. --siglip2: the same for SigLIP 2's fixed-resolution layout
// (siglip2-base-patch16-224's shapes; the fixtures' Gemma-style tokenizer.json of 16536 ids stands
// in for Gemma's 256k, which changes the embedding table's size, not the work per token).
int siglip_rows(std::string folder, bool small, bool v2, int repeats, int threads,
                const std::string& fixtures) {
  const std::string name = v2 ? "siglip2" : "siglip";
  if (folder.empty()) {
    folder = "build/bench-models/" + name + (small ? "-small-random" : "-base-patch16-224-random");
  }
  if (!std::filesystem::exists(folder + "/model.safetensors")) {
    std::fprintf(stderr, "generating %s (random weights)...\n", folder.c_str());
    zeroshot::testing::RandomSiglipOptions options;
    options.tokenizer_from = fixtures + "/siglip";
    if (v2) options.siglip2_tokenizer_json = fixtures + "/tokenizer_json/bpe_byte_fallback.json";
    const int vocab = v2 ? 16536 : 1000;
    options.config = {{"text_config", {{"vocab_size", vocab}}}};
    if (small) {
      const nlohmann::json tower = {{"hidden_size", 64},
                                    {"intermediate_size", 128},
                                    {"num_attention_heads", 4},
                                    {"num_hidden_layers", 2}};
      options.config = {{"text_config", tower}, {"vision_config", tower}};
      options.config["text_config"]["vocab_size"] = vocab;
    }
    zeroshot::testing::write_random_siglip(folder, options);
  }
  const auto vision = [&] {
    std::ifstream in(folder + "/config.json");
    return nlohmann::json::parse(in).value("vision_config", nlohmann::json::object());
  }();
  const int side = vision.value("image_size", 224), patch = vision.value("patch_size", 16);
  const int patches = (side / patch) * (side / patch);
  GemmFloor floor(patches, vision.value("hidden_size", 768),
                  vision.value("intermediate_size", 3072), vision.value("num_hidden_layers", 12),
                  3 * patch * patch, patches, threads);
  const auto model = zeroshot::Model::load(
      {.repo = folder, .threads = threads, .text_cache_entries = 0});  // every text computed
  const auto image = zeroshot::Image::from_file(fixtures + "/images/scene_640x480_q92.jpg");
  const std::vector<zeroshot::Image> eight(8, image);
  const auto times =
      interleaved_ms(repeats, {[&] { model.embed_image(image); },
                               [&] { model.embed_images(eight); }, [&] { floor.run(); }});
  const auto labels100 = zeroshot::bench::make_labels(100);
  const auto text_times =
      interleaved_ms(std::max(1, repeats / 3), {[&] { model.embed_texts(labels100); },
                                                [&] {
                                                  for (const auto& l : labels100)
                                                    model.embed_text(l);
                                                }});
  const int cores = zeroshot::kernels::available_cores();
  std::printf("model %s, %d threads of %d cores, median of %d\n", folder.c_str(),
              threads > 0 ? threads : cores, cores, repeats);
  table_header();
  const std::string family = v2 ? "SigLIP 2" : "SigLIP";
  row((family + " image embedding, batch 1").c_str(), times[0], "ms",
      "GEMMs alone (model's shapes)", times[2], "of GEMM rate");
  std::printf("|   GEMM rate of the model's shapes: %.1f GFLOP/s (%.2f GFLOP per image)\n",
              floor.gflop() / times[2] * 1e3, floor.gflop());
  row((family + " image embedding, batch 8, per image").c_str(), times[1] / 8, "ms",
      "GEMMs alone (batch 1)", times[2], "of GEMM rate");
  row((family + " text embedding, 100 labels (packed)").c_str(), text_times[0], "ms",
      "one label at a time", text_times[1], "x faster");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string folder;
  int repeats = 7;
  int threads = 0;
  bool small = false;
  int label_count = 1000;
  int ensemble_repeats = 1;
  bool quick = false;  // no ensemble rows (they take minutes)
  bool siglip = false;
  bool siglip2 = false;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (a == "--model" && i + 1 < argc) {
      folder = argv[++i];
    } else if (a == "--labels" && i + 1 < argc) {
      label_count = std::max(2, std::stoi(argv[++i]));
    } else if (a == "--ensemble-repeats" && i + 1 < argc) {
      ensemble_repeats = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--small") {
      small = true;
    } else if (a == "--quick") {
      quick = true;
    } else if (a == "--siglip") {
      siglip = true;
    } else if (a == "--siglip2") {
      siglip2 = true;
    } else if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(
          stderr,
          "usage: model_bench [--model DIR] [--repeats N] [--threads N] [--labels N] "
          "[--ensemble-repeats N] [--small] [--quick] [--siglip | --siglip2] [--json FILE]\n"
          "  --siglip, --siglip2: a SigLIP or SigLIP 2 model's rows instead of CLIP's\n"
          "  --quick: skip the prompt-ensemble rows (minutes at full size)\n"
          "  --json FILE: also write the measured values as a JSON object (not with "
          "--siglip)\n");
      return 2;
    }
  }
  const std::string fixtures = ZEROSHOT_FIXTURES;
  if (siglip || siglip2) return siglip_rows(folder, small, siglip2, repeats, threads, fixtures);
  if (folder.empty()) {
    folder = small ? "build/bench-models/clip-small-random"
                   : "build/bench-models/clip-vit-base-patch32-random";
  }
  if (!std::filesystem::exists(folder + "/model.safetensors")) {
    std::fprintf(stderr, "generating %s (random weights)...\n", folder.c_str());
    zeroshot::testing::RandomClipOptions options;
    options.tokenizer_from = fixtures + "/models/tiny-clip";
    if (small) {
      options.config = {{"projection_dim", 32},
                        {"text_config",
                         {{"hidden_size", 64},
                          {"intermediate_size", 128},
                          {"num_attention_heads", 4},
                          {"num_hidden_layers", 2}}},
                        {"vision_config",
                         {{"hidden_size", 64},
                          {"intermediate_size", 128},
                          {"num_attention_heads", 4},
                          {"num_hidden_layers", 2},
                          {"image_size", 64},
                          {"patch_size", 16}}}};
      options.preprocessor = {{"size", {{"shortest_edge", 64}}},
                              {"crop_size", {{"height", 64}, {"width", 64}}},
                              {"do_center_crop", true},
                              {"do_normalize", true},
                              {"do_resize", true},
                              {"do_rescale", true},
                              {"resample", 3},
                              {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
                              {"image_std", {0.26862954, 0.26130258, 0.27577711}}};
    }
    zeroshot::testing::write_random_clip(folder, options);
  }
  const double weights_mib = std::filesystem::file_size(folder + "/model.safetensors") / 1048576.0;
  const std::string small_jpeg = fixtures + "/images/scene_640x480_q92.jpg";
  const std::string large_jpeg = fixtures + "/images/large_1600x1200_q90.jpg";
  const auto image = zeroshot::Image::from_file(small_jpeg);

  // Before anything big lives in this process (the child starts as a copy of it).
  const double rss_mib = child_peak_rss_mib(folder, image, threads);

  const auto t_first = Clock::now();
  auto model = zeroshot::Model::load({.repo = folder, .threads = threads});
  const double first_load_ms = elapsed_ms(t_first);
  const int load_repeats = std::max(1, repeats / 2);
  const double load_ms =
      one_ms(load_repeats, [&] { zeroshot::Model::load({.repo = folder, .threads = threads}); });
  // A fresh model's first image: load, then the first pass, which packs the vision tower's
  // weights where oneDNN wants them blocked (src/kernels/gemm.h).
  const double first_image_ms = one_ms(load_repeats, [&] {
    zeroshot::Model::load({.repo = folder, .threads = threads}).embed_image(image);
  });
  auto cold = zeroshot::Model::load(
      {.repo = folder, .threads = threads, .text_cache_entries = 0});  // every text computed

  // The model's configuration, read back through the public API where possible.
  const int image_side = [&] {
    std::ifstream in(folder + "/config.json");
    const auto config = nlohmann::json::parse(in);
    return config.value("vision_config", nlohmann::json::object()).value("image_size", 224);
  }();
  const auto vision = [&] {
    std::ifstream in(folder + "/config.json");
    return nlohmann::json::parse(in).value("vision_config", nlohmann::json::object());
  }();
  const int hidden = vision.value("hidden_size", 768);
  const int inter = vision.value("intermediate_size", 3072);
  const int layers = vision.value("num_hidden_layers", 12);
  const int patch = vision.value("patch_size", 32);
  const int patches = (image_side / patch) * (image_side / patch);
  GemmFloor floor(patches + 1, hidden, inter, layers, 3 * patch * patch, patches, threads);

  // Image embeddings: batch 1 and 8 (the same image 8 times), interleaved with the GEMM floor.
  const std::vector<zeroshot::Image> eight(8, image);
  const auto image_times =
      interleaved_ms(repeats, {[&] { model.embed_image(image); },
                               [&] { model.embed_images(eight); }, [&] { floor.run(); }});
  const double image_ms = image_times[0];
  const double batch8_ms = image_times[1] / 8;
  const double floor_ms = image_times[2];
  const double peak_gflops = zeroshot::bench::fma_peak_gflops(
      threads > 0 ? threads : zeroshot::kernels::available_cores());

  // Text: cost by prompt length (no padding to 77), then many labels, packed vs one at a time.
  const std::string short_text = "a photo of a dog";
  std::string long_text;
  for (int i = 0; i < 60; ++i) long_text += "dog ";
  const auto length_times = interleaved_ms(
      repeats, {[&] { cold.embed_text(short_text); }, [&] { cold.embed_text(long_text); }});
  const auto labels100 = zeroshot::bench::make_labels(100);
  const auto labels1000 = zeroshot::bench::make_labels(label_count);  // 1000 unless --labels
  const int few = std::max(1, repeats / 3);
  const auto text_times = interleaved_ms(few, {[&] { cold.embed_texts(labels100); },
                                               [&] {
                                                 for (const auto& l : labels100)
                                                   cold.embed_text(l);  // the previous path
                                               }});
  const double text1000_ms = one_ms(few, [&] { cold.embed_texts(labels1000); });
  // The same labels as classify prompts them ("a photo of {label}"): what bench/peers compares
  // with ONNX Runtime's padded batch of the same prompts.
  const auto prompts100 = zeroshot::bench::photo_prompts(labels100);
  const auto prompts1000 = zeroshot::bench::photo_prompts(labels1000);
  const auto prompt_times = interleaved_ms(
      few, {[&] { cold.embed_texts(prompts100); }, [&] { cold.embed_texts(prompts1000); }});

  // classify with 1000 labels: cold (no cache) against the text tower's GEMMs over every token of
  // every prompt (what a pass without the shared-prefix and last-layer savings would multiply),
  // and warm (all cached).
  const double verbatim_tokens = mean_tokens(model, labels1000);
  const double prompt_tokens = mean_tokens(model, prompts1000);
  const auto text_config = [&] {
    std::ifstream in(folder + "/config.json");
    return nlohmann::json::parse(in).value("text_config", nlohmann::json::object());
  }();
  GemmFloor text_floor(static_cast<int>(std::lround(prompt_tokens * label_count)),
                       text_config.value("hidden_size", 512),
                       text_config.value("intermediate_size", 2048),
                       text_config.value("num_hidden_layers", 12), 0, 0, threads);
  const auto cold_times =
      interleaved_ms(few, {[&] { cold.classify(image, labels1000); }, [&] { text_floor.run(); }});
  const double classify_cold_ms = cold_times[0];
  const double text_floor_ms = cold_times[1];
  model.classify(image, labels1000);
  const auto classify_times = interleaved_ms(
      repeats, {[&] { model.classify(image, labels1000); }, [&] { model.embed_image(image); }});

  // Prompt ensembles, cold (no text cache; minutes at full size, so `ensemble_repeats` rounds,
  // default 1, interleaved; the one-template baseline runs 3 times a round): classify with the 80
  // templates of openai-imagenet-80 against classify with the default template, same labels. Then
  // what the per-template shared prefix saves, on a tenth of the labels: the same prompts in
  // label-major order through embed_texts (a pass then mixes templates, whose prompts share only
  // <|startoftext|>) against the ensemble's classify.
  const auto templates80 = zeroshot::template_set("openai-imagenet-80");
  const std::vector<std::string> labels_tenth(labels1000.begin(),
                                              labels1000.begin() + std::max(10, label_count / 10));
  std::vector<std::string> label_major;
  for (const auto& l : labels_tenth) {
    for (const auto& t : templates80) {
      std::string prompt = t;
      for (std::size_t pos; (pos = prompt.find("{label}")) != std::string::npos;)
        prompt.replace(pos, 7, l);
      label_major.push_back(prompt);
    }
  }
  std::vector<double> ensemble_times;
  EnsembleRows rows80, rows1;
  const std::vector<std::function<void()>> ensemble_runs = {
      [&] { cold.classify(image, labels1000); },
      [&] { cold.classify(image, labels1000, {.templates = templates80}); },
      [&] { cold.classify(image, labels_tenth, {.templates = templates80}); },
      [&] { cold.embed_texts(label_major); },
      // Each of the 80 templates alone, one after the other: what the ensemble must not exceed.
      [&] {
        for (const auto& t : templates80) cold.classify(image, labels1000, {.prompt_template = t});
      }};
  // Minutes at full size: no warm-up round; the short one-template baseline 3 samples a round.
  if (!quick) {
    ensemble_times =
        interleaved_ms(ensemble_repeats, ensemble_runs, {.warm_up = false, .first_samples = 3});
    rows80 = ensemble_rows(model, labels1000, templates80);
    rows1 = ensemble_rows(model, labels1000, {std::string(zeroshot::kDefaultTemplate)});
  }

  // Decode + preprocess (the vision tower's input), default CLIP preprocessing.
  zeroshot::image::PreprocessParams params;
  params.shortest_edge = params.crop_height = params.crop_width = 224;
  params.mean = {0.48145466f, 0.4578275f, 0.40821073f};
  params.std = {0.26862954f, 0.26130258f, 0.27577711f};
  std::vector<float> pixels(3 * 224 * 224);  // [3, 224, 224]
  auto decode_preprocess = [&](const std::string& path) {
    const auto img = zeroshot::Image::from_file(path);
    zeroshot::image::preprocess(img.rgb().data(), img.width(), img.height(), params, pixels.data());
  };
  const auto decode_times = interleaved_ms(
      repeats, {[&] { decode_preprocess(small_jpeg); }, [&] { decode_preprocess(large_jpeg); }});

  // int8: speed against fp32 (interleaved), and accuracy on every fixture image.
  auto int8 = zeroshot::Model::load(
      {.repo = folder, .threads = threads, .precision = zeroshot::Precision::kInt8});
  const auto int8_times = interleaved_ms(
      repeats, {[&] { int8.embed_image(image); }, [&] { model.embed_image(image); }});
  double min_cosine = 1.0;
  std::string worst;
  int decided = 0, kept = 0, images = 0;
  const std::vector<std::string> accuracy = accuracy_labels();
  for (const auto& entry : std::filesystem::directory_iterator(fixtures + "/images")) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".json") continue;
    zeroshot::Image img = [&] {
      try {
        return zeroshot::Image::from_file(entry.path().string());
      } catch (const zeroshot::Error&) {
        return zeroshot::Image::from_rgb(1, 1, std::vector<std::uint8_t>{0, 0, 0});
      }
    }();
    if (img.width() == 1 && img.height() == 1 && entry.path().filename() != "pixel_1x1.png")
      continue;
    ++images;
    const auto a = model.embed_image(img);
    const auto b = int8.embed_image(img);
    double dot = 0;
    for (std::size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
    if (dot < min_cosine) {
      min_cosine = dot;
      worst = entry.path().filename().string();
    }
    const auto fp = model.classify(img, accuracy);
    const auto q = int8.classify(img, accuracy);
    if (fp[0].score - fp[1].score >= 0.05f) {
      ++decided;
      kept += fp[0].label == q[0].label ? 1 : 0;
    }
  }

  const int cores = zeroshot::kernels::available_cores();
  std::printf("model %s (%.0f MiB of weights), %d threads of %d cores, median of %d\n",
              folder.c_str(), weights_mib, threads > 0 ? threads : cores, cores, repeats);
  table_header();
  row("model load, first", first_load_ms, "ms", "", 0, "");
  row("model load, warm page cache", load_ms, "ms", "", 0, "");
  row("load + first image embedding (packs weights)", first_image_ms, "ms",
      "load + image embedding, packed", load_ms + image_ms, "(<1: first-use cost)");
  row("image embedding, batch 1", image_ms, "ms", "GEMMs alone (model's shapes)", floor_ms,
      "of GEMM rate");
  std::printf("|   GEMM rate of the model's shapes: %.1f GFLOP/s (%.2f GFLOP per image)\n",
              floor.gflop() / floor_ms * 1e3, floor.gflop());
  row("image embedding, batch 8, per image", batch8_ms, "ms", "batch 1", image_ms, "x faster");
  if (peak_gflops > 0) {
    const auto percent = [&](double ms) { return 100.0 * floor.gflop() / ms * 1e3 / peak_gflops; };
    std::printf(
        "|   FMA peak of this CPU (%d threads, bench/fma_peak.h): %.1f GFLOP/s, %.1f ms an "
        "image at best; GEMMs alone at %.0f%%, batch 1 at %.0f%%, batch 8 at %.0f%% of it\n",
        threads > 0 ? threads : cores, peak_gflops, floor.gflop() / peak_gflops * 1e3,
        percent(floor_ms), percent(image_ms), percent(batch8_ms));
  }
  row("text embedding, 1 short prompt (7 tokens)", length_times[0], "ms", "", 0, "");
  row("text embedding, 1 long prompt (62 tokens)", length_times[1], "ms", "short prompt",
      length_times[0], "(<1: longer costs more)");
  row("text embedding, 100 labels (packed)", text_times[0], "ms", "one at a time", text_times[1],
      "x faster");
  row(("text embedding, " + std::to_string(label_count) + " labels (packed)").c_str(), text1000_ms,
      "ms", "", 0, "");
  std::printf("|   labels like \"%s\": %.1f tokens a prompt verbatim, %.1f with \"a photo of\"\n",
              labels1000.back().c_str(), verbatim_tokens, prompt_tokens);
  row("text embedding, 100 \"a photo of {label}\"", prompt_times[0], "ms", "", 0, "");
  row(("text embedding, " + std::to_string(label_count) + " \"a photo of {label}\"").c_str(),
      prompt_times[1], "ms", "", 0, "");
  row(("classify, " + std::to_string(label_count) + " labels, cold").c_str(), classify_cold_ms,
      "ms", "text GEMMs, every token", text_floor_ms, "x faster");
  std::printf("|   text GEMMs over every token: %.1f GFLOP at %.1f GFLOP/s\n", text_floor.gflop(),
              text_floor.gflop() / text_floor_ms * 1e3);
  row(("classify, " + std::to_string(label_count) + " labels, cached").c_str(), classify_times[0],
      "ms", "image embedding", classify_times[1], "");
  std::printf("|   classify with %d cached labels costs image embedding + %.2f ms\n", label_count,
              classify_times[0] - classify_times[1]);
  if (!quick) {
    const std::string n_labels = std::to_string(label_count) + " labels";
    row(("classify, " + n_labels + " x 80 templates, cold").c_str(), ensemble_times[1], "ms",
        ("1 template, " + n_labels + ", cold").c_str(), ensemble_times[0], "(next line)");
    const double ensemble_ratio = ensemble_times[1] / ensemble_times[0];
    std::printf(
        "|   80 templates cost %.1fx one template (%s: at most 80x); text-tower rows %.0f vs %.0f "
        "(%.1fx: the 80 templates' prompts are longer after the label)\n",
        ensemble_ratio, ensemble_ratio <= 80 ? "ok" : "OVER", rows80.shared, rows1.shared,
        rows80.shared / rows1.shared);
    std::printf(
        "|   per text-tower row the ensemble costs %.2fx what one template costs (<= 1: no "
        "overhead "
        "beyond the rows)\n",
        (ensemble_times[1] / rows80.shared) / (ensemble_times[0] / rows1.shared));
    row("  the same 80 templates, one classify each", ensemble_times[4], "ms", "the ensemble",
        ensemble_times[1], "");
    std::printf(
        "|   the ensemble costs %.2fx its 80 templates run one by one: %.1fx the mean one-template "
        "cost of its own templates (%s: at most 80x)\n",
        ensemble_times[1] / ensemble_times[4], 80 * ensemble_times[1] / ensemble_times[4],
        80 * ensemble_times[1] / ensemble_times[4] <= 80 ? "ok" : "OVER");
    row(("  " + std::to_string(labels_tenth.size()) + " labels x 80, label-major, prefix unshared")
            .c_str(),
        ensemble_times[3], "ms", "same prompts by template (classify)", ensemble_times[2],
        "(<1: sharing saves)");
    std::printf(
        "|   text-tower rows for %s x 80 templates: %.0f with each template's prefix run once, "
        "%.0f "
        "every token of every prompt (%.0f%% saved)\n",
        n_labels.c_str(), rows80.shared, rows80.every_token,
        100.0 * (1.0 - rows80.shared / rows80.every_token));
  }
  row("decode + preprocess 640x480 JPEG", decode_times[0], "ms", "", 0, "");
  row("decode + preprocess 1600x1200 JPEG", decode_times[1], "ms", "", 0, "");
  row("int8 image embedding, batch 1", int8_times[0], "ms", "fp32 image embedding", int8_times[1],
      "x faster");
  std::printf(
      "|   int8 vs fp32 on %d fixture images: min cosine %.4f (%s); top label kept on %d of "
      "%d images where fp32 leads by >= 0.05\n",
      images, min_cosine, worst.c_str(), kept, decided);
  row("peak RSS (load + classify 1 image, 2 labels)", rss_mib, "MiB", "", 0, "");
  std::printf("|   peak RSS is %.2fx the weights file (%.0f MiB)\n", rss_mib / weights_mib,
              weights_mib);

  if (!json_path.empty()) {
    nlohmann::json out = {{"model", folder},
                          {"threads", threads > 0 ? threads : cores},
                          {"repeats", repeats},
                          {"weights_mib", weights_mib},
                          {"load_first_ms", first_load_ms},
                          {"load_warm_ms", load_ms},
                          {"load_first_image_ms", first_image_ms},
                          {"image_b1_ms", image_ms},
                          {"image_b8_per_image_ms", batch8_ms},
                          {"image_gemm_floor_ms", floor_ms},
                          {"image_gflop", floor.gflop()},
                          {"fma_peak_gflops", peak_gflops},
                          {"text_short_prompt_ms", length_times[0]},
                          {"text_long_prompt_ms", length_times[1]},
                          {"text_100_labels_ms", text_times[0]},
                          {"text_100_labels_one_at_a_time_ms", text_times[1]},
                          {"text_labels_ms", text1000_ms},
                          {"text_100_prompts_ms", prompt_times[0]},
                          {"text_prompts_ms", prompt_times[1]},
                          {"label_count", label_count},
                          {"classify_labels_cold_ms", classify_cold_ms},
                          {"classify_labels_text_gemm_floor_ms", text_floor_ms},
                          {"classify_labels_cached_ms", classify_times[0]},
                          {"decode_preprocess_640x480_ms", decode_times[0]},
                          {"decode_preprocess_1600x1200_ms", decode_times[1]},
                          {"int8_image_b1_ms", int8_times[0]},
                          {"int8_fp32_image_b1_ms", int8_times[1]},
                          {"int8_min_cosine", min_cosine},
                          {"peak_rss_mib", rss_mib}};
    if (!quick) {
      out["ensemble_one_template_ms"] = ensemble_times[0];
      out["ensemble_80_templates_ms"] = ensemble_times[1];
      out["ensemble_templates_one_by_one_ms"] = ensemble_times[4];
    }
    std::ofstream file(json_path);
    file << out.dump(2) << "\n";
    if (!file) {
      std::fprintf(stderr, "model_bench: cannot write --json file %s\n", json_path.c_str());
      return 1;
    }
  }
  return 0;
}
