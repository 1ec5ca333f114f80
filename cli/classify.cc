// zeroshot classify / zeroshot label: score labels for an image, or (with -l/--label or
// --labels-file) for many images, streamed as JSON lines.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "batch_output.h"
#include "common.h"

namespace zeroshot::cli {
namespace {

namespace fs = std::filesystem;

struct ClassifyFlags {
  ModelFlags model;
  std::vector<std::string> templates;  // --template (repeatable); none = kDefaultTemplate
  std::string template_set;            // --templates NAME
  std::string templates_file;          // --templates-file
  bool no_template = false;
  bool json = false;
  bool raw = false;                     // --raw: logit and cosine too
  int top_k = 0;                        // --top-k; 0 = every label
  std::string image;                    // first positional
  std::vector<std::string> positional;  // the others: labels, or (batch mode) more images
  std::vector<std::string> labels;      // -l / --label
  std::string labels_file;              // --labels-file
  int batch = 8;
  bool quiet = false;
  BatchFlags batch_run;  // --shard, --output, --resume, --format (batch_output.h)
};

// The templates of --template, --templates and --templates-file, in that order (an ensemble when
// more than one); none given = the default template. A bad set name or file is a usage error.
ClassifyOptions classify_options(const ClassifyFlags& flags) {
  ClassifyOptions options;
  options.top_k = flags.top_k;
  if (flags.no_template) {
    options.prompt_template.reset();
    return options;
  }
  options.templates = flags.templates;
  try {
    if (!flags.template_set.empty()) {
      const auto set = template_set(flags.template_set);
      options.templates.insert(options.templates.end(), set.begin(), set.end());
    }
  } catch (const Error& e) {
    throw CLI::ValidationError("--templates", e.what());
  }
  try {
    if (!flags.templates_file.empty()) {
      const auto file = read_templates_file(flags.templates_file);
      options.templates.insert(options.templates.end(), file.begin(), file.end());
    }
  } catch (const Error& e) {
    throw CLI::ValidationError("--templates-file", e.what());
  }
  return options;
}

// One label's result: {"label", "score"}, with --raw also "logit" and "cosine".
nlohmann::json score_json(const LabelScore& s, bool raw) {
  nlohmann::json out = {{"label", s.label}, {"score", s.score}};
  if (raw) {
    out["logit"] = s.logit;
    out["cosine"] = s.cosine;
  }
  return out;
}

CLI::App* add_common(CLI::App& app, const char* name, const char* description,
                     const std::shared_ptr<ClassifyFlags>& flags, bool batch) {
  auto* command = app.add_subcommand(name, description);
  flags->model.add_to(*command);
  auto* tmpl = command
                   ->add_option("--template", flags->templates,
                                "Prompt around each label; must contain {label} (default \"" +
                                    std::string(kDefaultTemplate) +
                                    "\"). Repeat it for an ensemble: each label's text embedding "
                                    "is then the normalised mean over the templates")
                   ->allow_extra_args(false)
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::string names;
  for (const auto& name : template_set_names()) names += (names.empty() ? "" : ", ") + name;
  auto* set = command->add_option("--templates", flags->template_set,
                                  "A built-in template ensemble: " + names +
                                      " (OpenAI's ImageNet prompts); adds to --template");
  auto* file = command->add_option("--templates-file", flags->templates_file,
                                   "File with one template per line (each with {label}; blank "
                                   "lines and # lines skipped); adds to the ensemble");
  command->add_flag("--no-template", flags->no_template, "Use the labels verbatim as prompts")
      ->excludes(tmpl)
      ->excludes(set)
      ->excludes(file);
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  if (batch) {
    command->add_flag("--raw", flags->raw,
                      "Also print each label's logit (exp(logit_scale) * cosine, + logit_bias "
                      "for SigLIP) and cosine");
    command
        ->add_option("--top-k", flags->top_k,
                     "Print only the best K labels (scores are still computed over all labels)")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
              int k = 0;
              if (CLI::detail::lexical_cast(value, k) && k >= 1) return {};
              return "K must be a whole number of at least 1, got '" + value + "'";
            },
            "K>=1"));
    command
        ->add_option("-l,--label", flags->labels,
                     "A candidate label (repeatable); then every positional argument is an image, "
                     "a folder of images or @list.txt, and results stream as JSON lines")
        ->allow_extra_args(false)  // -l takes one value; repeat it for more
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    command->add_option("--labels-file", flags->labels_file,
                        "File with one label per line (as -l for each line)");
    command->add_option("--batch", flags->batch, "Images per pass through the model (with -l)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    command->add_flag("-q,--quiet", flags->quiet, "No progress bar or notes on stderr (with -l)");
    flags->batch_run.add_to(*command);
  }
  command->add_option("IMAGE", flags->image,
                      batch ? "Image file (with -l: an image, a folder or @list.txt)"
                            : "Image file (any format libvips reads)");
  command->add_option("LABEL", flags->positional,
                      batch ? "Candidate labels (with -l: more images, folders or @lists)"
                            : "Candidate labels (one or more)");
  return command;
}

