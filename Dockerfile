# Kestra image for the BottleNeck pipeline: the official Kestra 1.3 LTS image (full image, with
# plugins) plus a private Python environment holding the pipeline's pinned dependencies, so the
# flows' Commands tasks (Process task runner) install nothing per run.
#
#   docker build -t bottleneck/kestra:1.3.31 .        (docker compose up builds it too)
#
# Pinned: kestra/kestra:latest now pulls 2.x.
ARG KESTRA_IMAGE=kestra/kestra:v1.3.31
FROM ${KESTRA_IMAGE}

# The image runs as user `kestra`: install as root, then switch back.
USER root

COPY requirements/runtime.txt /tmp/runtime.txt

# A private venv rather than the image's own Python, whose layout changed between Kestra
# releases. uv ships in recent Kestra images; if it is missing it is installed with pip first.
# --python 3.12 fixes the interpreter: uv uses the system one when it is 3.12, otherwise it
# downloads that CPython at build time, into /opt so that user `kestra` can read it.
ENV UV_PYTHON_INSTALL_DIR=/opt/uv-python
RUN set -eux; \
    if ! command -v uv >/dev/null 2>&1; then \
        apt-get update && apt-get install -y --no-install-recommends python3-pip && \
        rm -rf /var/lib/apt/lists/* && \
        pip install --no-cache-dir --break-system-packages uv; \
    fi; \
    uv venv --python 3.12 /opt/bottleneck; \
    uv pip install --python /opt/bottleneck/bin/python --no-cache -r /tmp/runtime.txt; \
    rm /tmp/runtime.txt; \
    /opt/bottleneck/bin/python -c "import duckdb, pyarrow, fastexcel, xlsxwriter, numpy, kestra"

# `python` in the flows' commands is this environment's interpreter.
ENV PATH="/opt/bottleneck/bin:${PATH}"

USER kestra
