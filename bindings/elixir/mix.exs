defmodule Mix.Tasks.Compile.ZeroshotNif do
  @moduledoc """
  Builds the NIF (c_src/zeroshot_nif.c) with make: no hex package, no network. The C API comes
  from this checkout: `ZEROSHOT_C_LIB` names the folder of libzeroshot_c.so (default: the CMake
  build's `../../build/src/capi`), `ZEROSHOT_INCLUDE` the headers (default `../../include`).
  """
  use Mix.Task.Compiler

  @impl true
  def run(_args) do
    root = Path.expand("../..", __DIR__)
    lib = System.get_env("ZEROSHOT_C_LIB") || Path.join(root, "build/src/capi")
    include = System.get_env("ZEROSHOT_INCLUDE") || Path.join(root, "include")
    out = Path.join([Mix.Project.app_path(), "priv", "zeroshot_nif.so"])

    unless File.exists?(Path.join(lib, "libzeroshot_c.so")) do
      Mix.raise(
        "libzeroshot_c.so not found in #{lib}: build it (cmake --build build) " <>
          "or set ZEROSHOT_C_LIB"
      )
    end

    env = [{"ZEROSHOT_C_LIB", lib}, {"ZEROSHOT_INCLUDE", include}, {"NIF_OUT", out}]

    case System.cmd("make", ["-s", "-C", Path.join(__DIR__, "c_src")],
           env: env,
           stderr_to_stdout: true
         ) do
      {_, 0} -> {:ok, []}
      {output, _} -> Mix.raise("building the NIF failed:\n" <> output)
    end
  end
end

defmodule ZeroShot.MixProject do
  use Mix.Project

  def project do
    [
      app: :zeroshot,
      version: "0.1.0",
      elixir: "~> 1.14",
      compilers: [:zeroshot_nif] ++ Mix.compilers(),
      start_permanent: Mix.env() == :prod,
      deps: []
    ]
  end

  def application, do: [extra_applications: []]
end