// Usage checks of the single-image form, as CLI11 would report missing positionals.
void require_image_and_labels(const ClassifyFlags& flags) {
  if (flags.image.empty()) throw CLI::RequiredError("IMAGE");
  if (flags.positional.empty()) throw CLI::RequiredError("LABEL");
}

std::vector<LabelScore> run_classify(const ClassifyFlags& flags) {
  require_image_and_labels(flags);
  auto model = flags.model.load();
  auto image = Image::from_file(flags.image);
  return model.classify(image, flags.positional, classify_options(flags));
}

std::vector<std::string> batch_labels(const ClassifyFlags& flags) {
  std::vector<std::string> labels = flags.labels;
  if (!flags.labels_file.empty()) {
    std::ifstream in(flags.labels_file);
    if (!in) throw CLI::ValidationError("--labels-file", "cannot read " + flags.labels_file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) labels.push_back(line);
    }
  }
  if (labels.empty()) throw CLI::ValidationError("--label", "no labels given");
  return labels;
}

// One decoded image (or why it could not be), in input order.
struct Decoded {
  std::string path;
  std::optional<Image> image;
  std::optional<Error> error;
};

// Decodes on its own thread, a bounded number of images ahead of the model, so that decoding
// overlaps inference.
class Decoder {
 public:
  Decoder(std::vector<std::string> paths, std::size_t ahead)
      : paths_(std::move(paths)), ahead_(ahead), thread_([this] { run(); }) {}
  ~Decoder() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // The next image in order; nullopt after the last.
  std::optional<Decoded> next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) return std::nullopt;
    Decoded d = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return d;
  }
  // True if the next image is already decoded (or there are no more).
  bool has_ready() {
    std::lock_guard lock(mutex_);
    return !ready_.empty() || done_;
  }

 private:
  void run() {
    for (const std::string& path : paths_) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return ready_.size() < ahead_ || stop_; });
        if (stop_) return;
      }
      Decoded d{path, std::nullopt, std::nullopt};
      try {
        d.image = Image::from_file(path);
      } catch (const Error& e) {
        d.error = e;
      } catch (const std::exception& e) {
        d.error = Error(ErrorCode::kInternal, e.what());
      }
      {
        std::lock_guard lock(mutex_);
        ready_.push_back(std::move(d));
      }
      changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  std::vector<std::string> paths_;
  std::size_t ahead_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Decoded> ready_;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

