// zeroshot classify / zeroshot label: score labels for an image, or (with -l/--label or
// --labels-file) for many images, streamed as JSON lines.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>

#include "batch_output.h"
#include "batch_runner.h"
#include "common.h"
#include "common/result_json.h"

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
  std::string db;                       // --db: the images of an index instead of files
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

CLI::App* add_common(CLI::App& app, const char* name, const char* description,
                     const std::shared_ptr<ClassifyFlags>& flags, bool batch) {
  auto* command = app.add_subcommand(name, description);
  flags->model.add_to(*command);
  flags->model.add_decode_to(*command);
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
    command->add_option("--db", flags->db,
                        "With -l: classify every image of this index (zeroshot index) from its "
                        "stored vectors, decoding none; the model defaults to the index's");
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
  auto image = Image::from_file(flags.image, flags.model.decode_options(model));
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

// classify -l: scores of each batch of images against the prepared labels, as JSON lines (or CSV
// rows: ResultWriter) {"image": PATH, "results": [...]} or {"image": PATH, "error": {...}}.
class ClassifyJob : public BatchJob {
 public:
  ClassifyJob(const Model& model, const LabelSet& labels, int top_k, bool raw, ResultWriter& writer)
      : model_(model), labels_(labels), top_k_(top_k), raw_(raw), writer_(writer) {}
  void compute(std::span<const Image> images) override {
    results_ = model_.classify_batch(images, labels_, top_k_);
  }
  void write_row(const std::string& path, std::size_t index) override {
    nlohmann::json scores = nlohmann::json::array();
    for (const auto& s : results_[index]) scores.push_back(common::score_json(s, raw_));
    writer_.write({{"image", path}, {"results", std::move(scores)}});
  }
  void write_error(const std::string& path, const Error& error) override {
    writer_.write(common::image_error_line(path, error));
  }
  void sync() override { writer_.sync(); }

 private:
  const Model& model_;
  const LabelSet& labels_;
  int top_k_;
  bool raw_;
  ResultWriter& writer_;
  std::vector<std::vector<LabelScore>> results_;
};

// Batch mode (batch_runner.h): throws after the last image if any failed.
void run_classify_batch(const ClassifyFlags& flags) {
  const auto labels = batch_labels(flags);
  std::vector<std::string> args;
  if (!flags.image.empty()) args.push_back(flags.image);
  args.insert(args.end(), flags.positional.begin(), flags.positional.end());
  if (args.empty()) throw CLI::RequiredError("IMAGE");
  ResultWriter writer(flags.batch_run, labels);
  const auto paths = pending_inputs(args, writer.shard(), writer.resumed(), flags.quiet);
  auto model = flags.model.load();
  const auto options = classify_options(flags);
  // Text embeddings once, first: a bad label fails before any image.
  const LabelSet prepared = model.prepare_labels(labels, options);
  ClassifyJob job(model, prepared, options.top_k, flags.raw, writer);
  run_batch(paths, job,
            {.batch = static_cast<std::size_t>(flags.batch),
             .quiet = flags.quiet,
             .decode = flags.model.decode_options(model)});
}

// classify --db: the JSON lines of classify -l for every indexed image (sorted by path), from the
// stored vectors.
void run_classify_db(ClassifyFlags& flags, const CLI::App& command) {
  if (!flags.image.empty() || !flags.positional.empty())
    throw CLI::ValidationError("--db", "give no images with --db: the index's images are used");
  if (flags.labels.empty() && flags.labels_file.empty())
    throw CLI::ValidationError("--db", "--db needs the labels as -l/--label or --labels-file");
  flags.batch_run.reject_unless_batch("image inputs (--db prints JSON lines on stdout)");
  const auto labels = batch_labels(flags);
  flags.model.default_to_index(command, Index::read_info(flags.db));
  auto model = flags.model.load();
  auto index = Index::open(flags.db, model, IndexMode::kRead, flags.model.index_model());
  const auto options = classify_options(flags);
  const LabelSet prepared = model.prepare_labels(labels, options);
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  for (const auto& image : index.classify(prepared, options.top_k)) {
    nlohmann::json scores = nlohmann::json::array();
    for (const auto& s : image.scores) scores.push_back(common::score_json(s, flags.raw));
    const nlohmann::json line = {{"image", image.path}, {"results", std::move(scores)}};
    std::fputs((line.dump(-1, ' ', false, kReplace) + "\n").c_str(), stdout);
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
  zeroshot classify --db photos.db -l dog -l cat -l "sports car" > results.jsonl

Scores: CLIP's are the softmax of the logits over the given labels (they sum to 1); SigLIP's are
each label's own sigmoid(logit), as Hugging Face's pipeline gives them: independent, not summing to
1 (a label's score does not change when other labels are added). Both are sorted best first.
SigLIP 2 (a tokenizer.json in the folder) does not lowercase labels, as Hugging Face's pipeline;
its model card asks for lowercase labels, so write them in lowercase.
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
With --db FILE (an index made by zeroshot index) and -l/--labels-file, no image is given or
decoded: every indexed image is scored from its stored vector, one line per image sorted by path,
the same lines (and scores) as classify -l gives those files. Images the index recorded as failed
are left out (zeroshot index lists them).

Large runs (docs/BATCH.md): --shard I/N takes a fixed share of the inputs (by a hash of each path,
so adding files moves no other file; the N shards together are every input once), by default from
a Slurm job array (SLURM_ARRAY_TASK_ID/COUNT) or, with --shards N, a Kubernetes Indexed Job
(JOB_COMPLETION_INDEX). --output FILE appends whole lines, synced after each batch; after a
crash or kill, the same command with --resume skips the images FILE has and redoes a torn line.
--format csv writes "image,label,score,error" (best label) and one score column per label.
  zeroshot classify -l cat -l dog --shard 2/8 --output part-2.jsonl --resume /data/photos/
  zeroshot classify -l cat -l dog --format csv --output results.csv photos/)");
  classify->callback([classify_flags, classify] {
    ClassifyFlags& flags = *classify_flags;
    if (!flags.db.empty()) {
      run_classify_db(flags, *classify);
      return;
    }
    if (!flags.labels.empty() || !flags.labels_file.empty()) {
      run_with_passive_waits();
      run_classify_batch(flags);
      return;
    }
    flags.batch_run.reject_unless_batch("-l/--label or --labels-file");
    auto scores = run_classify(flags);
    if (flags.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : scores) out.push_back(common::score_json(s, flags.raw));
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
