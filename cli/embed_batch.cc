#include "embed_batch.h"

#include <memory>
#include <optional>
#include <span>

#include "batch_runner.h"
#include "common/result_json.h"
#include "npy_output.h"

namespace zeroshot::cli {
namespace {

std::string stem(const std::string& path) {
  const std::string ext = ".npy";
  if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
    return path.substr(0, path.size() - ext.size());
  return path;
}

std::optional<std::string> json_image_key(std::string_view record) {
  auto line = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (!line.is_object() || !line.contains("image") || !line["image"].is_string())
    return std::nullopt;
  return line["image"].get<std::string>();
}

RecordFile::Options record_options(
    const std::string& path, bool resume,
    std::function<std::optional<std::string>(std::string_view)> key_of) {
  RecordFile::Options options;
  options.path = path;
  options.resume = resume;
  options.key_of = std::move(key_of);
  return options;
}

std::string dump(const nlohmann::ordered_json& line) {
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// embed IMAGES: the embeddings of each batch, as JSON lines {"image", "embedding"} ("image"
// first: nlohmann::ordered_json keeps the keys in the order written), or .npy rows with an index
// line each; failures as {"image", "error"} lines (in the errors file for .npy).
class EmbedJob : public BatchJob {
 public:
  EmbedJob(const Model& model, bool npy, NpyRows* rows, RecordFile& index, RecordFile* errors)
      : model_(model), npy_(npy), rows_(rows), index_(index), errors_(errors) {}
  std::optional<Error> refuse(const std::string& path) const override {
    if (npy_ && path.find('\n') != std::string::npos) {
      return Error(ErrorCode::kInvalidArgument,
                   "a path with a newline cannot be a line of the .paths.txt index");
    }
    return std::nullopt;
  }
  void compute(std::span<const Image> images) override {
    embeddings_ = model_.embed_images(images);
  }
  void write_row(const std::string& path, std::size_t i) override {
    if (npy_) {
      rows_->append(embeddings_[i]);  // the row first, then its index line (see run_embed_batch)
      index_.append(path);
    } else {
      index_.append(dump(nlohmann::ordered_json{{"image", path}, {"embedding", embeddings_[i]}}));
    }
  }
  void write_error(const std::string& path, const Error& error) override {
    (errors_ != nullptr ? *errors_ : index_)
        .append(dump(common::image_error_line<nlohmann::ordered_json>(path, error)));
  }
  void sync() override {
    if (rows_ != nullptr) rows_->sync();
    index_.sync();
    if (errors_ != nullptr) errors_->sync();
  }

 private:
  const Model& model_;
  bool npy_;
  NpyRows* rows_;
  RecordFile& index_;
  RecordFile* errors_;
  std::vector<std::vector<float>> embeddings_;
};

}  // namespace

std::string npy_index_path(const std::string& npy_path) { return stem(npy_path) + ".paths.txt"; }
std::string npy_errors_path(const std::string& npy_path) {
  return stem(npy_path) + ".errors.jsonl";
}

void EmbedBatchFlags::add_to(CLI::App& command) {
  command.add_option("IMAGES", inputs,
                     "Images, folders of images or @list.txt to embed as a batch run (instead of "
                     "--image/--text)");
  shard.add_to(command);
  output.add_to(command,
                "Write to FILE instead of stdout (jsonl: whole lines; npy: F.npy with "
                "F.paths.txt and F.errors.jsonl); an existing non-empty FILE needs --resume");
  command
      .add_option(
          "--format", format,
          "For IMAGES: jsonl ({\"image\", \"embedding\"} per line) or npy (float32 [n, dim] "
          "with an index of paths; needs --output)")
      ->check(CLI::IsMember({"jsonl", "npy"}))
      ->capture_default_str();
  command.add_option("--batch", batch, "Images per pass through the model (with IMAGES)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_flag("-q,--quiet", quiet,
                   "No progress line or notes on stderr about shards and resuming");
}

void EmbedBatchFlags::reject_unless_batch() const {
  reject_batch_flags(shard, output, format, "IMAGES (images, folders or @lists)");
}

void run_embed_batch(const EmbedBatchFlags& flags, const Model& model,
                     const DecodeOptions& decode) {
  flags.output.check();
  const bool npy = flags.format == "npy";
  if (npy && flags.output.output.empty())
    throw CLI::ValidationError("--format", "npy needs --output FILE.npy (it is binary)");
  const bool resume = flags.output.resume;
  const auto shard = flags.shard.resolve();

  // Outputs, recovered to a consistent state when resuming: the .npy rows and the index lines
  // are cut to the shorter of the two (a kill between a row and its index line leaves one more
  // row), then both grow row by row.
  std::unique_ptr<NpyRows> rows;
  std::unique_ptr<RecordFile> index;  // npy: the path of each row; jsonl: the results
  std::unique_ptr<RecordFile> errors;
  if (npy) {
    rows = std::make_unique<NpyRows>(
        flags.output.output, static_cast<std::uint64_t>(model.embedding_dim()), resume, "--output");
    index = std::make_unique<RecordFile>(
        record_options(npy_index_path(flags.output.output), resume,
                       [](std::string_view r) { return std::optional<std::string>(r); }));
    errors = std::make_unique<RecordFile>(
        record_options(npy_errors_path(flags.output.output), resume, json_image_key));
    const std::uint64_t kept = std::min<std::uint64_t>(rows->rows(), index->recorded());
    index->keep_first(static_cast<std::size_t>(kept));
    rows->keep_first(kept);
  } else {
    index =
        std::make_unique<RecordFile>(record_options(flags.output.output, resume, json_image_key));
  }
  const auto done = [&](const std::string& path) {
    return index->has(path) || (errors && errors->has(path));
  };

  std::optional<Resumed> resumed;
  if (resume) {
    resumed =
        Resumed{.file = flags.output.output,
                .has = done,
                .torn = index->truncated_bytes() > 0 || (errors && errors->truncated_bytes() > 0)};
  }
  const auto todo = pending_inputs(flags.inputs, shard, resumed, flags.quiet);

  EmbedJob job(model, npy, rows.get(), *index, errors.get());
  run_batch(
      todo, job,
      {.batch = static_cast<std::size_t>(flags.batch), .quiet = flags.quiet, .decode = decode});
}

}  // namespace zeroshot::cli
