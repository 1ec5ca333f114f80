# zeroshot (CLI and `zeroshot serve`) on debian:bookworm-slim. Two stages: the build stage
# installs the build dependencies (the library part of scripts/install-deps.sh) and builds without
# tests and benchmarks; the runtime stage holds the binary, the library and their runtime
# packages only.
#   docker build -t zeroshot:latest .
#   docker run --rm -p 8080:8080 -v hf:/hf -e HF_HOME=/hf zeroshot:latest serve --host 0.0.0.0
FROM debian:bookworm-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libvips-dev nlohmann-json3-dev libcurl4-openssl-dev libutf8proc-dev libcli11-dev \
      libcpp-httplib-dev libdnnl-dev ocl-icd-opencl-dev libsqlite3-dev libhnswlib-dev \
      libsentencepiece-dev libxxhash-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEROSHOT_BUILD_TESTS=OFF \
      -DZEROSHOT_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/usr/local \
    && cmake --build /build \
    && cmake --install /build

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libvips42 libcurl4 libutf8proc2 libdnnl2 libcpp-httplib0.11 libgomp1 \
      ocl-icd-libopencl1 libsqlite3-0 libsentencepiece0 libxxhash0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin zeroshot
COPY --from=build /usr/local/bin/zeroshot /usr/local/bin/zeroshot
COPY --from=build /usr/local/lib/ /usr/local/lib/
RUN ldconfig
USER 10001
EXPOSE 8080
ENTRYPOINT ["zeroshot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
