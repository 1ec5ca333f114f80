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
  std::string prompt_template = std::string(kDefaultTemplate);
  bool no_template = false;
  bool json = false;
  std::string image;                    // first positional
  std::vector<std::string> positional;  // the others: labels, or (batch mode) more images
  std::vector<std::string> labels;      // -l / --label
  std::string labels_file;              // --labels-file
  int batch = 8;
  bool quiet = false;
  BatchFlags batch_run;  // --shard, --output, --resume, --format (batch_output.h)
};

ClassifyOptions classify_options(const ClassifyFlags& flags) {
  ClassifyOptions options;
  if (flags.no_template)
    options.prompt_template.reset();
  else
    options.prompt_template = flags.prompt_template;
  return options;
}

CLI::App* add_common(CLI::App& app, const char* name, const char* description,
                     const std::shared_ptr<ClassifyFlags>& flags, bool batch) {
  auto* command = app.add_subcommand(name, description);
  flags->model.add_to(*command);
  auto* tmpl = command
                   ->add_option("--template", flags->prompt_template,
                                "Prompt around each label; must contain {label}")
                   ->capture_default_str();
  command->add_flag("--no-template", flags->no_template, "Use the labels verbatim as prompts")
      ->excludes(tmpl);
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  if (batch) {
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
      for (const auto& s : results[next_result++])
        scores.push_back({{"label", s.label}, {"score", s.score}});
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
      add_common(app, "classify", "Score every label for an image (softmax over the labels)",
                 classify_flags, /*batch=*/true);
  classify->footer(R"(Examples:
  zeroshot classify dog.jpg "a dog" "a cat" "a sports car"
  zeroshot classify --json --no-template photo.png "a diagram" "a photograph of a street"
  zeroshot classify --repo ./my-clip-folder --template "a satellite image of {label}" x.tif farm city
  zeroshot classify -l dog -l cat -l "sports car" photos/ extra.jpg @more.txt > results.jsonl
  zeroshot classify --labels-file labels.txt --threads 4 photos/

Text output: one line per label, best first: score, then label. JSON output:
  [{"label": "a dog", "score": 0.97}, ...]
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
      for (const auto& s : scores) out.push_back({{"label", s.label}, {"score", s.score}});
      print_json(out);
    } else {
      for (const auto& s : scores) std::printf("%.4f  %s\n", s.score, s.label.c_str());
    }
  });

  auto label_flags = std::make_shared<ClassifyFlags>();
  auto* label = add_common(app, "label", "Print the single best label for an image", label_flags,
                           /*batch=*/false);
  label->footer(R"(Examples:
  zeroshot label dog.jpg "a dog" "a cat"          # prints: a dog
  zeroshot label --json dog.jpg "a dog" "a cat"   # prints: {"label": "a dog"})");
  label->callback([label_flags] {
    auto scores = run_classify(*label_flags);
    if (label_flags->json)
      print_json({{"label", scores.front().label}});
    else
      std::printf("%s\n", scores.front().label.c_str());
  });
}

}  // namespace zeroshot::cli
