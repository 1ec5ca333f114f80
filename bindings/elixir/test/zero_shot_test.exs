defmodule ZeroShotTest do
  # ZeroShot against the CLI (`zeroshot ... --json` on the fixture model, run here): the same
  # numbers to 1e-6, templates (default, custom, nil), paths, bytes and RGB pixels, errors and
  # many processes on the one shared model. test/run.sh sets the environment.
  use ExUnit.Case, async: true

  @fixtures System.fetch_env!("ZEROSHOT_FIXTURES")
  @cli System.fetch_env!("ZEROSHOT_CLI")
  @model Path.join(@fixtures, "models/tiny-clip")
  @labels ["a dog", "a cat", "a horse", "a red square"]

  defp image(name), do: Path.join([@fixtures, "images", name])

  defp cli(args) do
    {out, 0} = System.cmd(@cli, args ++ ["--repo", @model])
    out
  end

  # `classify --json` is [{"label":"..","score":x},...] (keys sorted, no spaces).
  defp cli_scores(args) do
    Regex.scan(~r/"label":"([^"]*)","score":([-0-9.eE+]+)/, cli(["classify", "--json" | args]))
    |> Enum.map(fn [_, label, score] -> %{label: label, score: parse_float(score)} end)
  end

  defp parse_float(text) do
    {value, ""} = Float.parse(text)
    value
  end

  defp assert_same(got, want) do
    assert Enum.map(got, & &1.label) == Enum.map(want, & &1.label)
    assert length(want) > 0

    for {g, w} <- Enum.zip(got, want),
        do: assert(abs(g.score - w.score) <= 1.0e-6, "#{g.label}: #{g.score} vs #{w.score}")
  end

  test "classify with the default template gives the CLI's scores" do
    for name <- ["scene_640x480.png", "odd_225x301.png", "scene_640x480_q92.jpg"] do
      want = cli_scores([image(name) | @labels])
      got = ZeroShot.classify(image(name), @labels, repo: @model)
      assert_same(got, want)
      assert_in_delta Enum.sum(Enum.map(got, & &1.score)), 1.0, 1.0e-5
    end
  end

  test "template: nil uses the labels verbatim, a custom template wraps them" do
    want = cli_scores(["--no-template", image("scene_640x480.png") | @labels])

    assert_same(
      ZeroShot.classify(image("scene_640x480.png"), @labels, repo: @model, template: nil),
      want
    )

    want = cli_scores(["--template", "art of {label}", image("small_100x80.png") | @labels])

    got =
      ZeroShot.classify(image("small_100x80.png"), @labels,
        repo: @model,
        template: "art of {label}"
      )

    assert_same(got, want)
  end

  test "label is the CLI's label" do
    for name <- ["scene_640x480.png", "small_100x80.png"] do
      [_, want] =
        Regex.run(~r/"label":"([^"]*)"/, cli(["label", "--json", image(name) | @labels]))

      assert ZeroShot.label(image(name), @labels, repo: @model) == want
    end
  end

  test "similarity is the CLI's similarity, in [-1, 1]" do
    a = image("scene_640x480.png")
    b = image("small_100x80.png")
    [_, want] = Regex.run(~r/"similarity":([-0-9.eE+]+)/, cli(["similarity", "--json", a, b]))
    got = ZeroShot.similarity(a, b, repo: @model)
    assert is_float(got) and got >= -1.0 and got <= 1.0
    assert abs(got - parse_float(want)) <= 1.0e-6
  end

  test "encoded bytes and RGB pixels give the path's results" do
    path = image("scene_640x480.png")
    want = ZeroShot.classify(path, @labels, repo: @model)
    assert ZeroShot.classify(File.read!(path), @labels, repo: @model) == want

    # 2x1 pixels as a PPM file and as {:rgb, ...}
    pixels = <<255, 0, 0, 0, 0, 255>>
    ppm = Path.join(System.tmp_dir!(), "zeroshot_ex_#{System.unique_integer([:positive])}.ppm")
    File.write!(ppm, "P6\n2 1\n255\n" <> pixels)
    from_file = ZeroShot.classify(ppm, @labels, repo: @model)
    File.rm!(ppm)
    assert ZeroShot.classify({:rgb, 2, 1, pixels}, @labels, repo: @model) == from_file
  end

  test "a bad image raises ZeroShot.Error with a code, and the model still works" do
    error =
      assert_raise ZeroShot.Error, fn ->
        ZeroShot.classify(<<0, 1, 2, 3, 255>> <> "not an image", @labels, repo: @model)
      end

    assert error.code == :image_decode and error.message != ""

    error =
      assert_raise ZeroShot.Error, fn ->
        ZeroShot.classify(image("does-not-exist.png"), @labels, repo: @model)
      end

    assert error.code == :image_read and error.message =~ "does-not-exist.png"
    assert ZeroShot.label(image("small_100x80.png"), @labels, repo: @model) in @labels
  end

  test "bad arguments raise ArgumentError or ZeroShot.Error" do
    assert_raise ArgumentError, fn -> ZeroShot.classify(42, @labels, repo: @model) end

    assert_raise ArgumentError, fn ->
      ZeroShot.classify(image("small_100x80.png"), "a dog", repo: @model)
    end

    assert_raise ArgumentError, fn ->
      ZeroShot.classify(image("small_100x80.png"), [:dog], repo: @model)
    end

    assert_raise ArgumentError, fn ->
      ZeroShot.classify({:rgb, 2, 2, <<1, 2, 3>>}, @labels, repo: @model)
    end

    assert_raise ArgumentError, fn ->
      ZeroShot.classify(image("small_100x80.png"), @labels, repo: @model, template: 5)
    end

    error =
      assert_raise ZeroShot.Error, fn ->
        ZeroShot.classify(image("small_100x80.png"), @labels,
          repo: @model,
          template: "no placeholder"
        )
      end

    assert error.code == :invalid_argument and error.message =~ "{label}"

    assert_raise ZeroShot.Error, fn ->
      ZeroShot.classify(image("small_100x80.png"), [], repo: @model)
    end

    error =
      assert_raise ZeroShot.Error, fn ->
        ZeroShot.label(image("small_100x80.png"), @labels, repo: "/nonexistent/model")
      end

    assert error.code == :model_not_found
  end

  test "one shared model per repo; label embeddings come from its cache" do
    labels = ["a cached label #{System.unique_integer([:positive])}", "another cached label"]
    ZeroShot.classify(image("small_100x80.png"), labels, repo: @model, template: nil)
    {hits, misses} = ZeroShot.text_cache_stats(repo: @model)
    ZeroShot.classify(image("scene_640x480.png"), labels, repo: @model, template: nil)
    {hits2, misses2} = ZeroShot.text_cache_stats(repo: @model)
    assert misses2 == misses
    assert hits2 >= hits + 2
  end

  test "many processes on one model at once get the serial results" do
    names = ["scene_640x480.png", "small_100x80.png", "odd_225x301.png"]
    want = Map.new(names, fn n -> {n, ZeroShot.classify(image(n), @labels, repo: @model)} end)

    results =
      1..12
      |> Task.async_stream(
        fn k ->
          n = Enum.at(names, rem(k, 3))
          {n, ZeroShot.classify(image(n), @labels, repo: @model)}
        end,
        max_concurrency: 6,
        timeout: 120_000
      )
      |> Enum.map(fn {:ok, result} -> result end)

    for {n, got} <- results, do: assert(got == want[n])
  end

  test "the seed's defaults" do
    assert ZeroShot.version() =~ ~r/^\d+\.\d+\.\d+$/
    # the default repo is the seed's: asking for it without the network names it in the error
    # (or loads it when it is in the Hugging Face cache)
    System.put_env("HF_HUB_OFFLINE", "1")

    try do
      ZeroShot.classify(image("small_100x80.png"), @labels)
    rescue
      e in ZeroShot.Error -> assert e.message =~ "openai/clip-vit-base-patch32"
    end
  end
end