// "  37/120 images  12.3/s" on stderr, redrawn in place; only on a terminal.
class ImageProgress {
 public:
  ImageProgress(bool enabled, std::size_t total)
      : enabled_(enabled), total_(total), start_(std::chrono::steady_clock::now()) {}
  ~ImageProgress() {
    if (drawn_) std::fputs("\n", stderr);
  }
  void update(std::size_t done) {
    if (!enabled_) return;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "\r%zu/%zu images  %.1f/s ", done, total_, s > 0 ? done / s : 0.0);
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  bool enabled_;
  std::size_t total_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

// Batch mode: JSON lines {"image": PATH, "results": [...]} or {"image": PATH, "error": {...}}
// in input order. Throws after the last image if any failed.
void run_batch(const ClassifyFlags& flags) {
  const auto labels = batch_labels(flags);
  std::vector<std::string> args;
  if (!flags.image.empty()) args.push_back(flags.image);
  args.insert(args.end(), flags.positional.begin(), flags.positional.end());
  if (args.empty()) throw CLI::RequiredError("IMAGE");
  ResultWriter writer(flags.batch_run, labels);
  auto paths = writer.pending(args, flags.quiet);
  const std::size_t total = paths.size();
  auto model = flags.model.load();
  const auto options = classify_options(flags);
  // Text embeddings first (computed once, then cached): a bad label fails before any image.
  model.classify_batch({}, labels, options);

  const auto batch_size = static_cast<std::size_t>(flags.batch);
  Decoder decoder(std::move(paths), 2 * batch_size);
  ImageProgress progress(!flags.quiet && ::isatty(STDERR_FILENO) != 0, total);
  std::size_t done = 0;
  std::size_t failed = 0;
  std::optional<ErrorCode> first_failure;
  auto print_line = [&writer](const nlohmann::json& line) { writer.write(line); };
  std::vector<Decoded> pending;
  for (;;) {
    // Take what is decoded (at least one image), up to a batch.
    pending.clear();
    while (pending.size() < batch_size && (pending.empty() || decoder.has_ready())) {
      auto d = decoder.next();
      if (!d) break;
      pending.push_back(std::move(*d));
    }
    if (pending.empty()) break;
    std::vector<Image> images;
    for (const auto& d : pending)
      if (d.image) images.push_back(*d.image);
    std::vector<std::vector<LabelScore>> results;
    std::optional<Error> batch_error;
    try {
      results = model.classify_batch(images, labels, options);
    } catch (const Error& e) {
      batch_error = e;
    }
    std::size_t next_result = 0;
    for (const auto& d : pending) {
      const std::optional<Error>& error = d.error ? d.error : batch_error;
      if (error) {
        ++failed;
        if (!first_failure) first_failure = error->code();
        print_line(
            {{"image", d.path},
             {"error", {{"code", error_code_name(error->code())}, {"message", error->what()}}}});
        continue;
      }
      nlohmann::json scores = nlohmann::json::array();
      for (const auto& s : results[next_result++]) scores.push_back(score_json(s, flags.raw));
      print_line({{"image", d.path}, {"results", std::move(scores)}});
    }
    writer.sync();
    done += pending.size();
    progress.update(done);
  }
  if (failed > 0) {
    // Reported like any other failure (exit code 1), after every other image was classified.
    throw Error(*first_failure, std::to_string(failed) + " of " + std::to_string(total) +
                                    " images failed (see their \"error\" lines)");
  }
}

}  // namespace

