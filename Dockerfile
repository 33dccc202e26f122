# One image for every gridshift component; the command picks the role:
#   docker run IMAGE exporter --config /etc/gridshift/exporter.yaml
#   docker run IMAGE actions --config ...   |   IMAGE power-exporter --config ...
# Stage 1 installs the locked dependency set (requirements/runtime.lock: every package pinned
# with its hashes, binary wheels only) and gridshift's own wheel into a venv; stage 2 is the same
# slim Python with only that venv: no compiler, no pip, no wheels, no cache, no sources.
# (Not built in the project's own CI, which has no container engine: see docs/helm.md "The image".)
#
# Build with the labels filled in:
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg SOURCE=https://example.org/your/gridshift.git --tag gridshift:0.1.0 .

# BASE IMAGE NOT YET PINNED BY DIGEST: the registry could not be reached where this file was
# written, and a digest is never guessed. Pin it before you publish an image: resolve the tag
# (`docker buildx imagetools inspect python:3.11-slim`, the "Digest:" line of the index) and
# build with --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<that digest>, or write it here.
# Both stages use this one reference, so the venv's interpreter is the runtime's.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The dependencies first (their layer is reused while the lock is unchanged): exactly the lock,
# nothing resolved at build time (--no-deps), every file checked against its hash.
COPY requirements/runtime.lock requirements/build.lock requirements/
RUN python -m venv /opt/gridshift \
 && /opt/gridshift/bin/pip install --require-hashes --no-deps --only-binary :all: -r requirements/runtime.lock \
 && python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --no-deps --only-binary :all: -r requirements/build.lock
COPY pyproject.toml README.md ./
COPY gridshift/ gridshift/
COPY exporters/ exporters/
COPY actions/ actions/
# gridshift's wheel with the locked setuptools (no build isolation: nothing fetched unpinned);
# installed without its dependencies, which the lock has put there: pip check proves they fit.
# Then the slimming measured in docs/benchmarks.md "Image": the test suites numpy, scipy and
# pandas ship (never imported at run time) go; the bytecode stays (a read-only root filesystem
# could never cache it, and compiling at every start costs seconds).
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/gridshift/bin/pip install --no-deps --no-index /wheels/gridshift-*.whl \
 && /opt/gridshift/bin/pip check \
 && find /opt/gridshift/lib/python3.*/site-packages/numpy /opt/gridshift/lib/python3.*/site-packages/scipy \
         /opt/gridshift/lib/python3.*/site-packages/pandas -type d -name tests -prune -exec rm -rf {} + \
 && /opt/gridshift/bin/pip uninstall --yes pip \
 && /opt/gridshift/bin/gridshift --version

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="gridshift" \
      org.opencontainers.image.description="Carbon-aware Kubernetes: grid carbon-intensity and namespace power exporters, and an action service that holds opted-in workloads while the grid is dirty" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
# A fixed numeric user, so Kubernetes' runAsNonRoot can verify it (the chart runs it as 10001).
RUN groupadd --system --gid 10001 gridshift \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin gridshift
COPY --from=builder /opt/gridshift /opt/gridshift
ENV PATH=/opt/gridshift/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
# exporter 9500, power-exporter 9501, actions 9600
EXPOSE 9500 9501 9600
ENTRYPOINT ["gridshift"]
CMD ["--help"]
