#include "embed_batch.h"

#include <cstdio>
#include <memory>
#include <optional>

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

// "image" first: nlohmann::ordered_json keeps the keys in the order written.
nlohmann::ordered_json error_line(const std::string& path, const Error& error) {
  return {{"image", path},
          {"error", {{"code", error_code_name(error.code())}, {"message", error.what()}}}};
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
  command.add_flag("-q,--quiet", quiet, "No notes on stderr about shards and resuming");
}

void EmbedBatchFlags::reject_unless_batch() const {
  reject_batch_flags(shard, output, format, "IMAGES (images, folders or @lists)");
}

void run_embed_batch(const EmbedBatchFlags& flags, const Model& model) {
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

  const auto all = expand_inputs(flags.inputs);
  const auto mine = select_shard(all, shard);
  note_shard(shard, mine.size(), all.size(), flags.quiet);
  std::vector<std::string> todo;
  for (const auto& path : mine)
    if (!done(path)) todo.push_back(path);
  if (resume && !flags.quiet) {
    std::fprintf(stderr, "zeroshot: resuming %s: %zu of %zu images already there, %zu to do\n",
                 flags.output.output.c_str(), mine.size() - todo.size(), mine.size(), todo.size());
  }

  std::size_t failed = 0;
  std::optional<ErrorCode> first_failure;
  const auto fail = [&](const std::string& path, const Error& error) {
    ++failed;
    if (!first_failure) first_failure = error.code();
    (errors ? errors : index)->append(dump(error_line(path, error)));
  };
  const auto batch = static_cast<std::size_t>(flags.batch);
  for (std::size_t start = 0; start < todo.size(); start += batch) {
    // This batch's images, in order, each decoded or with the error that stopped it.
    std::vector<std::string> paths(
        todo.begin() + static_cast<std::ptrdiff_t>(start),
        todo.begin() + static_cast<std::ptrdiff_t>(std::min(todo.size(), start + batch)));
    std::vector<std::optional<Error>> failures(paths.size());
    std::vector<Image> images;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      try {
        if (npy && paths[i].find('\n') != std::string::npos) {
          throw Error(ErrorCode::kInvalidArgument,
                      "a path with a newline cannot be a line of the .paths.txt index");
        }
        images.push_back(Image::from_file(paths[i]));
      } catch (const Error& e) {
        failures[i] = e;
      }
    }
    std::vector<std::vector<float>> embeddings;
    try {
      embeddings = model.embed_images(images);
    } catch (const Error& e) {
      for (auto& f : failures)
        if (!f) f = e;
    }
    // Written in input order, so that a resumed run's file is the uninterrupted run's file.
    std::size_t next = 0;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (failures[i]) {
        fail(paths[i], *failures[i]);
      } else if (npy) {
        rows->append(embeddings[next++]);  // the row first, then its index line (see above)
        index->append(paths[i]);
      } else {
        index->append(
            dump(nlohmann::ordered_json{{"image", paths[i]}, {"embedding", embeddings[next++]}}));
      }
    }
    if (rows) rows->sync();
    index->sync();
    if (errors) errors->sync();
  }
  if (failed > 0) {
    throw Error(*first_failure, std::to_string(failed) + " of " + std::to_string(todo.size()) +
                                    " images failed (see their \"error\" lines)");
  }
}

}  // namespace zeroshot::cli