void add_classify_commands(CLI::App& app) {
  auto classify_flags = std::make_shared<ClassifyFlags>();
  auto* classify =
      add_common(app, "classify",
                 "Score every label for an image (CLIP: softmax over the labels; SigLIP: "
                 "independent sigmoid per label)",
                 classify_flags, /*batch=*/true);
  classify->footer(R"(Examples:
  zeroshot classify dog.jpg "a dog" "a cat" "a sports car"
  zeroshot classify --json --no-template photo.png "a diagram" "a photograph of a street"
  zeroshot classify --repo ./my-clip-folder --template "a satellite image of {label}" x.tif farm city
  zeroshot classify --templates openai-imagenet-80 --top-k 5 dog.jpg dog cat horse cow sheep fox
  zeroshot classify --template "a photo of {label}" --template "a drawing of {label}" x.png dog cat
  zeroshot classify --raw --json dog.jpg "a dog" "a cat"
  zeroshot classify -l dog -l cat -l "sports car" photos/ extra.jpg @more.txt > results.jsonl
  zeroshot classify --labels-file labels.txt --threads 4 photos/

Scores: CLIP's are the softmax of the logits over the given labels (they sum to 1); SigLIP's are
each label's own sigmoid(logit), as Hugging Face's pipeline gives them: independent, not summing to
1 (a label's score does not change when other labels are added). Both are sorted best first.
Text output: one line per label, best first: score, then label (with --raw: score, logit, cosine,
label). JSON output:
  [{"label": "a dog", "score": 0.97}, ...]
  [{"label": "a dog", "score": 0.97, "logit": 25.1, "cosine": 0.251}, ...]   (--raw)
Ensembles: --template (repeatable), --templates NAME and --templates-file F add up to one list of
templates; a label's text embedding is the L2-normalised mean of its prompts' normalised
embeddings (OpenAI's prompt ensembling), then scored as with one template. Built-in sets:
openai-imagenet-80 (the CLIP paper's 80 ImageNet templates) and openai-imagenet-7 (the 7 that
OpenAI's forward selection kept). --top-k K prints the best K; their scores are still the ones
computed over every label.
With -l/--label or --labels-file every positional argument is an image, a folder (its image files,
sorted) or @FILE (one path per line); one JSON line per image, in order:
  {"image": "a.jpg", "results": [{"label": "dog", "score": 0.97}, ...]}
  {"image": "b.jpg", "error": {"code": "image_decode", "message": "..."}}
Images are decoded ahead on another thread and run through the model in batches (--batch); the
labels' text embeddings are computed once. Exit code 1 if any image failed (the others are still
classified).

Large runs (docs/BATCH.md): --shard I/N takes a fixed share of the inputs (by a hash of each path,
so adding files moves no other file; the N shards together are every input once), by default from
a Slurm job array (SLURM_ARRAY_TASK_ID/COUNT) or, with --shards N, a Kubernetes Indexed Job
(JOB_COMPLETION_INDEX). --output FILE appends whole lines, synced after each batch; after a
crash or kill, the same command with --resume skips the images FILE has and redoes a torn line.
--format csv writes "image,label,score,error" (best label) and one score column per label.
  zeroshot classify -l cat -l dog --shard 2/8 --output part-2.jsonl --resume /data/photos/
  zeroshot classify -l cat -l dog --format csv --output results.csv photos/)");
  classify->callback([classify_flags] {
    const ClassifyFlags& flags = *classify_flags;
    if (!flags.labels.empty() || !flags.labels_file.empty()) {
      run_batch(flags);
      return;
    }
    flags.batch_run.reject_unless_batch("-l/--label or --labels-file");
    auto scores = run_classify(flags);
    if (flags.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : scores) out.push_back(score_json(s, flags.raw));
      print_json(out);
    } else if (flags.raw) {
      for (const auto& s : scores)
        std::printf("%.4f  %8.4f  %7.4f  %s\n", s.score, s.logit, s.cosine, s.label.c_str());
    } else {
      for (const auto& s : scores) std::printf("%.4f  %s\n", s.score, s.label.c_str());
    }
  });

  auto label_flags = std::make_shared<ClassifyFlags>();
  auto* label = add_common(app, "label", "Print the single best label for an image", label_flags,
                           /*batch=*/false);
  label->footer(R"(Examples:
  zeroshot label dog.jpg "a dog" "a cat"          # prints: a dog
  zeroshot label --json dog.jpg "a dog" "a cat"   # prints: {"label": "a dog"}
  zeroshot label --templates openai-imagenet-7 dog.jpg dog cat horse
Templates and ensembles as in 'zeroshot classify --help'.)");
  label->callback([label_flags] {
    auto scores = run_classify(*label_flags);
    if (label_flags->json)
      print_json({{"label", scores.front().label}});
    else
      std::printf("%s\n", scores.front().label.c_str());
  });
}

}  // namespace zeroshot::cli
