# syntax=docker/dockerfile:1
# The scanner daemon's image: `docker build -t scanner .`, then run `scanner serve`.
#
# Two stages. "build" makes a virtual environment in /opt/scanner with the pinned runtime
# dependencies (deploy/image/requirements.txt, from `python deploy/image/lock.py`) and the
# project's wheel, built by pip with its isolated build backend. The final stage copies only that
# environment: no pip, no wheel cache, no compiler, no source tree.
#
# Read-only root filesystem: nothing is written outside /var/lib/scanner, the state volume
# (the working directory, so the default `state.path: scanner-state.db` lands there, and HOME).
# Bytecode is compiled at build time and never written at run time. SQLite's temporary files go
# to TMPDIR=/tmp: mount an emptyDir there (the Helm chart does) for large transactions.
#
# The .ci/check-image.sh script runs the same two pip commands in a fresh virtual environment
# and starts the daemon until /readyz answers (no container engine in CI). Keep them in step.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# The target environment has no pip: the base image's pip installs into it (--python).
RUN python -m venv --without-pip /opt/scanner \
 && mkdir -p /var/lib/scanner
COPY deploy/image/requirements.txt ./requirements.txt
RUN python -m pip --python /opt/scanner/bin/python install --no-deps --requirement requirements.txt
COPY pyproject.toml README.md ./
COPY scanner ./scanner
RUN python -m pip --python /opt/scanner/bin/python install --no-deps . \
 && python -m pip --python /opt/scanner/bin/python check

FROM ${PYTHON_IMAGE}
ARG PYTHON_IMAGE
# Pass the real ones: --build-arg REVISION="$(git rev-parse HEAD)" --build-arg CREATED="$(date -u +%FT%TZ)"
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="cloudtrail-monitoring-scanner" \
      org.opencontainers.image.description="Proves, account by account across an AWS Organization, that the CloudTrail monitoring controls (CIS 4.x / CloudGuard) really work." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
COPY --from=build /opt/scanner /opt/scanner
COPY --from=build --chown=10001:10001 /var/lib/scanner /var/lib/scanner
ENV PATH=/opt/scanner/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/scanner \
    TMPDIR=/tmp
WORKDIR /var/lib/scanner
VOLUME ["/var/lib/scanner"]
USER 10001:10001
EXPOSE 9108
ENTRYPOINT ["scanner", "serve"]
# In a container the daemon listens on every interface; the chart passes --config instead.
CMD ["--listen", "0.0.0.0:9108"]
