# One image for every gridshift component; the command picks the role:
#   docker run IMAGE exporter --config /etc/gridshift/exporter.yaml
#   docker run IMAGE actions --config ...   |   IMAGE power-exporter --config ...
# Stage 1 builds gridshift as a wheel and installs it with its dependencies into a venv;
# stage 2 is the same slim Python with only that venv: no compiler, no pip cache, no sources.
# (Not built in the project's own CI, which has no container engine: see docs/helm.md.)

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gridshift/ gridshift/
COPY exporters/ exporters/
COPY actions/ actions/
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/gridshift \
 && /opt/gridshift/bin/pip install /wheels/gridshift-*.whl \
 && /opt/gridshift/bin/pip uninstall --yes pip \
 && /opt/gridshift/bin/gridshift --version

FROM ${PYTHON_IMAGE}
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
